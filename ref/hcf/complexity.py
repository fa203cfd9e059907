"""Multiply-accumulate counts and parameter counts of an intermediate node, HCF vs DRF
(paper 001, Tab. 3; spec/hcf-cascade.md hcf.C23).

MAC convention ([hcf.C23]): a convolution costs k^2 * c_in * c_out MACs per OUTPUT position;
a transposed convolution k^2 * c_in * c_out per INPUT position (ptflops' / CompressAI's
convention; the zeros inserted by the stride are not counted); a GDN or IGDN C^2 per
position (the gamma matrix times x^2).  Biases, activations, sigmoid, square roots and
element-wise products and sums are not counted.  FLOPs = 2 * MACs.

    phi (C = M_k, h = C/2, a = h/2, C' = M_{k-1}), per latent position:
        down 9 C h + RB_GDN (18 h^2 + h^2) + AB (6 (2 h a + 9 a^2) + h^2) + RB 18 h^2
        + up 9 h C + out 9 C C'
    g_a (hcf.1), image H x W, P_j = (H/j)(W/j):
        25 (3 N P_2 + N^2 P_4 + N^2 P_8 + N M P_16) + N^2 (P_2 + P_4 + P_8)
    g_s (hcf.5): 25 (M N P_16 + N^2 P_8 + N^2 P_4 + 3 N P_2) + N^2 (P_8 + P_4 + P_2)
    h_a: 9 M N P_16 + 25 N^2 (P_32 + P_64);  h_s: 25 N M P_64 + 25 M (3M/2) P_32 + 9 (3M/2)(2M) P_16

Intermediate node on one hop k -> k-1 (Fig. 1 vs Sec. 3.2):
    DRF: D^k (h_s^k) + g_s^k + g_a^{k-1} + h_a^{k-1} + h_s^{k-1}   (pixel round trip)
    HCF: D^k (h_s^k) + phi_{k->k-1} + h_a^{k-1} + h_s^{k-1}        (latent domain)
Tab. 3 compares "transform operations": g_s^k + g_a^{k-1} against phi.

:func:`count_macs_jaxpr` counts the same quantity from what JAX actually executes (every
conv_general_dilated and dot_general in the traced program), the independent check used by
the tests.  The reference's g_s computes each stride-2 deconv by output phases (a 3x3 phase
kernel per phase, ref.core.phase_deconv): it executes 36/25 of the convention's deconv MACs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements

__all__ = ["phi_macs_per_position", "phi_param_count", "macs_from_params", "count_params", "count_macs_jaxpr",
           "analysis_macs", "synthesis_macs", "hyper_analysis_macs", "hyper_synthesis_macs", "analysis_param_count",
           "synthesis_param_count", "NodeCost",
           "node_cost"]


def _phi_dims(m_in: int, m_out: int) -> tuple[int, int, int, int]:
    for name, v in (("M_k", m_in), ("M_{k-1}", m_out)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InputError(f"{name} must be a positive integer, got {v!r}")
    if m_in % 4:
        raise InputError(f"phi needs M_k divisible by 4, got {m_in}")
    return m_in, m_in // 2, m_in // 4, m_out


@implements("hcf.C23")
def phi_macs_per_position(m_in: int, m_out: int) -> int:
    """MACs of phi_{k->k-1} per latent position ([hcf.C20] architecture, [hcf.C23] convention)."""
    C, h, a, Co = _phi_dims(m_in, m_out)
    down, up, out = 9 * C * h, 9 * h * C, 9 * C * Co
    rb_gdn = 2 * 9 * h * h + h * h
    attn = 6 * (h * a + 9 * a * a + a * h) + h * h
    rb = 2 * 9 * h * h
    return down + rb_gdn + attn + rb + up + out


@implements("hcf.C23")
def phi_param_count(m_in: int, m_out: int) -> int:
    """Number of parameters (weights, biases, GDN beta and gamma) of one phi module."""
    C, h, a, Co = _phi_dims(m_in, m_out)

    def cv(k, ci, co):
        return k * k * ci * co + co

    unit = cv(1, h, a) + cv(3, a, a) + cv(1, a, h)
    return (cv(3, C, h) + 2 * cv(3, h, h) + (h + h * h) + 6 * unit + cv(1, h, h) + 2 * cv(3, h, h)
            + cv(3, h, C) + cv(3, C, Co))


def _walk(tree):
    if isinstance(tree, dict):
        yield tree
        for v in tree.values():
            yield from _walk(v)


def macs_from_params(p: dict) -> int:
    """MACs per position of a network whose layers all run at one resolution with stride 1
    (phi), read from its parameter pytree: sum of k*k*c_in*c_out over conv weights ("w") plus
    C^2 per GDN ("gamma")."""
    total = 0
    for node in _walk(p):
        w = node.get("w")
        if w is not None and np.ndim(w) == 4:
            total += int(np.prod(np.shape(w)))
        g = node.get("gamma")
        if g is not None:
            total += int(np.shape(g)[0]) ** 2
    return total


def count_params(p) -> int:
    """Number of scalars in a parameter pytree."""
    import jax

    return int(sum(np.size(a) for a in jax.tree_util.tree_leaves(p)))


def _sub_jaxprs(params):
    from jax.extend import core as jcore

    for v in params.values():
        for item in (v if isinstance(v, (tuple, list)) else (v,)):
            if isinstance(item, jcore.ClosedJaxpr):
                yield item.jaxpr
            elif isinstance(item, jcore.Jaxpr):
                yield item


def _count(jaxpr) -> int:
    total = 0
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if name == "conv_general_dilated":
            out = eqn.outvars[0].aval.shape
            rhs = eqn.invars[1].aval.shape
            dn = eqn.params["dimension_numbers"]
            # rhs_spec = (out feature dim, in feature dim, spatial...); out_spec likewise for lhs
            o_dim, i_dim = dn.rhs_spec[0], dn.rhs_spec[1]
            k_sp = int(np.prod([rhs[i] for i in dn.rhs_spec[2:]]))
            out_sp = int(np.prod([out[i] for i in (dn.out_spec[0], *dn.out_spec[2:])]))
            dil = int(np.prod(eqn.params["lhs_dilation"]))
            total += out_sp * k_sp * rhs[i_dim] * rhs[o_dim] // dil
        elif name == "dot_general":
            (lc, _), _ = eqn.params["dimension_numbers"]
            lhs = eqn.invars[0].aval.shape
            total += int(np.prod(eqn.outvars[0].aval.shape)) * int(np.prod([lhs[i] for i in lc]))
        for sub in _sub_jaxprs(eqn.params):
            total += _count(sub)
    return total


def count_macs_jaxpr(fn, *args) -> int:
    """MACs executed by ``fn(*args)``: for every conv_general_dilated in the traced program
    (output positions x kernel taps x c_in x c_out / lhs dilation) and every dot_general
    (output size x contracted size), recursing into nested programs (jit, custom_vjp)."""
    import jax

    return _count(jax.make_jaxpr(fn)(*args).jaxpr)


def _positions(H: int, W: int, j: int) -> int:
    return (H // j) * (W // j)


def _check_image(H: int, W: int) -> None:
    if not all(isinstance(v, int) and v > 0 and v % 64 == 0 for v in (H, W)):
        raise InputError(f"image sides must be positive multiples of 64 (hcf.C3 padding), got {H}x{W}")


@implements("hcf.C23")
def analysis_macs(N: int, M: int, H: int, W: int) -> int:
    """MACs of g_a (hcf.1) on an H x W image (sides multiples of 64)."""
    _check_image(H, W)
    P = {j: _positions(H, W, j) for j in (2, 4, 8, 16)}
    return 25 * (3 * N * P[2] + N * N * P[4] + N * N * P[8] + N * M * P[16]) + N * N * (P[2] + P[4] + P[8])


@implements("hcf.C23")
def synthesis_macs(N: int, M: int, H: int, W: int) -> int:
    """MACs of g_s (hcf.5) producing an H x W image (deconvs counted per input position)."""
    _check_image(H, W)
    P = {j: _positions(H, W, j) for j in (2, 4, 8, 16)}
    return 25 * (M * N * P[16] + N * N * P[8] + N * N * P[4] + 3 * N * P[2]) + N * N * (P[8] + P[4] + P[2])


def hyper_analysis_macs(N: int, M: int, H: int, W: int) -> int:
    """MACs of h_a (core.hp_analysis) for an H x W image."""
    _check_image(H, W)
    return 9 * M * N * _positions(H, W, 16) + 25 * N * N * (_positions(H, W, 32) + _positions(H, W, 64))


def hyper_synthesis_macs(N: int, M: int, H: int, W: int) -> int:
    """MACs of h_s (core.hp_synthesis; the integer h_s has the same count) for an H x W image."""
    _check_image(H, W)
    m3 = 3 * M // 2
    return 25 * N * M * _positions(H, W, 64) + 25 * M * m3 * _positions(H, W, 32) + 9 * m3 * 2 * M * _positions(H, W, 16)


def analysis_param_count(N: int, M: int) -> int:
    """Parameters of g_a (hcf.1): convs 3->N->N->N->M (5x5, with biases) and three GDNs."""
    return (75 * N + N) + 2 * (25 * N * N + N) + (25 * N * M + M) + 3 * (N + N * N)


def synthesis_param_count(N: int, M: int) -> int:
    """Parameters of g_s (hcf.5): deconvs M->N->N->N->3 (5x5, with biases) and three IGDNs."""
    return (25 * M * N + N) + 2 * (25 * N * N + N) + (75 * N + 3) + 3 * (N + N * N)


@dataclass(frozen=True)
class NodeCost:
    """MACs of one intermediate node on one hop k -> k-1 for an H x W image ([hcf.C23]).

    drf_transforms = g_s^k + g_a^{k-1};  hcf_transforms = phi_{k->k-1};
    entropy = h_s^k (decode) + h_a^{k-1} + h_s^{k-1} (encode), the same in both nodes;
    *_reduction = 1 - hcf / drf (transforms only, as Tab. 3; and whole node).
    """

    height: int
    width: int
    drf_transforms: int
    hcf_transforms: int
    entropy: int
    transforms_reduction: float
    node_reduction: float
    drf_params: int
    hcf_params: int
    params_reduction: float

    def to_dict(self) -> dict:
        return asdict(self)


@implements("hcf.C23")
def node_cost(cfg_k, cfg_k1, H: int, W: int) -> NodeCost:
    """Cost of the node transcoding level k -> k-1.  cfg_k, cfg_k1: objects with N and M
    (ref.hcf.config.HcfConfig of levels k and k-1).  Parameters: DRF g_s^k + g_a^{k-1}
    (weights + biases + GDN), HCF one phi (the inter or the intra module, not both)."""
    Nk, Mk, Nj, Mj = cfg_k.N, cfg_k.M, cfg_k1.N, cfg_k1.M
    drf = synthesis_macs(Nk, Mk, H, W) + analysis_macs(Nj, Mj, H, W)
    hcf = phi_macs_per_position(Mk, Mj) * _positions(H, W, 16)
    ent = (hyper_synthesis_macs(Nk, Mk, H, W) + hyper_analysis_macs(Nj, Mj, H, W)
           + hyper_synthesis_macs(Nj, Mj, H, W))

    drf_params = synthesis_param_count(Nk, Mk) + analysis_param_count(Nj, Mj)
    hcf_params = phi_param_count(Mk, Mj)
    return NodeCost(H, W, drf, hcf, ent, 1.0 - hcf / drf, 1.0 - (hcf + ent) / (drf + ent),
                    drf_params, hcf_params, 1.0 - hcf_params / drf_params)
