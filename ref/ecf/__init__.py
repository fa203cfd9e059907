"""eContextformer (paper 003): spatio-channel window-attention context model (spec/ecf.md).

Part 1 (this package today): group masks (checkered + channel grouping, sfo / cfo), segment
generator, Swin-style window attention with spatio-channel relative bias, the context model
(W-SCA / SW-SCA layers), EGR, SFG and the key-value cached decoder, proven equivalent to the
single-pass masked forward.  Not yet here: g_a / g_s / g_e, training, real coding, CLI.
"""
