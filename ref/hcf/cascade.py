"""The hierarchical cascade: level processes and the end-to-end cascade (paper 001, eqs. 6-10;
spec/hcf-cascade.md).  One pure function per equation:

    T_k^inter(y) = (phi^inter_{k->k-1} o D^k o E^k o Q^k)(y)                       (6)
    T_k^intra(y) = phi^intra_{k->k-1}(y)                                           (7)
    T_k^{pi_k}(y) = (1 - pi_k) T_k^intra(y) + pi_k T_k^inter(y)                     (8)
    F^pi_{s->k} = T_{k+1}^{pi_{k+1}} o ... o T_s^{pi_s}                            (9)
    C(s, d, pi)(x) = (g_s^d o D^d o E^d o Q^d o F^pi_{s->d} o g_a^s)(x)             (10)

The base codec enters only through arguments, so these functions work with any level
models (the shipped ones of ref.hcf.checkpoint, tiny test models, models in training):

* ``transmit(k, y) -> y_hat``: a transmission at level k, D^k(E^k(Q^k(y))).  Entropy
  coding is lossless, so its value is Q^k(y); :func:`coded_transmit` is the base codec's
  quantiser exactly as the bitstream carries it ([hcf.C21]), :func:`training_transmit` its
  straight-through training form.
* ``modules``: {k: {"inter": phi params, "intra": phi params}} for k = s .. d+1
  (ref.hcf.transform.init_cascade_modules); ``phi_fn(p, y)``: the module function
  (default ref.hcf.transform.phi).
* ``analysis_s(x) -> y~^s`` and ``synthesis_d(y_hat) -> x_hat``: g_a of the source level and
  g_s of the destination level.

Policies are tuples (pi_s, ..., pi_d) (ref.hcf.policy).
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements
from ref.hcf.policy import check_policy, truncate_policy
from ref.hcf.transform import phi as _phi

Transmit = Callable[[int, object], object]
PhiFn = Callable[[dict, object], object]

__all__ = ["inter_node_process", "intra_node_process", "level_process", "cascade_transform", "cascade",
           "reconstruct_at_level", "coded_transmit", "training_transmit"]


@implements("hcf.6")
def inter_node_process(modules_k: Mapping[str, dict], y, k: int, transmit: Transmit, phi_fn: PhiFn = _phi):
    """T_k^inter(y) = phi^inter_{k->k-1}(D^k(E^k(Q^k(y))))    (eq. 6)

    modules_k: {"inter": phi params, ...} of the level pair (k, k-1).
    y: (B, h, w, M_k) unquantised latent y~^k.  k: level.  transmit: (k, y) -> y_hat^k.
    Returns (B, h, w, M_{k-1}), the unquantised latent y~^{k-1}.
    """
    return phi_fn(modules_k["inter"], transmit(k, y))


@implements("hcf.7")
def intra_node_process(modules_k: Mapping[str, dict], y, phi_fn: PhiFn = _phi):
    """T_k^intra(y) = phi^intra_{k->k-1}(y)    (eq. 7): no quantisation, no transmission.

    modules_k: {"intra": phi params, ...}; y: (B, h, w, M_k).  Returns (B, h, w, M_{k-1}).
    """
    return phi_fn(modules_k["intra"], y)


@implements("hcf.8")
def level_process(pi_k: int, modules_k: Mapping[str, dict], y, k: int, transmit: Transmit, phi_fn: PhiFn = _phi):
    """T_k^{pi_k}(y) = (1 - pi_k) T_k^intra(y) + pi_k T_k^inter(y)    (eq. 8)

    pi_k in {0, 1} selects one term; only that term is evaluated (the other has weight 0).
    """
    if isinstance(pi_k, bool) or pi_k not in (0, 1):
        raise InputError(f"pi_k must be 0 or 1, got {pi_k!r}")
    if pi_k == 1:
        return inter_node_process(modules_k, y, k, transmit, phi_fn)
    return intra_node_process(modules_k, y, phi_fn)


@implements("hcf.9")
def cascade_transform(pi: Sequence[int], s: int, k: int, modules: Mapping[int, Mapping[str, dict]], y_s,
                      transmit: Transmit, phi_fn: PhiFn = _phi):
    """F^pi_{s->k}(y) = (T_{k+1}^{pi_{k+1}} o ... o T_s^{pi_s})(y)    (eq. 9)

    pi: policy (pi_s, ..., pi_d) with d <= k <= s (only pi_s..pi_{k+1} are used).
    modules: {j: {"inter", "intra"}} holding at least j = s .. k+1.
    y_s: (B, h, w, M_s) unquantised source latent y~^s = g_a^s(x).
    Returns y~^k, (B, h, w, M_k) (y_s itself when k = s).
    """
    d = s - len(pi) + 1
    pi = check_policy(pi, s, d)
    if not d <= k <= s:
        raise InputError(f"level k={k} outside the policy's levels {s}..{d}")
    y = y_s
    for j in range(s, k, -1):
        if j not in modules:
            raise InputError(f"no transform modules phi_{{{j}->{j - 1}}}")
        y = level_process(pi[s - j], modules[j], y, j, transmit, phi_fn)
    return y


@implements("hcf.10")
def cascade(pi: Sequence[int], s: int, x, *, analysis_s: Callable, synthesis_d: Callable,
            modules: Mapping[int, Mapping[str, dict]], transmit: Transmit, phi_fn: PhiFn = _phi):
    """C(s, d, pi)(x) = (g_s^d o D^d o E^d o Q^d o F^pi_{s->d} o g_a^s)(x)    (eq. 10)

    pi: policy (pi_s, ..., pi_d), d = s - len(pi) + 1.  x: (B, H, W, 3) image in [0, 1]
    (H, W multiples of 64, [hcf.C3]).  analysis_s: x -> y~^s; synthesis_d: y_hat^d -> x_hat.
    Returns (x_hat^d (B, H, W, 3), y_hat^d (B, H/16, W/16, M_d)).
    """
    d = s - len(pi) + 1
    y = cascade_transform(pi, s, d, modules, analysis_s(x), transmit, phi_fn)
    y_hat = transmit(d, y)
    return synthesis_d(y_hat), y_hat


def reconstruct_at_level(pi: Sequence[int], s: int, k: int, x, *, analysis_s: Callable, synthesis_k: Callable,
                         modules, transmit: Transmit, phi_fn: PhiFn = _phi):
    """x_hat^k_pi of eqs. 13-15: C(s, k, truncate_policy(pi, s, k))(x) (eq. 10 decoded at k).

    Returns (x_hat^k, y_hat^k) like :func:`cascade`."""
    return cascade(truncate_policy(pi, s, k), s, x, analysis_s=analysis_s, synthesis_d=synthesis_k,
                   modules=modules, transmit=transmit, phi_fn=phi_fn)


# --------------------------------------------------------------------------- transmissions
@implements("hcf.C21")
def coded_transmit(levels: Mapping[int, object]) -> Transmit:
    """The base codec's transmission at level k ([hcf.C21]), as the level-k bitstream carries it:

        z = h_a^k(y);  z_hat = round(z);  (scale_idx, mean_idx) = int_h_s^k(z_hat)   (hcf.C5)
        r = round_half_even(y - mean_idx/8);  y_hat = r + mean_idx/8                 (hcf.2)

    The hyper-latent is recomputed from the latent being sent at every transmission; E^k/D^k
    (hcf.3/hcf.4) are lossless, so y_hat is what the next node decodes.
    levels: {k: model} with ``model.params["hyper"]["h_a"]`` (float) and ``model.p_int``
    (integer h_s, spec/core-intnet.md), e.g. ref.hcf.checkpoint.HcfModel.
    Returned callable: (k, y (1, h, w, M_k) float) -> y_hat float32 numpy; NumPy path (not jit).
    """
    import jax.numpy as jnp

    from ref.core.entropy_models import dequantize_conditional, quantize_conditional
    from ref.core.hyperprior import hyper_analysis, quantize_z
    from ref.core.intnet import int_conditional_indices

    def transmit(k: int, y):
        if k not in levels:
            raise InputError(f"no base-codec model for level {k}")
        m = levels[k]
        y = np.asarray(y, np.float32)
        z_hat = quantize_z(hyper_analysis(m.params["hyper"], jnp.asarray(y)))
        idx = int_conditional_indices(m.p_int, z_hat).crop(y.shape)
        return dequantize_conditional(quantize_conditional(y, idx), idx)

    return transmit


@implements("hcf.C21")
def training_transmit(hyper: Mapping[int, dict], mean_grid: int = 8) -> Transmit:
    """Straight-through form of :func:`coded_transmit` for training (eqs. 11-13), jit-able:

        z_hat = ste(h_a^k(y));  (scale, mean) = h_s^k(z_hat) (float);
        y_hat = ste(y - mu_g) + mu_g,  mu_g = round(8 mean) / 8        ([core.C31], hcf.2)

    Same value as coding except where the float and the integer h_s round a mean to
    different grid points (hcf.C5).  hyper: {k: hyperprior params {"h_a", "h_s", ...}}.
    """
    from ref.core.hyperprior import hyper_analysis, hyper_synthesis
    from ref.core.quantization import ste_round, ste_round_with_mean

    def transmit(k: int, y):
        if k not in hyper:
            raise InputError(f"no hyperprior for level {k}")
        z_hat = ste_round(hyper_analysis(hyper[k], y))
        _, mean = hyper_synthesis(hyper[k], z_hat)
        mean = mean[:, : y.shape[1], : y.shape[2]]
        return ste_round_with_mean(y, mean, mean_grid)

    return transmit
