"""Whole eContextformer codec: uint8 image <-> container bytes (spec/ecf.md "## Bitstream").

    encode: pad to 128 ([ecf.C10]) -> x = u8/255 -> y = g_a(x) -> y^ = round_half_even(y) ([ecf.C7])
            -> z = h_a(y) -> z^ = round_half_even(z) -> psi = integer h_s(z^)
            -> per coding group g: integer (scale_idx, mean_idx, weight_int) (n_g, 3) from the
               integer path (single masked pass) -> mixture tables ([core.table_gmm]) ->
               r = y^ - centre -> rANS + escapes
            -> container ([ecf.bits]): shape, z, z_esc, y0 .. y<2 N_cs - 1>, y_esc
    decode: container -> z^ -> psi -> for g = 0 .. 2 N_cs - 1: the same integers from the
            KV-cached integer decoder -> tables -> y^ of group g -> next context step
            -> x^ = g_s(y^) -> clip, round, crop

Everything that decides a probability table (z^ tables, psi, the GMM indices, the tables) is
integer arithmetic; g_a / h_a run only on the encoder and g_s only after decoding, in float.

The networks and the integer path come in an :class:`EcfModel`; ``get_model(quality)`` loads
a shipped checkpoint (ref/weights/ecf_q<Q>.safetensors).  The bitstream functions
(:func:`encode_latents`, :func:`decode_latents`) only need ``EcfModel.int_model``, ``cfg``,
``z_tables`` / ``z_offsets``, so they are tested with a stand-in integer model
(tests/ecf/test_codec.py).
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ref.core import pixels
from ref.core import runtime as _runtime

_runtime.configure_jax()

from ref.core import ans  # noqa: E402
from ref.core import container as ctr  # noqa: E402
from ref.core import entropy_models as E  # noqa: E402
from ref.core.escape import decode_values, encode_values, frame_escape_groups, split_escape_groups  # noqa: E402
from ref.core.errors import BitstreamError, InputError  # noqa: E402
from ref.core.registry import implements  # noqa: E402
from ref.core.tables import mixture_tables  # noqa: E402
from ref.ecf.model import PAD_MULTIPLE as _PAD  # noqa: E402

#: [ecf.C10] image sides are padded up to a multiple of 128 (g_a: /16; the context model needs
#: latent sides that are multiples of K = 8), defined in ref.ecf.model
PAD_MULTIPLE = _PAD
#: [ecf.bits_image] accepted image sides (pixels)
MIN_SIDE = 16
MAX_SIDE = 8192
#: [ecf.bits_bound] every coded latent value y^ satisfies |y^| < Y_BOUND (int32 arithmetic
#: everywhere downstream); the encoder refuses others (InputError), the decoder too (BitstreamError)
Y_BOUND = 1 << 15
#: [ecf.bits] support radius R of the y mixture tables (alphabet 2R + 2; |r| > R escapes).  A coding
#: parameter of the bitstream, not of the model: the table build costs O(R) per element
#: (core.mixture_tables on a 768x512 latent: R = 64 0.40 s, R = 256 2.76 s, measured)
Y_RADIUS = 64
#: number of varints in the `shape` section ([ecf.bits])
SHAPE_FIELDS = 9
#: [ecf.bits] header fields, exactly these
HEADER_KEYS = ("channels", "height", "model", "quality", "width")


class EcfModel(NamedTuple):
    """What the codec needs of one quality.

    quality:   the quality number written in the header.
    cfg:       EcfConfig (attributes N, M, n_cs, mean_grid, radius are read here).
    params:    float32 parameter tree (top keys "g_a", "g_s", "h_a", ... of ref.ecf.model).
    z_tables:  TableSet (N, 2R+2) of the factorized prior of z^ ([core.C9]); z_offsets int64 (N,).
    int_model: the integer decoder-critical path (ref.ecf.int_model.IntEcf):
               ``hyper(z_hat int32 (h, w, N))`` -> psi_int; ``table_inputs_all(psi_int, y_hat
               int32 (H, W, M))`` -> list over groups of (scale_idx, mean_idx, weight_int), each
               int (n_g, k); ``decoder(psi_int)`` -> object with ``table_inputs(g)`` and
               ``next_group(values int32 (n_g,))``; ``group_positions(g, H, W)`` -> int64
               (n_g, 3): (row, col, channel) of group g's elements in coding order ([ecf.C21]).
    model_id:  identity of the checkpoint, written in the header ("model").
    """

    quality: int
    cfg: object
    params: dict
    z_tables: object
    z_offsets: np.ndarray
    int_model: object
    model_id: str


# --------------------------------------------------------------------------- signals
@implements("ecf.bits_image")
def pad_image(img: np.ndarray, multiple: int = PAD_MULTIPLE) -> np.ndarray:
    """Edge-replication padding to multiples of ``multiple`` (ref.core.pixels.pad_edge)."""
    return pixels.pad_edge(img, multiple)


@implements("ecf.bits_image")
def to_network(img: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 1|3) -> float32 (1, H, W, 3) = u8 / 255 (ref.core.pixels.to_network)."""
    return pixels.to_network(img)


@implements("ecf.bits_image")
def to_uint8(x_hat, height: int, width: int, channels: int) -> np.ndarray:
    """float (1, H_p, W_p, 3) -> uint8 (H, W, channels) (ref.core.pixels.to_uint8)."""
    return pixels.to_uint8(x_hat, height, width, channels)


def check_size(height: int, width: int) -> None:
    """[ecf.bits_image] sides in MIN_SIDE..MAX_SIDE, else InputError."""
    for name, v in (("height", height), ("width", width)):
        if not MIN_SIDE <= v <= MAX_SIDE:
            raise InputError(f"ecf codes images with sides of {MIN_SIDE}..{MAX_SIDE} pixels; this image's "
                             f"{name} is {v}")


def latent_size(height: int, width: int) -> tuple[int, int, int, int]:
    """(H, W, h, w) of y^ and z^ for an image of height x width ([ecf.C10] padding)."""
    hp, wp = -(-height // PAD_MULTIPLE) * PAD_MULTIPLE, -(-width // PAD_MULTIPLE) * PAD_MULTIPLE
    return hp // 16, wp // 16, hp // 64, wp // 64


def section_names(n_cs: int) -> tuple[str, ...]:
    """[ecf.bits] the sections of an ecf container, in order."""
    return ("shape", "z", "z_esc") + tuple(f"y{g}" for g in range(2 * int(n_cs))) + ("y_esc",)


# --------------------------------------------------------------------------- group positions
@implements("ecf.bits")
def group_positions_all(m: EcfModel, H: int, W: int) -> list[np.ndarray]:
    """[(n_g, 3) int64 for g in 0 .. 2 N_cs - 1]: (row, col, channel) of every element of group
    g in coding order, from ``m.int_model.group_positions`` ([ecf.C21]); checked to partition the H x W x M latent exactly
    once (a failure is a bug of the model: AssertionError)."""
    G, M = 2 * int(m.cfg.n_cs), int(m.cfg.M)
    seen = np.zeros((H, W, M), np.int64)
    out = []
    for g in range(G):
        p = np.asarray(m.int_model.group_positions(g, H, W), dtype=np.int64)
        if p.ndim != 2 or p.shape[1] != 3:
            raise AssertionError(f"group_positions({g}) returned shape {p.shape}, expected (n_g, 3)")
        np.add.at(seen, (p[:, 0], p[:, 1], p[:, 2]), 1)
        out.append(p)
    if not np.all(seen == 1):
        raise AssertionError("group positions do not cover the latent exactly once")
    return out


def _check_inputs(t, n: int, g: int):
    if not (isinstance(t, (tuple, list)) and len(t) == 3):
        raise AssertionError(f"table inputs of group {g} must be (scale_idx, mean_idx, weight_int)")
    s, mu, w = (np.asarray(a) for a in t)
    if s.ndim != 2 or s.shape[0] != n or mu.shape != s.shape or w.shape != s.shape:
        raise AssertionError(f"table inputs of group {g} have shapes {s.shape}, {mu.shape}, {w.shape}; "
                             f"expected ({n}, k)")
    return s, mu, w


# --------------------------------------------------------------------------- bitstream layer
def _shape_bytes(vals) -> bytes:
    return b"".join(ctr.encode_varint(int(v)) for v in vals)


@implements("ecf.bits", "ecf.bits_bound")
def encode_latents(y_hat, z_hat, m: EcfModel, *, times: dict | None = None) -> list[tuple[str, bytes]]:
    """Code y^ given z^ -> the container sections ([ecf.bits]), in order.

    y_hat: int (H, W, M) coded latent, |y^| < Y_BOUND ([ecf.bits_bound]).
    z_hat: int (h, w, N) coded hyper-latent, h = ceil(H / 4), w = ceil(W / 4).
    m:     the model (z tables, integer path, positions, cfg).
    times: if a dict, receives hyper_ms (integer h_s), context_ms (integer table inputs of all
           groups, single pass), tables_ms (mixture tables), ans_ms (rANS + escapes + z).
    Sections: "shape" = varints (H, W, M, h, w, N, N_cs, mean grid, R = Y_RADIUS); "z", "z_esc" the
    factorized z^ ([core.C9], [core.C7]); "y<g>" the rANS stream of group g alone
    (ref.core.ans, one group); "y_esc" = [core.C7g] framing of the 2 N_cs escape payloads.
    Table row e of group g codes r_e = y^_e - centre_e (centre from [core.table_gmm]).
    """
    cfg = m.cfg
    y_hat, z_hat = np.asarray(y_hat), np.asarray(z_hat)
    if y_hat.dtype.kind not in "iu" or z_hat.dtype.kind not in "iu":
        raise InputError("y_hat and z_hat must be integer arrays")
    if y_hat.ndim != 3 or z_hat.ndim != 3 or y_hat.shape[2] != cfg.M or z_hat.shape[2] != cfg.N:
        raise InputError(f"y_hat (H, W, {cfg.M}) and z_hat (h, w, {cfg.N}) expected, got {y_hat.shape}, {z_hat.shape}")
    H, W, M = y_hat.shape
    h, w, N = z_hat.shape
    if (h, w) != (-(-H // 4), -(-W // 4)):
        raise InputError(f"z_hat {h}x{w} does not match y_hat {H}x{W} (expected ceil(/4))")
    if y_hat.size and int(np.abs(y_hat.astype(np.int64)).max()) >= Y_BOUND:
        raise InputError(f"a latent value has magnitude >= {Y_BOUND} ([ecf.bits_bound]); this image cannot be coded")
    y_hat = y_hat.astype(np.int64)
    t = {"hyper_ms": 0.0, "context_ms": 0.0, "tables_ms": 0.0, "ans_ms": 0.0}
    t0 = time.perf_counter()
    g_z, esc_z = E.encode_factorized(z_hat.astype(np.int64), m.z_tables, m.z_offsets)
    z_stream = ans.encode_groups(g_z)
    t1 = time.perf_counter()
    psi = m.int_model.hyper(z_hat.astype(np.int32))
    t2 = time.perf_counter()
    inputs = m.int_model.table_inputs_all(psi, y_hat.astype(np.int32))
    t3 = time.perf_counter()
    t["ans_ms"] += (t1 - t0) * 1e3
    t["hyper_ms"] += (t2 - t1) * 1e3
    t["context_ms"] += (t3 - t2) * 1e3
    pos = group_positions_all(m, H, W)
    if len(inputs) != len(pos):
        raise AssertionError(f"table_inputs_all returned {len(inputs)} groups, expected {len(pos)}")
    streams, escapes = [], []
    for g, p in enumerate(pos):
        s, mu, wt = _check_inputs(inputs[g], p.shape[0], g)
        ta = time.perf_counter()
        ts, centre = mixture_tables(s, mu, wt, radius=Y_RADIUS, mean_grid=cfg.mean_grid)
        tb = time.perf_counter()
        vals = y_hat[p[:, 0], p[:, 1], p[:, 2]]
        groups, esc = encode_values(vals - centre, np.arange(vals.shape[0], dtype=np.int32), ts)
        streams.append(ans.encode_groups(groups))
        escapes.append(esc)
        t["tables_ms"] += (tb - ta) * 1e3
        t["ans_ms"] += (time.perf_counter() - tb) * 1e3
    if times is not None:
        times.update(t)
    shape = _shape_bytes((H, W, M, h, w, N, cfg.n_cs, cfg.mean_grid, Y_RADIUS))
    return ([("shape", shape), ("z", z_stream), ("z_esc", esc_z)]
            + [(f"y{g}", s) for g, s in enumerate(streams)] + [("y_esc", frame_escape_groups(escapes))])


def read_shape(c: ctr.Container) -> list[int]:
    """The SHAPE_FIELDS varints of section "shape" (BitstreamError if malformed)."""
    from ref.core.hyperprior import _read_varints

    return _read_varints(c.section("shape"), SHAPE_FIELDS)


@implements("ecf.bits", "ecf.bits_bound")
def decode_latents(c: ctr.Container, m: EcfModel, H: int, W: int, *,
                   times: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`encode_latents` -> (y^ int64 (H, W, M), z^ int64 (h, w, N)).

    c: a parsed container whose sections are exactly :func:`section_names` (checked by the
    caller or here); H, W: the latent size the header implies.  Every inconsistency of the
    stream with the model (shape fields, an ANS end check, an escape payload, |y^| >= Y_BOUND)
    is a BitstreamError; groups are decoded in order 0 .. 2 N_cs - 1 with the model's cached
    integer decoder, each from its own section y<g> and its escape payload ([core.C7g]).
    """
    cfg = m.cfg
    names = [n for n, _ in c.sections]
    if names != list(section_names(cfg.n_cs)):
        missing = [n for n in section_names(cfg.n_cs) if n not in names]
        what = f"missing {', '.join(missing)}" if missing else f"got {names}"
        raise BitstreamError(f"bitstream: ecf sections are not {list(section_names(cfg.n_cs))} ({what})")
    h, w = -(-H // 4), -(-W // 4)
    shape = read_shape(c)
    want = [H, W, cfg.M, h, w, cfg.N, cfg.n_cs, cfg.mean_grid, Y_RADIUS]
    if shape != want:
        raise BitstreamError(f"bitstream: ecf shape section {shape} does not match the header and the model "
                             f"(expected {want})")
    G = 2 * int(cfg.n_cs)
    t = {"hyper_ms": 0.0, "context_ms": 0.0, "tables_ms": 0.0, "ans_ms": 0.0}
    t0 = time.perf_counter()
    try:
        dz = ans.AnsDecoder(c.section("z"))
        z_hat = E.decode_factorized(dz, (h, w, cfg.N), m.z_tables, m.z_offsets, c.section("z_esc"))
        dz.finish()
        esc = split_escape_groups(c.section("y_esc"), G)
    except InputError as exc:
        raise BitstreamError(f"bitstream: z stream: {exc}") from None
    except BitstreamError as exc:
        raise BitstreamError(f"bitstream: {str(exc).removeprefix('bitstream: ')}") from None
    if np.abs(z_hat).max(initial=0) >= 1 << 31:
        raise BitstreamError("bitstream: a z value does not fit in int32")
    t1 = time.perf_counter()
    psi = m.int_model.hyper(z_hat.astype(np.int32))
    dec = m.int_model.decoder(psi)
    t2 = time.perf_counter()
    t["ans_ms"] += (t1 - t0) * 1e3
    t["hyper_ms"] += (t2 - t1) * 1e3
    pos = group_positions_all(m, H, W)
    y_hat = np.zeros((H, W, cfg.M), np.int64)
    for g, p in enumerate(pos):
        ta = time.perf_counter()
        s, mu, wt = _check_inputs(dec.table_inputs(g), p.shape[0], g)
        tb = time.perf_counter()
        ts, centre = mixture_tables(s, mu, wt, radius=Y_RADIUS, mean_grid=cfg.mean_grid)
        tc = time.perf_counter()
        try:
            d = ans.AnsDecoder(c.section(f"y{g}"))
            r = decode_values(d, np.arange(p.shape[0], dtype=np.int32), ts, esc[g])
            d.finish()
        except (InputError, BitstreamError) as exc:
            raise BitstreamError(f"bitstream: group {g} (section y{g}): {str(exc).removeprefix('bitstream: ')}") from None
        vals = r + centre
        if vals.size and int(np.abs(vals).max()) >= Y_BOUND:
            raise BitstreamError(f"bitstream: group {g} decodes a latent value of magnitude >= {Y_BOUND} ([ecf.bits_bound])")
        y_hat[p[:, 0], p[:, 1], p[:, 2]] = vals
        td = time.perf_counter()
        if g < G - 1:                     # the last group is never a context input ([ecf.sfg])
            dec.next_group(vals.astype(np.int32))
        t["context_ms"] += (tb - ta + time.perf_counter() - td) * 1e3
        t["tables_ms"] += (tc - tb) * 1e3
        t["ans_ms"] += (td - tc) * 1e3
    if times is not None:
        times.update(t)
    return y_hat, z_hat


# --------------------------------------------------------------------------- networks (jitted)
@lru_cache(maxsize=1)
def _nets():
    import jax

    from ref.ecf import model as MD

    def enc(params, x):
        y = MD.analysis(params, x)
        return y, MD.hyper_analysis(params, y)

    return jax.jit(enc), jax.jit(MD.synthesis)


@lru_cache(maxsize=8)
def get_model(quality: int) -> EcfModel:
    """The shipped checkpoint of ``quality`` as an EcfModel (InputError if there is none)."""
    from ref.ecf.checkpoint import load_codec_model

    return load_codec_model(quality)


def shipped_qualities() -> tuple[int, ...]:
    """Qualities with a checkpoint file ref/weights/ecf_q<Q>.safetensors."""
    from pathlib import Path

    try:
        from ref.ecf.checkpoint import WEIGHTS as d
    except ModuleNotFoundError:                  # checkpoint.py not there: nothing can be loaded anyway
        d = Path(__file__).resolve().parents[1] / "weights"
    out = []
    for p in Path(d).glob("ecf_q*.safetensors"):
        tail = p.stem.removeprefix("ecf_q")
        if tail.isdigit():
            out.append(int(tail))
    return tuple(sorted(out))


# --------------------------------------------------------------------------- codec
@implements("ecf.bits", "ecf.bits_image")
def encode_image(img: np.ndarray, quality: int, model: EcfModel | None = None, *,
                 times: dict | None = None, latent: dict | None = None) -> bytes:
    """Encode uint8 (H, W, 1|3) at ``quality`` -> container bytes ([ecf.bits]).

    model: an EcfModel (default: the shipped checkpoint of ``quality``).
    times: if a dict, receives nets_ms (g_a + h_a) and the parts of :func:`encode_latents`.
    latent: if a dict, receives "y_hat" int64 (H, W, M) and "z_hat" int64 (h, w, N) as coded.
    """
    import jax.numpy as jnp

    from ref.core.quantization import to_symbols
    from ref.data.imageio import check_image

    img = check_image(img)
    H, W, C = img.shape
    check_size(H, W)
    m = model if model is not None else get_model(quality)
    t0 = time.perf_counter()
    enc, _ = _nets()
    y, z = enc(m.params, jnp.asarray(to_network(pad_image(img))))
    y_hat = to_symbols(np.asarray(y, np.float64))[0]          # [ecf.C7] round half to even
    z_hat = to_symbols(np.asarray(z, np.float64))[0]
    t1 = time.perf_counter()
    sections = encode_latents(y_hat, z_hat, m, times=times)
    if latent is not None:
        latent.update(y_hat=y_hat, z_hat=z_hat)
    if times is not None:
        times["nets_ms"] = (t1 - t0) * 1e3
    header = {"quality": int(m.quality), "model": m.model_id, "height": H, "width": W, "channels": C}
    return ctr.pack("ecf", header, sections)


def parse_header(c: ctr.Container) -> tuple[int, int, int, int]:
    """[ecf.bits] exactly HEADER_KEYS; quality, height, width, channels uints, model a str;
    sides in MIN_SIDE..MAX_SIDE, H * W within the pixel cap (bits.C3), channels 1 or 3.
    Returns (quality, H, W, C); BitstreamError otherwise."""
    from ref.core.limits import check_declared_pixels

    if c.system != "ecf":
        raise BitstreamError(f"bitstream: container holds a {c.system!r} stream, not ecf")
    if sorted(c.header) != sorted(HEADER_KEYS):
        raise BitstreamError(f"bitstream: ecf header fields {sorted(c.header)} are not {list(HEADER_KEYS)}")
    c.get("model", str)
    q, H, W, C = (c.get(k, int) for k in ("quality", "height", "width", "channels"))
    if not (MIN_SIDE <= H <= MAX_SIDE and MIN_SIDE <= W <= MAX_SIDE) or C not in (1, 3):
        raise BitstreamError(f"bitstream: ecf image size {W}x{H}x{C} out of range")
    check_declared_pixels(H, W, "ecf header")
    return q, H, W, C


@implements("ecf.bits", "ecf.bits_image")
def decode_container(c: ctr.Container, model: EcfModel | None = None, *, times: dict | None = None,
                     latent: dict | None = None) -> np.ndarray:
    """Container -> uint8 image (H, W, C).  A stream of another quality or checkpoint than the
    decoder's model is a BitstreamError (exit 3), checked before any entropy decoding.
    times: per-part ms as :func:`decode_latents` + nets_ms (g_s); latent: receives y_hat, z_hat."""
    import jax.numpy as jnp

    q, H, W, C = parse_header(c)
    if model is None:
        try:
            model = get_model(q)
        except InputError as exc:
            raise BitstreamError(f"bitstream: cannot decode an ecf quality {q} stream: {exc}") from None
    elif q != model.quality:
        raise BitstreamError(f"bitstream: the stream is ecf quality {q}; this decoder's model is quality {model.quality}")
    if c.get("model", str) != model.model_id:
        raise BitstreamError(f"bitstream: the stream was made with model {c.get('model', str)!r}; this decoder has "
                             f"{model.model_id!r} for quality {q} (another checkpoint)")
    Hl, Wl, _, _ = latent_size(H, W)
    y_hat, z_hat = decode_latents(c, model, Hl, Wl, times=times)
    if latent is not None:
        latent.update(y_hat=y_hat, z_hat=z_hat)
    t0 = time.perf_counter()
    _, syn = _nets()
    x_hat = syn(model.params, jnp.asarray(y_hat.astype(np.float32)[None]))
    out = to_uint8(x_hat, H, W, C)
    if times is not None:
        times["nets_ms"] = (time.perf_counter() - t0) * 1e3
    return out


def decode_bytes(data: bytes, model: EcfModel | None = None, *, times: dict | None = None,
                 latent: dict | None = None) -> np.ndarray:
    """Container bytes -> uint8 image (H, W, C); see :func:`decode_container`."""
    return decode_container(ctr.unpack(data, expect_system="ecf"), model, times=times, latent=latent)
