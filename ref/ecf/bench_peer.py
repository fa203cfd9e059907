"""Peer timing for ``codecref bench ecf`` -- runs under the PEER's interpreter.

Executed as a script by :mod:`ref.ecf.bench` with ``CODECREF_PEER_PYTHON`` (default
/work/peers-venv/bin/python); it must not import ``ref``.  Times one CompressAI 1.2.8 model
(PyTorch CPU, random weights, ``update(force=True)``, its C++ rANS) on a uint8 image given
as a .npy file: ``compress`` and ``decompress`` (the whole decode: entropy decoding, context
and entropy parameters, g_s), and prints one JSON line.

Models: ``elic2022-chandelier`` = ``Elic2022Chandelier()`` (N = 192, M = 320, checkerboard +
uneven channel groups: the structure eContextformer's groups follow); ``mbt2018-mean`` =
``MeanScaleHyperprior(128, 192)`` (the zoo's mbt2018-mean at qualities 1-4; no context model).
torchvision cannot be imported next to the CPU torch wheel here; compressai only needs
``torchvision.transforms`` for a name registry, so both are stubbed.
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


def build(name):
    from compressai.models import Elic2022Chandelier, MeanScaleHyperprior

    if name == "elic2022-chandelier":
        return Elic2022Chandelier(), "Elic2022Chandelier(N=192, M=320)"
    if name == "mbt2018-mean":
        return MeanScaleHyperprior(128, 192), "MeanScaleHyperprior(128, 192) (zoo mbt2018-mean q1-4)"
    raise SystemExit(f"unknown peer model {name!r}")


def main():
    path, name, repeat, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    warmup = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    _stub_torchvision()
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    import compressai

    img = np.load(path)
    x = torch.from_numpy(img.astype(np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()
    torch.manual_seed(0)
    net, desc = build(name)
    net = net.eval()
    net.update(force=True)
    out = {"peer": f"compressai {compressai.__version__} {desc}", "torch": torch.__version__,
           "threads": torch.get_num_threads()}
    with torch.no_grad():
        enc = net.compress(x)
        out["bytes"] = sum(len(s[0]) for s in enc["strings"])
        t_enc = _times(lambda: net.compress(x), repeat, warmup)
        t_dec = _times(lambda: net.decompress(enc["strings"], enc["shape"]), repeat, warmup)
    ms = lambda ts: [round(t * 1e3, 2) for t in ts]  # noqa: E731
    out.update(encode_ms=ms(t_enc), decode_ms=ms(t_dec))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
