"""Peer timing for ``codecref bench hcf speed`` -- runs under the PEER's interpreter.

Executed as a script by :mod:`ref.hcf.bench` with ``CODECREF_PEER_PYTHON`` (default
/work/peers-venv/bin/python); it must not import ``ref``.  Times CompressAI 1.2.8's
``MeanScaleHyperprior(N, M)`` (PyTorch CPU, random weights, ``update(force=True)``, its C++
rANS) on a uint8 image given as a .npy file: ``compress`` (g_a, h_a, entropy bottleneck,
h_s, Gaussian conditional) and ``decompress`` (entropy decoding, h_s, g_s), and prints one
JSON line.  torchvision cannot be imported next to the CPU torch wheel here; compressai
only needs ``torchvision.transforms`` for a name registry, so both are stubbed.
"""

import json
import sys
import time
import types


def _stub_torchvision():
    tv = types.ModuleType("torchvision")
    tr = types.ModuleType("torchvision.transforms")
    tv.transforms = tr
    sys.modules.setdefault("torchvision", tv)
    sys.modules.setdefault("torchvision.transforms", tr)


def _times(fn, repeat, warmup=1):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return ts


def main():
    path, N, M, repeat, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    _stub_torchvision()
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    import compressai
    from compressai.models import MeanScaleHyperprior

    img = np.load(path)
    x = torch.from_numpy(img.astype(np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()
    torch.manual_seed(0)
    net = MeanScaleHyperprior(N, M).eval()
    net.update(force=True)
    out = {"peer": f"compressai {compressai.__version__} MeanScaleHyperprior({N}, {M})", "torch": torch.__version__,
           "threads": torch.get_num_threads()}
    with torch.no_grad():
        enc = net.compress(x)
        out["bytes"] = sum(len(s[0]) for s in enc["strings"])
        t_enc = _times(lambda: net.compress(x), repeat)
        t_dec = _times(lambda: net.decompress(enc["strings"], enc["shape"]), repeat)
        y_hat = net.gaussian_conditional.dequantize(
            net.gaussian_conditional.quantize(net.g_a(x), "symbols"))
        t_gs = _times(lambda: net.g_s(y_hat), repeat)
        t_ga = _times(lambda: net.g_a(x), repeat)
    ms = lambda ts: [round(t * 1e3, 2) for t in ts]  # noqa: E731
    out.update(encode_ms=ms(t_enc), decode_ms=ms(t_dec), g_a_ms=ms(t_ga), g_s_ms=ms(t_gs))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
