"""Cross-platform coding check: encode on one platform, decode on the other (x86-64 <-> aarch64).

Run by scripts/arm64/cross_decode.sh, once with the host's python and once with the arm64
python of scripts/arm64/verify.sh.  Every command writes plain files into a work directory
shared by both platforms; ``compare`` (host) reads them and says what is identical.

Two modes:

* ``core``: the mean-scale hyperprior coding path of ref.core.hyperprior with the integer
  hyper-synthesis ref.core.intnet.  ``make-core`` (run once, on the host) builds a fixed
  "checkpoint" from seeded numbers: a synthetic float h_s quantised by
  ref.core.intnet_ptq.quantize_hyper_synthesis into integer parameters, factorized z tables
  from a seeded float density (ref.core.entropy_models.factorized_tables), a seeded integer
  z_hat (1, 4, 6, N) and a float64 latent y (1, 16, 24, M) drawn around the integer path's
  own means and scales.  Both platforms then read the same file: like a shipped checkpoint,
  the integers are made once and every encoder/decoder uses them.  ``encode-core`` writes a
  container (system "core") with the sections of encode_hyperprior; ``decode-core`` writes
  the decoded y_hat / z_hat and the integer indices.
* ``hcf``: the HCF codec with a shipped checkpoint ref/weights/hcf_q<K>.safetensors.  The
  encode is the ordinary CLI (``python -m ref encode --system hcf``); ``decode-hcf`` writes
  y_hat (the latent before g_s, [hcf.4]) and the decoded pixels.

Usage:  python scripts/arm64/cross_decode.py make-core DIR
        python scripts/arm64/cross_decode.py encode-core DIR OUT.cref
        python scripts/arm64/cross_decode.py decode-core DIR IN.cref OUT.npz
        python scripts/arm64/cross_decode.py crop IMAGE OUT.png H W      (host: test image)
        python scripts/arm64/cross_decode.py decode-hcf IN.cref OUT.npz
        python scripts/arm64/cross_decode.py compare DIR [core|hcf]        (host: the verdict)
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import numpy as np

N_CORE, M_CORE, MEAN_GRID, RADIUS, R_Z = 32, 32, 8, 64, 32
Z_SHAPE = (1, 4, 6, N_CORE)      # -> y (1, 16, 24, M)


def _where() -> str:
    from ref.core.runtime import coder_backend

    return f"{platform.machine()} (coder {coder_backend()})"


def _save_npz(path: str, **arrays) -> None:
    np.savez(path, machine=np.array(platform.machine()), **arrays)


# --------------------------------------------------------------------------- core mode
def make_core(d: Path) -> None:
    """Seeded integer 'checkpoint' + fixed inputs -> DIR/core_model.npz (run once)."""
    from ref.core import entropy_models as E
    from ref.core import intnet as I
    from ref.core import intnet_ptq as Q
    from ref.core import tables as T

    d.mkdir(parents=True, exist_ok=True)
    p_float = Q.synthetic_hyper_synthesis(1234, N_CORE, M_CORE)
    calib = Q.synthetic_z_hat(99, (4, 6, 8, N_CORE))
    p_int = Q.quantize_hyper_synthesis(p_float, calib, mean_grid=MEAN_GRID)
    r = np.random.Generator(np.random.PCG64(2026))
    f = (1, 3, 3, 3, 1)
    fact = {"matrices": [r.normal(0.3, 0.5, (N_CORE, f[k + 1], f[k])) for k in range(4)],
            "biases": [r.uniform(-0.5, 0.5, (N_CORE, f[k + 1], 1)) for k in range(4)],
            "factors": [r.normal(0, 0.7, (N_CORE, f[k + 1], 1)) for k in range(3)]}
    ts, off = E.factorized_tables(fact, R_Z)
    z_hat = (off + Q.synthetic_z_hat(7, Z_SHAPE)).astype(np.int64)
    z_hat[0, 0, 0, 0] = off[0] + 3 * R_Z                       # one z escape
    idx = I.int_conditional_indices(p_int, z_hat)
    H, W = 4 * Z_SHAPE[1], 4 * Z_SHAPE[2]
    sidx = np.asarray(idx.scale_idx)[:, :H, :W]
    midx = np.asarray(idx.mean_idx)[:, :H, :W]
    y = midx / MEAN_GRID + T.scale_table()[sidx] * r.standard_normal((1, H, W, M_CORE))
    y[0, 3, 5, 7] = 5.0 * RADIUS                               # one y escape
    tensors = I.int_params_to_tensors(p_int)
    np.savez(d / "core_model.npz", z_freqs=ts.freqs, z_offsets=off, z_hat=z_hat, y=y.astype(np.float64),
             **{k: v for k, v in tensors.items()})
    print(f"core model: N=M={N_CORE}, z_hat {z_hat.shape}, y {y.shape}, R={RADIUS}, R_z={R_Z} -> {d}/core_model.npz")


def _load_core(d: Path):
    from ref.core import intnet as I
    from ref.core.tables import TableSet

    m = dict(np.load(d / "core_model.npz"))
    p_int = I.int_params_from_tensors({k: v for k, v in m.items() if k.startswith("h_s_int.")})
    ts = TableSet(m["z_freqs"], (m["z_freqs"].shape[1] - 2) // 2)
    return m, p_int, ts


def encode_core(d: Path, out: str) -> None:
    from ref.core import container as ctr
    from ref.core import hyperprior as HP

    m, p_int, ts = _load_core(d)
    sections, _ = HP.encode_hyperprior(m["y"], m["z_hat"], ts, m["z_offsets"], HP.int_indices_fn(p_int),
                                       radius=RADIUS)
    data = ctr.pack("core", {"model": "cross_decode"}, [(k, sections[k]) for k in HP.SECTIONS])
    Path(out).write_bytes(data)
    print(f"encode-core on {_where()}: {len(data)} bytes -> {out}")


def decode_core(d: Path, inp: str, out: str) -> None:
    from ref.core import container as ctr
    from ref.core import hyperprior as HP
    from ref.core import intnet as I

    m, p_int, ts = _load_core(d)
    c = ctr.unpack(Path(inp).read_bytes(), expect_system="core")
    y_hat, z_hat = HP.decode_hyperprior(c, ts, m["z_offsets"], HP.int_indices_fn(p_int),
                                        expect_channels=(M_CORE, N_CORE), expect_mean_grid=MEAN_GRID)
    idx = I.int_conditional_indices(p_int, z_hat)
    _save_npz(out, y_hat=y_hat, z_hat=z_hat, scale_idx=np.asarray(idx.scale_idx), mean_idx=np.asarray(idx.mean_idx))
    print(f"decode-core on {_where()}: {inp} -> {out}")


# --------------------------------------------------------------------------- hcf mode
def crop(img: str, out: str, h: int, w: int) -> None:
    from PIL import Image

    a = np.asarray(Image.open(img).convert("RGB"))
    t, l = (a.shape[0] - h) // 2, (a.shape[1] - w) // 2
    Image.fromarray(a[t:t + h, l:l + w]).save(out)
    print(f"crop {h}x{w} of {img} -> {out}")


def decode_hcf(inp: str, out: str) -> None:
    from ref.core import container as ctr
    from ref.hcf import codec

    c = ctr.unpack(Path(inp).read_bytes(), expect_system="hcf")
    y_hat, (level, H, W, C), m = codec.decode_latent(c)
    x_hat = np.asarray(codec._decoder_net(m.params, codec.jnp.asarray(y_hat)))
    pix = codec.to_uint8(x_hat, H, W, C)
    _save_npz(out, y_hat=np.asarray(y_hat), x_hat=x_hat, pixels=pix, level=np.int64(level),
              model=np.array(m.model_id))
    print(f"decode-hcf on {_where()}: {inp} (level {level}, {m.model_id}) -> {out}")


# --------------------------------------------------------------------------- verdict
def _bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        return bool(np.array_equal(a.view(f"u{a.itemsize}"), b.view(f"u{b.itemsize}")))
    return bool(np.array_equal(a, b))


def compare(d: Path, modes=("core", "hcf")) -> int:
    """Every decode of a stream must give a bit-identical latent (and indices) on both platforms;
    pixels (float g_s) are reported with their largest difference.  Exit 1 on any latent mismatch."""
    bad, report = 0, {}
    for mode in modes:
        streams = sorted(d.glob(f"{mode}_enc-*.cref"))
        if not streams:
            continue
        if mode == "core" and len(streams) == 2:
            same = streams[0].read_bytes() == streams[1].read_bytes()
            report[f"core: stream bytes {streams[0].stem} == {streams[1].stem}"] = same
        for s in streams:
            enc = s.stem.split("enc-")[1]
            decs = sorted(d.glob(f"{mode}_enc-{enc}_dec-*.npz"))
            loaded = {p.stem.split("dec-")[1]: np.load(p) for p in decs}
            if len(loaded) < 2:
                report[f"{mode} enc {enc}: decodes"] = f"only {sorted(loaded)}"
                bad += 1
                continue
            (na, a), (nb, b) = sorted(loaded.items())[:2]
            keys = ["y_hat"] + (["z_hat", "scale_idx", "mean_idx"] if mode == "core" else [])
            for k in keys:
                ok = _bits_equal(a[k], b[k])
                report[f"{mode} enc {enc}: {k} dec {na} == dec {nb} (bit-identical)"] = ok
                bad += not ok
            if mode == "hcf":
                dx = float(np.abs(a["x_hat"].astype(np.float64) - b["x_hat"].astype(np.float64)).max())
                dp = int(np.abs(a["pixels"].astype(np.int64) - b["pixels"].astype(np.int64)).max())
                npx = int((a["pixels"] != b["pixels"]).sum())
                report[f"hcf enc {enc}: g_s output max|dec {na} - dec {nb}|"] = dx
                report[f"hcf enc {enc}: uint8 pixels max|diff| (count differing of {a['pixels'].size})"] = f"{dp} ({npx})"
    if not report:
        print(f"nothing to compare in {d}")
        return 2
    for k, v in report.items():
        print(f"  {k}: {v}")
    print("cross_decode: " + ("ALL LATENTS BIT-IDENTICAL" if not bad else f"{bad} MISMATCH(ES)"))
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == "make-core":
        make_core(Path(args[0]))
    elif cmd == "encode-core":
        encode_core(Path(args[0]), args[1])
    elif cmd == "decode-core":
        decode_core(Path(args[0]), args[1], args[2])
    elif cmd == "crop":
        crop(args[0], args[1], int(args[2]), int(args[3]))
    elif cmd == "decode-hcf":
        decode_hcf(args[0], args[1])
    elif cmd == "compare":
        return compare(Path(args[0]), tuple(args[1:]) or ("core", "hcf"))
    else:
        print(f"unknown command {cmd!r}\n{__doc__}")
        return 2
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main(sys.argv[1:]))
