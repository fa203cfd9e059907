"""Golden vector of the cascade's training latent (id ``hcf.train_policy.tiny``;
spec/hcf-cascade.md hcf.train_policy).

Three tiny base-codec levels (N = M = 8, seeded random float weights, ref.hcf.cascade_vectors'
construction), seeded random φ pairs for k = 3, 2, a fixed source latent ỹ^3 of four crops
and the four policy prefixes (π_3, π_2) ∈ {0, 1}²: ỹ^1 per crop, with the transmissions in
the training form of hcf.C21 (float h_s, mean snapped to the 1/8 grid).

Regenerate: ``codecref golden regen --id hcf.train_policy --write``.
"""

from __future__ import annotations

import numpy as np

from ref.conformance.golden import Vector, allclose
from ref.hcf.cascade_vectors import TINY_M, _flat, _tiny_level, _unflat

F32 = np.float32
S, K = 3, 1


def _make():
    import jax

    from ref.hcf.transform import init_cascade_modules

    inputs = {"y_s": np.random.default_rng(21).normal(0.0, 3.0, (4, 4, 4, TINY_M)).astype(F32),
              "bits": np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.int32)}
    for k in (3, 2):
        p, _ = _tiny_level(k)
        _flat(f"L{k}/hyper/", p["hyper"], inputs)
    mods = init_cascade_modules(jax.random.key(32), {k: TINY_M for k in (1, 2, 3)}, S, K)
    for k, pair in mods.items():
        _flat(f"phi{k}/", pair, inputs)
    return inputs


def _run(inputs):
    import jax.numpy as jnp

    from ref.hcf.cascade import training_transmit
    from ref.hcf.cascade_train import training_latent

    hyper = {k: _unflat(inputs, f"L{k}/hyper/") for k in (3, 2)}
    mods = {k: _unflat(inputs, f"phi{k}/") for k in (3, 2)}
    y = training_latent(jnp.asarray(inputs["bits"]), jnp.asarray(inputs["y_s"]), S, K, mods,
                        training_transmit(hyper))
    return {"y_k": np.asarray(y, F32)}


VECTORS = [
    Vector(
        id="hcf.train_policy.tiny",
        equations=("hcf.train_policy", "hcf.9", "hcf.6", "hcf.7", "hcf.C21"),
        function="ref.hcf.cascade_train.training_latent",
        make_inputs=_make,
        run=lambda inputs: _run(inputs),
        rules={"y_k": allclose(1e-4, 1e-4)},
        description="training latent ỹ^1 of a tiny 3 -> 1 cascade for four crops, one policy prefix each",
        inputs_doc={"y_s": "float32 (4, 4, 4, 8): source latents ỹ^3 = g_a^3(x) of four crops (N(0, 3^2) samples)",
                    "bits": "int32 (4, 2): row b = (π_3(b), π_2(b)), the policy prefix of crop b "
                            "([hcf.train_policy]); all four prefixes",
                    "L?/hyper/*": "float32 hyperprior params of levels k = 3, 2 (L<k>/hyper/h_a, h_s, z_prior; "
                                  "lists as 0, 1, ...; [core.hp_analysis], [core.hp_synthesis])",
                    "phi?/*": "float32 φ params of level pair (k, k-1), k = 3, 2: phi<k>/inter/<path>, "
                              "phi<k>/intra/<path> ([hcf.C20]; paths as hcf.cascade.phi_tiny)"},
        outputs_doc={"y_k": "float32 (4, 4, 4, 8): row b = F^π_{3->1}(y_s[b]) ([hcf.9]) with π_3 = bits[b, 0], "
                            "π_2 = bits[b, 1]: level j = 3 then 2, π_j = 1: φ^inter_j(Q^j(y)) ([hcf.6]) with Q^j "
                            "the training form of [hcf.C21] (z^ = round(h_a^j(y)), mean from the float h_s^j, "
                            "μ_g = round(8 mean)/8, ŷ = round(y − μ_g) + μ_g); π_j = 0: φ^intra_j(y) ([hcf.7])"},
    ),
]
