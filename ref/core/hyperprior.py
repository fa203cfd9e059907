"""Mean-scale hyperprior (Minnen, Ballé, Toderici 2018; CompressAI ``MeanScaleHyperprior``)
with integer-portable coding.  Spec: spec/core-hyperprior.md.

    [core.hp_analysis]   z = h_a(y):  conv3x3 s1 M->N, lrelu, conv5x5 s2 N->N, lrelu, conv5x5 s2 N->N
    [core.hp_synthesis]  (scale, mean) = h_s(z_hat): deconv5x5 s2 N->M, relu, deconv5x5 s2 M->3M/2,
                         relu, conv3x3 s1 3M/2->2M; channels [0, M) = scale, [M, 2M) = mean
                         (ReLU instead of CompressAI's LeakyReLU: [core.C33])
    [core.hp_rate]       training:  bits_z = sum -log2 P_fact(z + u),
                         bits_y = sum -log2 P_N(y + u | mu_g, scale),   y_hat = ste(y - mu_g) + mu_g
    [core.hp_sections]   coding:  z_hat = round(z) (factorized tables of the checkpoint, [core.C9]);
                         idx = indices_fn(z_hat) (decoder-critical; the integer path in shipped
                         codecs); r = round(y - mean_idx/M) ([core.C31]); sections
                         shape / z / z_esc / y / y_esc.

Parameter pytree: {"h_a": {"conv0", "conv1", "conv2"}, "h_s": {"deconv0", "deconv1", "conv2"},
"z_prior": factorized density params (ref.core.entropy_models.init_factorized)}; every conv a
{"w": HWIO, "b"} dict (ref.core.layers).  Activations NHWC float32.
"""

from __future__ import annotations

from typing import Callable

from ref.core import runtime as _runtime

_runtime.configure_jax()  # x64 + highest matmul precision even if jax was imported first

import jax  # noqa: E402
import jax.numpy as jnp
import numpy as np

from ref.core import ans
from ref.core import entropy_models as E
from ref.core.container import encode_varint
from ref.core.errors import BitstreamError, InputError
from ref.core.layers import conv, deconv, init_conv, init_deconv, leaky_relu, relu
from ref.core.quantization import add_uniform_noise, snap_mean, ste_round, to_symbols
from ref.core.registry import implements
from ref.core.tables import TableSet

#: Section names written by :func:`encode_hyperprior` (after the caller's prefix).
SECTIONS = ("shape", "z", "z_esc", "y", "y_esc")
#: Decoder resource limit: at most this many latent elements (y) per stream ([core.hp_sections]).
MAX_LATENT_ELEMENTS = 1 << 26

IndicesFn = Callable[[np.ndarray], E.ConditionalIndices]


# =========================================================================== networks
def init_hyperprior(key, N: int, M: int, dtype=jnp.float32) -> dict:
    """Parameters of h_a, h_s (PyTorch default init, see ref.core.layers) and of the factorized
    prior on z (CompressAI EntropyBottleneck init).  N: channels of z; M: channels of y (even)."""
    if M % 2:
        raise InputError(f"M must be even (h_s has 3M/2 channels), got {M}")
    k = jax.random.split(key, 7)
    return {
        "h_a": {"conv0": init_conv(k[0], 3, M, N, dtype), "conv1": init_conv(k[1], 5, N, N, dtype),
                "conv2": init_conv(k[2], 5, N, N, dtype)},
        "h_s": {"deconv0": init_deconv(k[3], 5, N, M, dtype), "deconv1": init_deconv(k[4], 5, M, 3 * M // 2, dtype),
                "conv2": init_conv(k[5], 3, 3 * M // 2, 2 * M, dtype)},
        "z_prior": E.init_factorized(k[6], N, dtype=dtype),
    }


@implements("core.hp_analysis")
def hyper_analysis(p: dict, y):
    """z = conv5x5_s2(lrelu(conv5x5_s2(lrelu(conv3x3_s1(y)))))  (CompressAI MeanScaleHyperprior.h_a).

    p: {"h_a": {...}} or the h_a dict itself.  y: (B, H, W, M) float.  Returns (B, ceil(H/4), ceil(W/4), N).
    """
    q = p.get("h_a", p)
    t = leaky_relu(conv(q["conv0"], y, stride=1))
    t = leaky_relu(conv(q["conv1"], t, stride=2))
    return conv(q["conv2"], t, stride=2)


@implements("core.hp_synthesis", "core.C33")
def hyper_synthesis(p: dict, z_hat):
    """(scale, mean) = split(conv3x3(relu(deconv5x5_s2(relu(deconv5x5_s2(z_hat)))))), float path.

    p: {"h_s": {...}} or the h_s dict.  z_hat: (B, h, w, N), integers (any dtype; computed in
    float32 unless a float64 array is given).  Returns (scale, mean), each (B, 4h, 4w, M):
    channels [0, M) of the output are the scale, [M, 2M) the mean.
    """
    q = p.get("h_s", p)
    z = jnp.asarray(z_hat)
    if z.dtype not in (jnp.float32, jnp.float64):
        z = z.astype(jnp.float32)
    t = relu(deconv(q["deconv0"], z, stride=2))
    t = relu(deconv(q["deconv1"], t, stride=2))
    out = conv(q["conv2"], t, stride=1)
    m = out.shape[-1] // 2
    return out[..., :m], out[..., m:]


@implements("core.C32")
def float_indices_fn(p: dict, mean_grid: int = E.DEFAULT_MEAN_GRID) -> IndicesFn:
    """The float path z_hat -> ConditionalIndices(scale_index(scale), mean_index(mean, M), M)
    through :func:`hyper_synthesis` (float32).  NOT portable ([core.C32]: an ulp of drift at a
    bin boundary flips an index); for training, comparison and tests.  Shipped decoders use
    :func:`int_indices_fn`."""
    hs = jax.jit(lambda q, z: hyper_synthesis(q, z))
    q = p.get("h_s", p)

    def fn(z_hat):
        scale, mean = hs(q, jnp.asarray(z_hat, jnp.float32))
        return E.conditional_indices(np.asarray(mean), np.asarray(scale), mean_grid)

    return fn


def int_indices_fn(p_int: dict) -> IndicesFn:
    """The integer path (spec/core-intnet.md): z_hat -> ``ref.core.intnet.int_conditional_indices``."""
    from ref.core.intnet import int_conditional_indices

    return lambda z_hat: int_conditional_indices(p_int, z_hat)


# =========================================================================== training
@implements("core.hp_rate", "core.C31")
def rate_terms(p: dict, y, key, *, mean_grid: int = E.DEFAULT_MEAN_GRID) -> dict:
    """Training forward of the hyperprior: rate terms and the quantised latent for g_s.

        z = h_a(y);  z_hat = ste(z) (to h_s);  bits_z = sum -log2 P_fact(z + u_z)
        (scale, mean) = h_s(z_hat);  mu_g = snap_mean(mean, M)
        y_hat = ste(y - mu_g) + mu_g                         (to g_s; [core.C31])
        bits_y = sum -log2 P_N(y + u_y | mu_g, scale)        ([core.lik_gaussian], scale >= 0.11)

    p: full hyperprior pytree.  y: (B, H, W, M) float32.  key: jax PRNG key (two noise draws).
    Returns {"y_hat", "z_hat", "bits_y", "bits_z" (scalars, float), "scale", "mean" (h_s output),
    "lik_y", "lik_z"}.  Differentiable (jit/grad-able); mean_grid is static.
    """
    ky, kz = jax.random.split(key)
    z = hyper_analysis(p, y)
    lik_z = E.factorized_likelihood(p["z_prior"], add_uniform_noise(kz, z))
    z_hat = ste_round(z)
    scale, mean = hyper_synthesis(p, z_hat)
    scale, mean = scale[:, : y.shape[1], : y.shape[2]], mean[:, : y.shape[1], : y.shape[2]]
    mu_g = snap_mean(mean, mean_grid)
    y_hat = ste_round(y - mu_g) + mu_g
    lik_y = E.gaussian_likelihood(add_uniform_noise(ky, y), mu_g, scale)
    return {"y_hat": y_hat, "z_hat": z_hat, "scale": scale, "mean": mean, "lik_y": lik_y, "lik_z": lik_z,
            "bits_y": -jnp.sum(jnp.log2(lik_y)), "bits_z": -jnp.sum(jnp.log2(lik_z))}


# =========================================================================== coding
def quantize_z(z) -> np.ndarray:
    """z_hat = round_half_even(z) as int64 ([core.quant_round]; the factorized tables code
    z_hat - o_c, [core.C9]).  z: float (1, h, w, N)."""
    return to_symbols(np.asarray(z, np.float64))


def _shape_bytes(y_shape, z_shape, mean_grid: int, radius: int) -> bytes:
    _, H, W, M = y_shape
    _, h, w, N = z_shape
    return b"".join(encode_varint(int(v)) for v in (H, W, M, h, w, N, mean_grid, radius))


def _read_varints(data: bytes, n: int) -> list[int]:
    """n canonical unsigned LEB128 varints filling ``data`` exactly (else BitstreamError)."""
    out, pos = [], 0
    for _ in range(n):
        start, v, shift = pos, 0, 0
        while True:
            if pos >= len(data) or pos - start >= 10:
                raise BitstreamError("bitstream: hyperprior shape section is truncated or malformed")
            b = data[pos]
            pos += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if v >= 1 << 64 or encode_varint(v) != data[start:pos]:
            raise BitstreamError("bitstream: hyperprior shape section has a non-canonical varint")
        out.append(v)
    if pos != len(data):
        raise BitstreamError("bitstream: hyperprior shape section has trailing bytes")
    return out


def _check_indices(idx, y_shape, what: str) -> E.ConditionalIndices:
    if not isinstance(idx, E.ConditionalIndices):
        raise InputError(f"{what} must return entropy_models.ConditionalIndices (indices carry their grid)")
    idx = idx.checked()
    return idx.crop(y_shape)


@implements("core.hp_sections", "core.C31")
def encode_hyperprior(y, z_hat, z_tables: TableSet, z_offsets, indices_fn: IndicesFn, *,
                      radius: int = E.DEFAULT_RADIUS, family: str = "gaussian", prefix: str = "") -> tuple[dict, np.ndarray]:
    """Code y given z_hat -> (sections, y_hat).

    y: (1, H, W, M) float latent (g_a output).  z_hat: (1, h, w, N) int (round of h_a(y)),
    h = ceil(H/4), w = ceil(W/4).  z_tables, z_offsets: the checkpoint's factorized tables
    ([core.C9]).  indices_fn: z_hat -> ConditionalIndices of shape (1, >=H, >=W, M) (cropped to
    (1, H, W, M)); the decoder must call the same function (the integer path in shipped codecs).
    Sections (names prefixed by ``prefix``): "shape" (varints H, W, M, h, w, N, mean grid, R),
    "z" / "y" (core.ans streams of one group each), "z_esc" / "y_esc" ([core.C7] payloads).
    Returns ({name: bytes}, y_hat float32 (1, H, W, M), exactly what the decoder reconstructs).
    """
    y = np.asarray(y)
    z_hat = np.asarray(z_hat)
    if y.ndim != 4 or y.shape[0] != 1 or z_hat.ndim != 4 or z_hat.shape[0] != 1:
        raise InputError(f"y and z_hat must be (1, H, W, C), got {y.shape} and {z_hat.shape}")
    if z_hat.dtype.kind not in "iu":
        raise InputError(f"z_hat must be integers, got {z_hat.dtype}")
    H, W = y.shape[1:3]
    if z_hat.shape[1:3] != (-(-H // 4), -(-W // 4)):
        raise InputError(f"z_hat {z_hat.shape[1:3]} does not match y {H}x{W} (expected ceil(/4))")
    idx = _check_indices(indices_fn(z_hat), y.shape, "indices_fn")
    g_z, esc_z = E.encode_factorized(z_hat, z_tables, z_offsets)
    r = E.quantize_conditional(y, idx)
    g_y, esc_y = E.encode_conditional(r, idx, radius=radius, family=family)
    sections = {
        "shape": _shape_bytes(y.shape, z_hat.shape, idx.mean_grid, radius),
        "z": ans.encode_groups(g_z), "z_esc": esc_z, "y": ans.encode_groups(g_y), "y_esc": esc_y,
    }
    return {prefix + k: v for k, v in sections.items()}, E.dequantize_conditional(r, idx)


@implements("core.hp_sections", "core.C31")
def decode_hyperprior(sections, z_tables: TableSet, z_offsets, indices_fn: IndicesFn, *,
                      family: str = "gaussian", prefix: str = "", expect_channels: tuple[int, int] | None = None,
                      expect_mean_grid: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`encode_hyperprior` -> (y_hat float32 (1, H, W, M), z_hat int64 (1, h, w, N)).

    sections: mapping name -> bytes, or a ref.core.container.Container (missing names are a
    BitstreamError).  expect_channels: (M, N) of the decoder's model; expect_mean_grid: its grid.
    Any inconsistency between the stream and the model (channels, z size, mean grid, ANS end
    check, escape payload) is a BitstreamError; the stream's grid must equal the grid of the
    indices that indices_fn returns.
    """
    def sec(name):
        if hasattr(sections, "section"):                     # a ref.core.container.Container
            return sections.section(prefix + name)
        try:
            return bytes(sections[prefix + name])
        except KeyError:
            raise BitstreamError(f"bitstream: hyperprior section {prefix + name!r} is missing") from None

    H, W, M, h, w, N, grid, radius = _read_varints(sec("shape"), 8)
    if not (1 <= H and 1 <= W and 1 <= M and 1 <= N) or H * W * M > MAX_LATENT_ELEMENTS:
        raise BitstreamError(f"bitstream: hyperprior latent {H}x{W}x{M} out of range")
    if (h, w) != (-(-H // 4), -(-W // 4)):
        raise BitstreamError(f"bitstream: z size {h}x{w} does not match y size {H}x{W}")
    if N != z_tables.n_tables or (expect_channels is not None and (M, N) != tuple(expect_channels)):
        raise BitstreamError(f"bitstream: channels (M, N) = ({M}, {N}) do not match the model")
    if expect_mean_grid is not None and grid != expect_mean_grid:
        raise BitstreamError(f"bitstream: mean grid {grid} != the model's {expect_mean_grid}")
    if not 0 <= radius <= 32767:
        raise BitstreamError(f"bitstream: radius {radius} out of range")
    try:
        dz = ans.AnsDecoder(sec("z"))
        z_hat = E.decode_factorized(dz, (1, h, w, N), z_tables, z_offsets, sec("z_esc"))
        dz.finish()
    except InputError as exc:
        raise BitstreamError(f"bitstream: z stream: {exc}") from None
    full = indices_fn(z_hat)
    shp = np.shape(getattr(full, "scale_idx", ()))
    if len(shp) == 4 and (shp[3] != M or shp[1] < H or shp[2] < W):
        raise BitstreamError(f"bitstream: latent {H}x{W}x{M} does not match the model's indices {shp[1:]}")
    idx = _check_indices(full, (1, H, W, M), "indices_fn")
    if idx.mean_grid != grid:
        raise BitstreamError(f"bitstream: stream mean grid {grid} != the decoder's indices grid {idx.mean_grid}")
    try:
        dy = ans.AnsDecoder(sec("y"))
        r = E.decode_conditional(dy, idx, sec("y_esc"), radius=radius, family=family)
        dy.finish()
    except InputError as exc:
        raise BitstreamError(f"bitstream: y stream: {exc}") from None
    return E.dequantize_conditional(r, idx), z_hat


__all__ = ["SECTIONS", "init_hyperprior", "hyper_analysis", "hyper_synthesis", "float_indices_fn",
           "int_indices_fn", "rate_terms", "encode_hyperprior", "decode_hyperprior", "quantize_z"]
