"""The Easz codec: edge-side encode (mask + squeeze + inner codec) and server-side decode
(inner decode + unsqueeze + reconstruct) in a codecref container (easz.container).

Encode (edge, no network):
    X (H, W, C) uint8 --pad (easz.C11)--> X_p (H_p, W_p, C)
    keep = mask template (g, g) from (seed, g, T, delta, Delta)        (easz.row_sampler)
    X_sq = squeeze(X_p, keep)  (H_p, W_p (g-T)/g, C)                   (easz.squeeze)
    file = container{header, "mask": serialize(keep), "inner": inner_encode(X_sq)}

Decode (server):
    X_sq' = inner_decode("inner"); X_u = unsqueeze(X_sq') (erased = 0)
    X_hat = reconstruct(X_u, K)  (model: ref.easz.recon, or "interp": easz.C16)
    X_hat[K] = X_u[K]; round half up, clip to [0, 255]; crop to (H, W)  (easz.C12)
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from ref.core.errors import BitstreamError, InputError
from ref.core.limits import check_declared_pixels
from ref.data.imageio import check_image
from ref.core.registry import implements
from ref.easz.interp import interpolate
from ref.easz.mask_io import deserialize_mask, serialize_mask
from ref.easz.patchify import check_geometry, crop, pad_to_multiple, pixel_keep
from ref.easz.sampler import (DEFAULT_DELTA, DEFAULT_INTER_DELTA, SamplerConfig, diagonal_mask, random_mask,
                              row_sampler_mask, sr2x_mask)
from ref.easz.squeeze import SqueezePlan, squeeze, unsqueeze

EASZ_FORMAT = 1
MASK_KINDS = ("sampler", "random", "diagonal", "sr2x")
INNER_CODECS = {"jpeg": "JPEG", "webp": "WEBP", "png": "PNG"}
DEFAULT_QUALITY = {"jpeg": 75, "webp": 75, "png": 0}
RECON_KINDS = ("model", "interp")
#: Header fields of an easz container (easz.container): key -> type.  No other key is allowed.
HEADER_FIELDS = {"easz_format": int, "height": int, "width": int, "channels": int, "n": int, "b": int,
                 "T": int, "delta": int, "Delta": int, "seed": int, "mask_kind": str, "inner": str,
                 "quality": int, "recon": str}
SECTIONS = ("mask", "inner")
STRIP_ELEMENTS = 1 << 22  # finish_pixels works on strips of about this many samples
BAND_PIXELS = 1 << 21     # reconstruction runs on bands of whole patch rows of about this many pixels
#: Default geometry: the shipped model's (n = 32, b = 4, ref/weights/easz_n32_b4); override with --patch / --sub.
DEFAULT_N = 32
DEFAULT_B = 4


@dataclass(frozen=True)
class EaszParams:
    """Everything the encoder decides (stored in the container header).

    n, b:          patch / sub-patch side (pixels); g = n // b.
    T:             erased sub-patches per template row (easz.C2, from the erase ratio: easz.C8).
    delta, Delta:  sampler thresholds (easz.1, easz.inter_row).
    seed:          u64 seed of the mask PRNG (easz.C5).
    mask:          "sampler" | "random" | "diagonal" (T = 1) | "sr2x" (b = 1, T = g/2).
    inner:         "jpeg" | "webp" | "png";  quality: 1..100 (jpeg/webp), 0 for png.
    recon:         "model" (transformer, ref.easz.recon) | "interp" (easz.C16).
    """

    n: int = DEFAULT_N
    b: int = DEFAULT_B
    T: int = 2
    delta: int = DEFAULT_DELTA        # easz.C29
    Delta: int = DEFAULT_INTER_DELTA
    seed: int = 0
    mask: str = "sampler"
    inner: str = "jpeg"
    quality: int = 75
    recon: str = "model"

    @property
    def g(self) -> int:
        return self.n // self.b

    def validate(self) -> "EaszParams":
        g = check_geometry(self.n, self.b)
        SamplerConfig(g=g, T=self.T, delta=self.delta, Delta=self.Delta)
        if self.mask not in MASK_KINDS:
            raise InputError(f"unknown mask kind {self.mask!r} (choose from {', '.join(MASK_KINDS)})")
        if self.mask == "diagonal" and self.T != 1:
            raise InputError("the diagonal mask erases exactly one sub-patch per row (T = 1)")
        if self.mask == "sr2x" and (self.b != 1 or 2 * self.T != g):
            raise InputError("the 2x-SR pattern needs sub-patch b = 1 and T = n/2")
        if self.inner not in INNER_CODECS:
            raise InputError(f"unknown inner codec {self.inner!r} (choose from {', '.join(INNER_CODECS)})")
        if self.inner == "png":
            if self.quality != 0:
                raise InputError("png is lossless: it takes no quality")
        elif not 1 <= self.quality <= 100:
            raise InputError(f"{self.inner} quality {self.quality} must be in [1, 100]")
        if self.recon not in RECON_KINDS:
            raise InputError(f"unknown reconstruction {self.recon!r} (choose from {', '.join(RECON_KINDS)})")
        if not 0 <= self.seed < 1 << 64:
            raise InputError(f"seed {self.seed} must be in [0, 2**64)")
        return self


def parse_inner(spec: str) -> tuple[str, int]:
    """'jpeg' | 'jpeg:Q' | 'webp[:Q]' | 'png' -> (codec, quality)."""
    name, _, q = spec.strip().lower().partition(":")
    if name not in INNER_CODECS:
        raise InputError(f"unknown inner codec {spec!r} (jpeg[:Q], webp[:Q] or png)")
    if not q:
        return name, DEFAULT_QUALITY[name]
    if name == "png":
        raise InputError("png is lossless: it takes no quality")
    try:
        quality = int(q)
    except ValueError as exc:
        raise InputError(f"inner codec quality {q!r} is not an integer") from exc
    if not 1 <= quality <= 100:
        raise InputError(f"{name} quality {quality} must be in [1, 100]")
    return name, quality


@implements("easz.row_sampler", "easz.random_mask", "easz.diagonal", "easz.sr2x")
def make_mask(p: EaszParams) -> np.ndarray:
    """The keep template (g, g) uint8 the encoder uses for ``p`` (deterministic)."""
    g = p.g
    if p.mask == "sampler":
        return row_sampler_mask(SamplerConfig(g=g, T=p.T, delta=p.delta, Delta=p.Delta), p.seed)
    if p.mask == "random":
        return random_mask(g, p.T, p.seed)
    if p.mask == "diagonal":
        return diagonal_mask(g)
    return sr2x_mask(g)


# --------------------------------------------------------------------------- inner codecs
@implements("easz.C13")
def inner_encode(img: np.ndarray, codec: str, quality: int) -> bytes:
    """Encode a uint8 (h, w, C) image with Pillow (easz.C13):

    jpeg: JPEG baseline, quality Q, Pillow defaults (4:2:0 chroma subsampling for RGB,
          no optimize/progressive); webp: lossy WebP quality Q, method 4;
          png: lossless, compress_level 6.
    """
    from PIL import Image

    im = Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img)
    buf = io.BytesIO()
    if codec == "jpeg":
        im.save(buf, format="JPEG", quality=int(quality))
    elif codec == "webp":
        im.save(buf, format="WEBP", quality=int(quality), method=4)
    elif codec == "png":
        im.save(buf, format="PNG", compress_level=6)
    else:
        raise InputError(f"unknown inner codec {codec!r}")
    return buf.getvalue()


@implements("easz.C13")
def inner_decode(data: bytes, codec: str, channels: int, shape: tuple[int, int]) -> np.ndarray:
    """Decode inner-codec bytes with Pillow to uint8 (h, w, channels); BitstreamError on
    any mismatch (format, size) or corrupt data."""
    from PIL import Image, UnidentifiedImageError

    want = INNER_CODECS[codec]
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != want:
                raise BitstreamError(f"bitstream: easz inner payload is {im.format}, header says {want}")
            if getattr(im, "n_frames", 1) != 1:
                raise BitstreamError(f"bitstream: easz inner {want} payload has {im.n_frames} frames, not 1")
            if (im.height, im.width) != tuple(shape):
                raise BitstreamError(f"bitstream: easz inner image is {im.width}x{im.height}, "
                                     f"expected {shape[1]}x{shape[0]}")
            im.load()
            im = im.convert("L" if channels == 1 else "RGB")
            arr = np.asarray(im, dtype=np.uint8)
    except BitstreamError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise BitstreamError(f"bitstream: easz inner {want} payload is corrupt ({exc})") from exc
    return arr[:, :, None] if arr.ndim == 2 else arr


# --------------------------------------------------------------------------- reconstruction
def _model_reconstruct(image: np.ndarray, keep: np.ndarray, n: int, b: int) -> np.ndarray:
    """Call the shipped transformer (ref.easz.recon contract) on (H, W, C) float32."""
    try:
        from ref.easz import recon
    except ModuleNotFoundError as exc:
        if exc.name == "ref.easz.recon":
            raise BitstreamError("bitstream: easz stream asks for the reconstruction model, which this "
                                 "build lacks (ref.easz.recon); encode with --recon interp") from exc
        raise
    try:
        params, cfg = recon.load_default()
    except InputError as exc:
        raise BitstreamError(f"bitstream: easz stream asks for the reconstruction model, which this "
                             f"build cannot load ({exc})") from None
    if (getattr(cfg, "n", n), getattr(cfg, "b", b)) != (n, b):
        raise BitstreamError(f"bitstream: easz stream asks for the model with n={n}, b={b}; the shipped "
                             f"model is for n={cfg.n}, b={cfg.b} (re-encode with matching --patch/--sub "
                             "or --recon interp)")
    c = image.shape[2]
    model_c = getattr(cfg, "channels", c)
    x = image.astype(np.float32)
    if c == 1 and model_c == 3:  # grayscale through an RGB model: replicate, then average
        out = recon.reconstruct(params, np.repeat(x, 3, axis=2), keep, cfg)
        return np.asarray(out, dtype=np.float64).mean(axis=2, keepdims=True)
    return np.asarray(recon.reconstruct(params, x, keep, cfg))  # float32; finish_pixels widens per strip


@implements("easz.C12")
def finish_pixels(recon: np.ndarray, unsq: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Decoder output (easz.C12): kept pixels are the inner-decoded ones; erased ones come
    from the reconstruction, rounded half up and clipped:

        out = unsq            where K
        out = clip(floor(recon + 1/2), 0, 255)   elsewhere          (uint8)
    """
    recon = np.asarray(recon)
    out = np.empty(np.broadcast_shapes(recon.shape, unsq.shape), dtype=np.uint8)
    # in strips of rows: the float64 temporaries stay small for any image size (bits.C3)
    step = max(1, STRIP_ELEMENTS // max(1, out.shape[1] * out.shape[2]))
    for y in range(0, out.shape[0], step):
        r = np.floor(recon[y:y + step].astype(np.float64) + 0.5)
        np.clip(r, 0, 255, out=r)
        out[y:y + step] = np.where(keep[y:y + step, :, None], unsq[y:y + step], r.astype(np.uint8))
    return out


# --------------------------------------------------------------------------- encode / decode
@dataclass(frozen=True)
class Encoded:
    """Result of :func:`encode_image` (the bytes plus what a caller may want to report)."""

    data: bytes
    keep: np.ndarray
    squeezed: np.ndarray
    inner_bytes: int
    params: EaszParams = field(repr=False)


@implements("easz.container", "easz.C14")
def encode_image(img: np.ndarray, p: EaszParams) -> Encoded:
    """Edge side: uint8 (H, W, C) -> container bytes (see the module docstring)."""
    from ref.core.container import pack

    img = check_image(img)
    p = p.validate()
    h, w, c = img.shape
    keep = make_mask(p)
    plan = SqueezePlan.build(keep, p.n, p.b)
    sq = squeeze(pad_to_multiple(img, p.n), plan)
    inner = inner_encode(sq, p.inner, p.quality)
    header = {
        "easz_format": EASZ_FORMAT, "height": h, "width": w, "channels": c,
        "n": p.n, "b": p.b, "T": p.T, "delta": p.delta, "Delta": p.Delta, "seed": p.seed,
        "mask_kind": p.mask, "inner": p.inner, "quality": p.quality, "recon": p.recon,
    }
    data = pack("easz", header, [("mask", serialize_mask(keep)), ("inner", inner)])
    return Encoded(data, keep, sq, len(inner), p)


def encode(img: np.ndarray, p: EaszParams) -> bytes:
    """Edge side: uint8 (H, W, C) -> container bytes."""
    return encode_image(img, p).data


def _field(container, key: str, lo: int, hi: int) -> int:
    v = container.get(key, int)
    if not lo <= v <= hi:
        raise BitstreamError(f"bitstream: easz header field {key}={v} outside [{lo}, {hi}]")
    return v


@dataclass(frozen=True)
class DecodedParts:
    """Intermediate decoder values (for tests and analyses)."""

    params: EaszParams
    height: int
    width: int
    keep: np.ndarray        # (g, g) template
    squeezed: np.ndarray    # inner-decoded (H_p, W_p k/g, C) uint8
    unsqueezed: np.ndarray  # (H_p, W_p, C) uint8, erased = 0
    pixel_keep: np.ndarray  # (H_p, W_p) bool


@implements("easz.container", "easz.C14", "bits.C3")
def parse(container) -> DecodedParts:
    """Validate an easz container and undo the inner codec and the squeeze."""
    if container.system != "easz":
        raise BitstreamError(f"bitstream: not an easz container (system {container.system!r})")
    missing = [k for k in HEADER_FIELDS if k not in container.header]
    extra = [k for k in container.header if k not in HEADER_FIELDS]
    if missing or extra:
        raise BitstreamError(f"bitstream: easz header " + "; ".join(
            ([f"lacks field(s) {', '.join(missing)}"] if missing else [])
            + ([f"has unknown field(s) {', '.join(extra)}"] if extra else [])))
    names = tuple(n for n, _ in container.sections)
    if names != SECTIONS:
        raise BitstreamError(f"bitstream: easz stream must have sections mask, inner in this order "
                             f"(has {', '.join(names) or 'none'})")
    fmt = container.get("easz_format", int)
    if fmt != EASZ_FORMAT:
        raise BitstreamError(f"bitstream: unsupported easz format {fmt} (this decoder reads {EASZ_FORMAT})")
    h = _field(container, "height", 1, 1 << 16)
    w = _field(container, "width", 1, 1 << 16)
    c = container.get("channels", int)
    if c not in (1, 3):
        raise BitstreamError(f"bitstream: easz channels={c} (need 1 or 3)")
    check_declared_pixels(h, w, "easz stream")
    n = _field(container, "n", 2, 1024)
    b = _field(container, "b", 1, 1024)
    try:
        p = EaszParams(n=n, b=b, T=container.get("T", int), delta=container.get("delta", int),
                       Delta=container.get("Delta", int), seed=container.get("seed", int),
                       mask=container.get("mask_kind", str), inner=container.get("inner", str),
                       quality=container.get("quality", int), recon=container.get("recon", str)).validate()
    except InputError as exc:
        raise BitstreamError(f"bitstream: invalid easz parameters ({exc})") from exc
    keep = deserialize_mask(container.section("mask"), p.g, p.T)
    plan = SqueezePlan.build(keep, p.n, p.b)
    hp, wp = -(-h // n) * n, -(-w // n) * n
    sq = inner_decode(container.section("inner"), p.inner, c, (hp, wp // p.g * plan.k))
    unsq = unsqueeze(sq, plan, wp)
    return DecodedParts(p, h, w, keep, sq, unsq, pixel_keep(keep, n, b, hp, wp))


def reconstruct_parts(parts: DecodedParts, recon: str | None = None) -> np.ndarray:
    """Reconstruct, paste back kept pixels, round, crop -> uint8 (H, W, C)."""
    kind = recon or parts.params.recon
    u, k, n = parts.unsqueezed, parts.pixel_keep, parts.params.n
    band = max(n, BAND_PIXELS // max(1, u.shape[1]) // n * n)
    if kind == "interp":
        # easz.C16 interpolates along rows and columns between the nearest kept pixels; the
        # pixel mask repeats every n rows, so a kept pixel of a column, if any, lies within
        # n rows: a band computed with n rows of context above and below equals the same
        # rows of one whole-image call (bits.C3: memory bounded by the band).
        out = np.empty_like(u)
        for y in range(0, u.shape[0], band):
            lo, hi = max(0, y - n), min(u.shape[0], y + band + n)
            r = interpolate(u[lo:hi], k[lo:hi])[y - lo:y - lo + band]
            out[y:y + band] = finish_pixels(r, u[y:y + band], k[y:y + band])
    else:
        # The model reconstructs every n x n patch on its own (ref.easz.recon contract), so
        # bands of whole patch rows give the same pixels as one call and bound the decoder's
        # float temporaries by the band, not the image (bits.C3).
        out = np.empty_like(u)
        for y in range(0, u.shape[0], band):
            ub, kb = u[y:y + band], k[y:y + band]
            r = _model_reconstruct(ub.astype(np.float32), kb, n, parts.params.b)
            out[y:y + band] = finish_pixels(r, ub, kb)
    return np.ascontiguousarray(crop(out, parts.height, parts.width))


def decode(data: bytes, recon: str | None = None) -> np.ndarray:
    """Server side: container bytes -> uint8 (H, W, C).  ``recon`` overrides the header's
    reconstruction ("model" | "interp")."""
    from ref.core.container import unpack

    return reconstruct_parts(parse(unpack(data, expect_system="easz")), recon)
