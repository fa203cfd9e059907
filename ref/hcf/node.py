"""The HCF intermediate node: level-k bitstream -> level-K bitstream in the latent domain
(paper 001 Sec. 3.2, eqs. 6-9; spec/hcf-cascade.md "The intermediate node": hcf.node,
hcf.node_policy, hcf.hops).

    c      = the input container (level k, ref.hcf.codec's format)
    y^k    = D^k(c)                                   (hcf.4: entropy decoding, integer h_s)
    y~^k-1 = phi^inter_{k->k-1}(y^k)                  (eq. 6 after its Q^k E^k D^k: the input
                                                       arrived as a level-k transmission, pi_k = 1)
    y~^K   = F^pi'_{k-1->K}(y~^k-1),  pi' = (pi_{k-1}, ..., pi_K)     (eq. 9; pi_j = 1 at an
                                                       intermediate j: Q^j by hcf.C21, then phi^inter)
    out    = E^K(Q^K(y~^K)): the level-K container (hcf.C21, hcf.3, hcf.C6) of y~^K with
             hops = the input's hops + "k>K:hcf=<pi>"

The output is an ordinary level-K stream: ``codecref decode`` decodes it with level K's
g_s.  The DRF node (decode to pixels, re-encode) is ref.hcf.node_drf.

Models enter as a callable ``models(level) -> HcfModel`` (default: the shipped checkpoint,
ref.hcf.codec.get_model) and the cascade as a ref.hcf.cascade_checkpoint.CascadeModules, so
tests run the node on tiny random models.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import click
import numpy as np

from ref.core.errors import BitstreamError, InputError
from ref.core.registry import implements
from ref.hcf.config import LEVELS
from ref.hcf.node_hops import Hop, append_hop

__all__ = ["parse_policy", "default_policy", "check_node_levels", "node_latent", "latent_container", "NodeResult",
           "transcode_hcf", "transcode", "load_cascade", "transcode_command"]

Models = Callable[[int], object]


# --------------------------------------------------------------------------- levels and policy
@implements("hcf.node_policy")
def check_node_levels(k: int, K: int) -> None:
    """A node lowers the level: 1 <= K < k <= 6.  InputError otherwise (K == k: nothing to do;
    K > k: a node cannot raise quality)."""
    if K not in LEVELS:
        raise InputError(f"target level must be one of {', '.join(map(str, LEVELS))}, got {K}")
    if K > k:
        raise InputError(f"target level {K} is above the stream's level {k}: a node only lowers the level")
    if K == k:
        raise InputError(f"the stream is already at level {k}: nothing to transcode (a node lowers the level)")


@implements("hcf.node_policy")
def default_policy(k: int, K: int) -> tuple[int, ...]:
    """The node's policy when none is given: (1, 0^(k-K-1), 1) = edge_policy(k, K, 2): the
    received transmission at k, intra modules down to K + 1, the node's transmission at K."""
    check_node_levels(k, K)
    return (1,) + (0,) * (k - K - 1) + (1,)


@implements("hcf.node_policy")
def parse_policy(text: str | None, k: int, K: int) -> tuple[int, ...]:
    """The node policy (pi_k, ..., pi_K) from its command-line form: comma-separated 0/1,
    pi_k first, e.g. "1,0,0,1" for 6 -> 3.  None -> :func:`default_policy`.

    Valid: k - K + 1 entries, each "0" or "1"; pi_k = 1 (the input is a level-k transmission:
    its first module is phi^inter); pi_K = 1 (the node transmits at K).  InputError otherwise.
    """
    check_node_levels(k, K)
    if text is None:
        return default_policy(k, K)
    parts = [p.strip() for p in str(text).split(",")]
    if any(p not in ("0", "1") for p in parts):
        raise InputError(f"policy {text!r}: expected comma-separated 0/1 (pi_{k} first), e.g. "
                         f"{','.join(map(str, default_policy(k, K)))}")
    pi = tuple(int(p) for p in parts)
    if len(pi) != k - K + 1:
        raise InputError(f"policy {text!r} has {len(pi)} entries; a node from level {k} to {K} needs "
                         f"{k - K + 1} (pi_{k} .. pi_{K})")
    if pi[0] != 1:
        raise InputError(f"policy {text!r}: pi_{k} must be 1 (the input stream is a level-{k} transmission)")
    if pi[-1] != 1:
        raise InputError(f"policy {text!r}: pi_{K} must be 1 (the node transmits at level {K})")
    return pi


# --------------------------------------------------------------------------- latent domain
@implements("hcf.node")
def node_latent(y_hat_k, k: int, pi: Sequence[int], modules, transmit, phi_fn=None):
    """y~^K of the node: F^pi'_{k-1->K}(phi^inter_{k->k-1}(y^k)), pi' = pi[1:] (module doc).

    y_hat_k: float32 (1, h, w, M_k) decoded latent of the input stream; k: its level;
    pi: node policy (pi_k, ..., pi_K) (:func:`parse_policy`); modules: {j: {"inter", "intra"}}
    for j = k .. K+1; transmit: (j, y) -> y^j, the hcf.C21 transmission (intermediate
    pi_j = 1 only); phi_fn: the module function (default ref.hcf.transform.phi_jit).
    Returns float32 numpy (1, h, w, M_K).
    """
    from ref.hcf.cascade import cascade_transform
    from ref.hcf.transform import phi_jit

    phi_fn = phi_fn or phi_jit
    K = k - len(pi) + 1
    check_node_levels(k, K)
    if tuple(pi)[0] != 1:
        raise InputError("node policy must start with pi_k = 1")
    if k not in modules:
        raise InputError(f"no transform modules phi_{{{k}->{k - 1}}}")
    y = phi_fn(modules[k]["inter"], y_hat_k)
    return np.asarray(cascade_transform(tuple(pi)[1:], k - 1, K, modules, y, transmit, phi_fn), np.float32)


@implements("hcf.node", "hcf.C21")
def latent_container(y, level: int, model, height: int, width: int, channels: int,
                     hops: str | None = None) -> tuple[bytes, np.ndarray]:
    """(container bytes, y^) of an unquantised level-``level`` latent y (1, h, w, M):
    z = h_a(y), z^ = round(z), integer indices (hcf.C5), r and the rANS sections (hcf.3),
    header (hcf.C6) with ``hops`` if given (hcf.hops).  y^ = r + mean_idx/8 (float32)."""
    import jax
    import jax.numpy as jnp

    from ref.core import container as ctr
    from ref.core import hyperprior as HP
    from ref.core.intnet import int_conditional_indices

    y = np.asarray(y, np.float32)
    z_hat = HP.quantize_z(_h_a_jit(jax)(model.params["hyper"], jnp.asarray(y)))
    idx = int_conditional_indices(model.p_int, z_hat)
    sections, y_hat = HP.encode_hyperprior(y, z_hat, model.z_tables, model.z_offsets, lambda _z: idx,
                                           radius=model.cfg.radius)
    header = {"level": level, "model": model.model_id, "height": height, "width": width, "channels": channels}
    if hops is not None:
        header["hops"] = hops
    return ctr.pack("hcf", header, [(n, sections[n]) for n in HP.SECTIONS]), np.asarray(y_hat, np.float32)


_H_A = []


def _h_a_jit(jax):
    if not _H_A:
        from ref.core.hyperprior import hyper_analysis

        _H_A.append(jax.jit(hyper_analysis))
    return _H_A[0]


# --------------------------------------------------------------------------- whole node
class NodeResult(NamedTuple):
    """data: output container bytes; y_tilde: float32 (1, h, w, M_K) y~^K; y_hat: its
    quantised value as coded (what the ordinary decoder returns); policy; hops (str)."""

    data: bytes
    y_tilde: np.ndarray
    y_hat: np.ndarray
    policy: tuple[int, ...]
    hops: str


def _shipped(level: int):
    from ref.hcf.codec import get_model

    return get_model(level)


def check_cascade(cascade, models: Models, k: int, K: int) -> None:
    """The cascade must hold phi_{j->j-1} for j = k .. K+1 and record, for every level K..k,
    the identity of the base model in use (cascade_checkpoint.base_models).  InputError."""
    lacking = [j for j in range(k, K, -1) if j not in cascade.modules]
    if lacking:
        raise InputError(f"the cascade checkpoint lacks phi_{{j->j-1}} for j = {lacking}")
    for j in range(K, k + 1):
        have = models(j).model_id
        rec = cascade.base_models.get(j)
        if rec != have:
            raise InputError(f"the cascade modules were trained against base model {rec!r} at level {j}; "
                             f"this decoder's level-{j} checkpoint is {have!r} (another training)")


@implements("hcf.node")
def transcode_hcf(data: bytes, K: int, policy: Sequence[int] | str | None = None, *, cascade,
                  models: Models | None = None, times: dict | None = None) -> NodeResult:
    """The HCF node on a level-k container ``data``: the level-K container (module doc).

    K: target level (< k); policy: tuple (pi_k..pi_K), its comma form, or None (default,
    [hcf.node_policy]); cascade: CascadeModules (ref.hcf.cascade_checkpoint.load);
    models: level -> HcfModel (default shipped); times: if a dict, receives milliseconds of
    decode (entropy decoding incl. integer h_s), transform (phi chain incl. intermediate
    transmissions) and encode (h_a, integer h_s, rANS, container).
    BitstreamError for a damaged / foreign stream, InputError for bad levels or policy.
    """
    import time

    from ref.core import container as ctr
    from ref.hcf.cascade import coded_transmit
    from ref.hcf.codec import decode_latent

    models = models or _shipped
    c = ctr.unpack(data, expect_system="hcf")
    k, pi = _levels_and_policy(c, K, policy)
    check_cascade(cascade, models, k, K)
    t0 = time.perf_counter()
    y_hat_k, (_, H, W, C), _ = decode_latent(c, models(k))
    t1 = time.perf_counter()
    inter = {j: models(j) for j in range(k - 1, K, -1) if pi[k - j] == 1}
    y_K = node_latent(y_hat_k, k, pi, cascade.modules, coded_transmit(inter))
    t2 = time.perf_counter()
    hops = append_hop(c.header.get("hops"), Hop(k, K, "hcf", pi))
    out, y_hat = latent_container(y_K, K, models(K), H, W, C, hops)
    if times is not None:
        times.update(decode_ms=(t1 - t0) * 1e3, transform_ms=(t2 - t1) * 1e3,
                     encode_ms=(time.perf_counter() - t2) * 1e3)
    return NodeResult(out, y_K, y_hat, pi, hops)


def _levels_and_policy(c, K: int, policy) -> tuple[int, tuple[int, ...]]:
    from ref.hcf.codec import _parse_header

    if isinstance(K, bool) or not isinstance(K, int):
        raise InputError(f"target level must be an integer, got {K!r}")
    k = _parse_header(c)[0]
    check_node_levels(k, K)
    if policy is None or isinstance(policy, str):
        return k, parse_policy(policy, k, K)
    return k, parse_policy(",".join(str(int(v)) for v in policy), k, K)


def load_cascade(path: str | Path | None = None):
    """The cascade modules to use: ``path`` or the shipped ref/weights/hcf_cascade.safetensors;
    InputError (one line) when there is none."""
    from ref.hcf import cascade_checkpoint as CC

    if path is None and not CC.exists():
        raise InputError(f"no shipped cascade ({CC.DEFAULT_PATH} does not exist yet: the transform modules are "
                         "trained by `codecref train hcf-cascade`); pass --cascade PATH or use --mode drf")
    return CC.load(Path(path) if path is not None else None)


def transcode(data: bytes, K: int, *, mode: str = "hcf", policy: str | None = None,
              cascade_path: str | Path | None = None, models: Models | None = None) -> bytes:
    """One node, either mode: the output container bytes.  mode "hcf" (:func:`transcode_hcf`)
    or "drf" (ref.hcf.node_drf.transcode_drf; ``policy`` and ``cascade_path`` must be None)."""
    if mode == "drf":
        if policy is not None:
            raise InputError("--policy applies to --mode hcf only (a DRF node has no cascade policy)")
        from ref.hcf.node_drf import transcode_drf

        return transcode_drf(data, K, models=models).data
    if mode != "hcf":
        raise InputError(f"mode must be hcf or drf, got {mode!r}")
    from ref.core import container as ctr

    c = ctr.unpack(data, expect_system="hcf")  # a damaged stream is exit 3 before the cascade is looked for
    _levels_and_policy(c, K, policy)
    return transcode_hcf(data, K, policy, cascade=load_cascade(cascade_path), models=models).data


# --------------------------------------------------------------------------- command line
def read_stream(path: str) -> bytes:
    """The bytes of an input container (``-``: standard input).  InputError for a missing
    file; BitstreamError above ref.core.limits.MAX_FILE_BYTES (checked before reading)."""
    from ref.core.limits import MAX_FILE_BYTES

    too_big = BitstreamError(f"bitstream: {path}: larger than {MAX_FILE_BYTES} bytes")
    if path == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    else:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"{path}: no such file")
        if p.stat().st_size > MAX_FILE_BYTES:
            raise too_big
        data = p.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise too_big
    return data


@click.command("transcode", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--to-level", "-K", "level", type=int, required=True, help="target quality level K (below IN's)")
@click.option("--policy", default=None,
              help="hcf mode: node policy pi_k,...,pi_K as comma-separated 0/1 (pi_k = pi_K = 1); "
                   "default 1,0,...,0,1 (spec hcf.node_policy)")
@click.option("--mode", type=click.Choice(["hcf", "drf"]), default="hcf", show_default=True,
              help="hcf: latent-domain cascade; drf: decode to pixels and re-encode (Fig. 1 baseline)")
@click.option("--cascade", "cascade_path", type=click.Path(dir_okay=False), default=None,
              help="cascade checkpoint (default ref/weights/hcf_cascade.safetensors)")
@click.argument("infile", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("outfile", type=click.Path(dir_okay=False, allow_dash=True))
def transcode_command(level: int, policy: str | None, mode: str, cascade_path: str | None, infile: str,
                      outfile: str) -> None:
    """Lower an hcf bitstream IN (file or -) to level K; write OUT (file or -), an ordinary
    level-K stream whose header records the hop ("k>K:hcf=<policy>" or "k>K:drf").

    Exit 2: K not below IN's level, a bad policy, no cascade; exit 3: IN is not a valid hcf stream."""
    import time

    from ref.data.safe_write import atomic_write, check_output

    if mode == "drf" and cascade_path is not None:
        raise InputError("--cascade applies to --mode hcf only")
    if outfile != "-":
        check_output(outfile, inputs=[infile] if infile != "-" else [], what="transcoded stream")
    data = read_stream(infile)
    t0 = time.perf_counter()
    out = transcode(data, level, mode=mode, policy=policy, cascade_path=cascade_path)
    ms = (time.perf_counter() - t0) * 1e3
    if outfile == "-":
        sys.stdout.buffer.write(out)
        sys.stdout.buffer.flush()
    else:
        atomic_write(outfile, out)
    from ref.core.container import unpack

    hops = unpack(out).header["hops"]
    click.echo(f"hcf transcode ({mode}): {len(data)} -> {len(out)} bytes, hops {hops}; {ms:.0f} ms "
               f"(first calls include jit) -> {outfile}", err=outfile == "-")
