"""[ecf.ga], [ecf.gs], [ecf.C8] against CompressAI 1.2.8 / PyTorch (an independent
implementation): the same networks assembled from compressai's conv / deconv / GDN /
AttentionBlock / ResidualBlock with our weights, run in the peer interpreter
(``CODECREF_PEER_PYTHON``, default /work/peers-venv/bin/python; skipped without it)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ref.ecf import model as MD
from ref.ecf.context_model import ContextConfig

PEER = os.environ.get("CODECREF_PEER_PYTHON", "/work/peers-venv/bin/python")
CFG = MD.EcfConfig(quality=3, lam=0.0075, N=8, M=16, n_cs=2,
                   ctx=ContextConfig(n_cs=2, p_cs=8, K=4, layers=2, d_e=16, heads=2, mlp_ratio=2, d_out=8),
                   ge_hidden=(16,))

PEER_SCRIPT = r"""
import json, sys, numpy as np, torch, torch.nn as nn
from compressai.layers import GDN, AttentionBlock, ResidualBlock
from compressai.models.utils import conv, deconv
N, M, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
d = dict(np.load(path))
g_a = nn.Sequential(conv(3, N, 3), GDN(N), conv(N, N, 3), GDN(N), conv(N, N, 3), GDN(N), conv(N, M, 3), AttentionBlock(M))
g_s = nn.Sequential(AttentionBlock(M), ResidualBlock(M, N), deconv(N, N, 3), GDN(N, inverse=True),
                    deconv(N, N, 3), GDN(N, inverse=True), deconv(N, N, 3), GDN(N, inverse=True), deconv(N, 3, 3))
h_a = nn.Sequential(conv(M, N, 3, 1), nn.LeakyReLU(), conv(N, N, 5, 2), nn.LeakyReLU(), conv(N, N, 5, 2))
h_s = nn.Sequential(deconv(N, M, 5, 2), nn.ReLU(), deconv(M, 3 * M // 2, 5, 2), nn.ReLU(), conv(3 * M // 2, 2 * M, 3, 1))
out = {}
with torch.no_grad():
    for name, net in (("g_a", g_a), ("g_s", g_s), ("h_a", h_a), ("h_s", h_s)):
        sd = {k[len(name) + 1:]: torch.from_numpy(v.astype(np.float64)) for k, v in d.items() if k.startswith(name + ".")}
        missing, unexpected = net.double().load_state_dict(sd, strict=False)
        assert not unexpected, unexpected
        assert all("reparam" in k for k in missing), missing
        x = torch.from_numpy(d["in_" + name].astype(np.float64)).permute(0, 3, 1, 2)
        out[name] = net(x).permute(0, 2, 3, 1).numpy().tolist()
print(json.dumps(out))
"""


def _conv_t(p):
    return {"weight": np.asarray(p["w"]).transpose(3, 2, 0, 1), "bias": np.asarray(p["b"])}


def _deconv_t(p):
    return {"weight": np.asarray(p["w"])[::-1, ::-1].transpose(2, 3, 0, 1), "bias": np.asarray(p["b"])}


def _attn_t(p):
    out = {}
    for br in ("a", "b"):
        for i in range(3):
            for j, c in enumerate(("conv1", "conv2", "conv3")):
                for k, v in _conv_t(p[f"{br}{i}"][c]).items():
                    out[f"conv_{br}.{i}.conv.{2 * j}.{k}"] = v
    for k, v in _conv_t(p["b_out"]).items():
        out[f"conv_b.3.{k}"] = v
    return out


def _gdn_t(p):
    return {"beta": np.asarray(p["beta"]), "gamma": np.asarray(p["gamma"])}


def torch_state(p) -> dict[str, np.ndarray]:
    """Our parameter tree as the state dicts of the compressai Sequentials of PEER_SCRIPT."""
    sd = {}

    def put(prefix, d):
        sd.update({f"{prefix}.{k}": np.ascontiguousarray(v) for k, v in d.items()})

    a, s = p["g_a"], p["g_s"]
    for i in range(4):
        put(f"g_a.{2 * i}", _conv_t(a[f"conv{i}"]))
    for i in range(3):
        put(f"g_a.{2 * i + 1}", _gdn_t(a[f"gdn{i}"]))
    put("g_a.7", _attn_t(a["attn"]))
    put("g_s.0", _attn_t(s["attn"]))
    put("g_s.1", {f"{n}.{k}": v for n in ("conv1", "conv2", "skip") for k, v in _conv_t(s["res"][n]).items()})
    for i in range(4):
        put(f"g_s.{2 + 2 * i}", _deconv_t(s[f"deconv{i}"]))
    for i in range(3):
        put(f"g_s.{3 + 2 * i}", _gdn_t(s[f"igdn{i}"]))
    for i in range(3):
        put(f"h_a.{2 * i}", _conv_t(p["h_a"][f"conv{i}"]))
    put("h_s.0", _deconv_t(p["h_s"]["deconv0"]))
    put("h_s.2", _deconv_t(p["h_s"]["deconv1"]))
    put("h_s.4", _conv_t(p["h_s"]["conv2"]))
    return sd


def _perturbed_params():
    """init_params with non-trivial GDN / bias values (the defaults hide ordering mistakes)."""
    p = MD.init_params(jax.random.key(11), CFG)
    r = np.random.default_rng(3)

    def jitter(path, a):
        name = jax.tree_util.keystr(path)
        if "gdn" in name:
            return jnp.asarray(np.asarray(a) + r.uniform(0, 0.3, np.shape(a)).astype(np.float32))
        return a

    return jax.tree_util.tree_map_with_path(jitter, p)


@pytest.mark.eq("ecf.ga", "ecf.gs", "ecf.C8")
def test_transforms_match_compressai_modules(tmp_path):
    if not Path(PEER).exists():
        pytest.skip(f"peer interpreter {PEER} not found (set CODECREF_PEER_PYTHON)")
    p = _perturbed_params()
    r = np.random.default_rng(4)
    ins = {"in_g_a": r.uniform(0, 1, (1, 64, 48, 3)).astype(np.float32),
           "in_g_s": np.rint(r.normal(0, 4, (1, 4, 3, CFG.M))).astype(np.float32),
           "in_h_a": r.normal(0, 4, (1, 8, 12, CFG.M)).astype(np.float32),
           "in_h_s": np.rint(r.normal(0, 3, (1, 2, 3, CFG.N))).astype(np.float32)}
    path = tmp_path / "w.npz"
    np.savez(path, **torch_state(p), **ins)
    res = subprocess.run([PEER, "-c", PEER_SCRIPT, str(CFG.N), str(CFG.M), str(path)], capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    want = {k: np.asarray(v) for k, v in json.loads(res.stdout.strip().splitlines()[-1]).items()}
    got = {"g_a": MD.analysis(p, jnp.asarray(ins["in_g_a"])), "g_s": MD.synthesis(p, jnp.asarray(ins["in_g_s"])),
           "h_a": MD.hyper_analysis(p, jnp.asarray(ins["in_h_a"])),
           "h_s": MD.hyper_synthesis(p, jnp.asarray(ins["in_h_s"]))}
    for k in want:
        g = np.asarray(got[k], np.float64)
        assert g.shape == want[k].shape, k
        scale = max(1.0, float(np.abs(want[k]).max()))
        assert float(np.abs(g - want[k]).max()) <= 2e-5 * scale, (k, float(np.abs(g - want[k]).max()))
