"""A tiny in-memory HCF model (N = 8, M = 12) with real integer tables and integer h_s, for
tests that must not depend on the shipped checkpoints."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=2)
def tiny_model(seed: int = 0, level: int = 3):
    import jax

    from ref.hcf.checkpoint import build_tensors, model_from_tensors
    from ref.hcf.config import HcfConfig
    from ref.hcf.model import init_params

    cfg = HcfConfig(level=level, lam=0.0075, N=8, M=12, radius=64)
    params = init_params(jax.random.key(seed), cfg.N, cfg.M)
    # larger weights than the default init so that z and y are not all zero
    params = jax.tree_util.tree_map(lambda a: a * 3.0 if a.ndim == 4 else a, params)
    calib = np.random.default_rng(seed).integers(-6, 7, size=(2, 2, 3, cfg.N))
    return model_from_tensors(build_tensors(params, cfg, calib), cfg, level)
