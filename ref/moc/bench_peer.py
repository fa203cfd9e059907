"""Peer timing for ``codecref bench moc`` -- runs under the PEER's interpreter.

Executed as a script by :mod:`ref.moc.bench` with ``CODECREF_PEER_PYTHON`` (default
/work/peers-venv/bin/python): it must not import ``ref``.  It times walloc 1.2.1
(PyTorch) on a float32 image given as a .npy file, with random weights of the RGB_16x
configuration (pretrained weights live on a model hub that is unreachable here), and
prints one JSON line.  torchvision cannot be imported next to the CPU torch wheel here,
so the two names walloc imports from it are stubbed.
"""

import json
import statistics
import sys
import time
import types


def _stub_torchvision():
    tv = types.ModuleType("torchvision")
    tr = types.ModuleType("torchvision.transforms")

    class _NotAvailable:  # walloc only uses these in PIL helpers we do not call
        def __init__(self, *a, **k):
            raise RuntimeError("torchvision stubbed by codecref bench")

    tr.ToPILImage = _NotAvailable
    tr.PILToTensor = _NotAvailable
    tv.transforms = tr
    sys.modules.setdefault("torchvision", tv)
    sys.modules.setdefault("torchvision.transforms", tr)


def _median_ms(fn, repeat, warmup=2):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3


def main():
    path, repeat, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    import io

    import diffusers.models.autoencoders  # noqa: F401  (before the stub: diffusers probes torchvision)
    _stub_torchvision()

    import numpy as np
    import torch

    torch.set_num_threads(threads)
    from walloc import walloc
    from PIL import Image

    x = torch.from_numpy(np.load(path)).permute(2, 0, 1)[None].contiguous()  # (1, 3, H, W)
    torch.manual_seed(0)
    codec = walloc.Codec2D(channels=3, J=3, Ne=None, Nd=768, latent_dim=12, latent_bits=8,
                           lightweight_encode=True).eval()
    out = {"peer": "walloc 1.2.1", "torch": torch.__version__, "threads": torch.get_num_threads()}
    with torch.no_grad():
        out["wpt_ms"] = _median_ms(lambda: codec.wavelet_analysis(x, J=3), repeat)
        X = codec.wavelet_analysis(x, J=3)
        out["projection_quantize_ms"] = _median_ms(lambda: codec.encoder(X), repeat)

        def encode():
            z = codec.encoder(codec.wavelet_analysis(x, J=3))
            lat = walloc.to_bytes(z, 8)
            mos = walloc.concatenate_channels(lat, 3)[0].numpy()
            buf = io.BytesIO()
            Image.fromarray(mos, mode="RGB").save(buf, format="WEBP", lossless=True)
            return buf.getvalue()

        out["encode_ms"] = _median_ms(encode, repeat)
        out["webp_bytes"] = len(encode())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
