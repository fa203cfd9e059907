"""WaLLoC / LiVeAction machine-oriented codec (paper 002), ``moc`` for short.

Encoder side (cheap, runs on the sensor):

    x --wpt_forward--> WPT coefficients --bottleneck--> latent --compand--> quantize --> uint8
                                                                                  |
                                        mosaic + lossless WebP/PNG, or core ANS <--

Decoder side (expensive, runs in the cloud): dequantise -> expand -> ViT decoder
(:mod:`ref.moc.decoder`) -> WPT coefficients -> ``wpt_inverse``.

Modules: :mod:`config` (``MocConfig``), :mod:`wpt` (N-D wavelet packet transform),
:mod:`bottleneck` (dense and structured 1x1 projections), :mod:`companding`
(Gaussian-CDF companding and 8-bit quantisation), :mod:`packing` (mosaic, lossless
WebP/PNG, ANS), :mod:`codec` (whole encode/decode), :mod:`cli` (``codecref`` plug-in).
Normative text: ``spec/moc.md``.
"""

from ref.core import runtime as _runtime

_runtime.configure_jax()  # float64 reference paths need jax_enable_x64
