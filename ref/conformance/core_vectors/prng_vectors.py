"""Golden vectors for the PRNG (spec/core-prng.md).  All EXACT (integer domain;
uniform01 floats are exact multiples of 2**-24)."""

from __future__ import annotations

import numpy as np

from ref.conformance.golden import Vector
from ref.core.prng import Pcg32, derive, derive_seed


def _state(rng: Pcg32) -> np.ndarray:
    return np.array([rng.state, rng.inc], dtype=np.uint64)


def _stream(inputs, seed: int, stream: int, count: int) -> dict:
    rng = Pcg32(seed, stream)
    seeded = _state(rng)
    out = rng.u32_array(count)
    return {"seeded_state_inc": seeded, "u32": out, "final_state_inc": _state(rng)}


def _bounded(inputs, seed: int, stream: int) -> dict:
    rng = Pcg32(seed, stream)
    bounds = inputs["bounds"]
    vals = np.array([rng.bounded(int(n)) for n in bounds], dtype=np.uint32)
    return {"values": vals, "final_state_inc": _state(rng)}


def _bounded_array(inputs, seed: int, stream: int, n: int, count: int) -> dict:
    rng = Pcg32(seed, stream)
    return {"values": rng.bounded_array(n, count), "final_state_inc": _state(rng)}


def _advance(inputs, seed: int, stream: int) -> dict:
    states = []
    firsts = []
    for d in inputs["deltas"]:
        rng = Pcg32(seed, stream)
        rng.advance(int(d))
        states.append(rng.state)
        firsts.append(rng.next_u32())
    return {"state_after": np.array(states, dtype=np.uint64),
            "next_u32": np.array(firsts, dtype=np.uint32)}


def _uniform(inputs, seed: int, stream: int, count: int) -> dict:
    rng = Pcg32(seed, stream)
    return {"uniform01": rng.uniform01_array(count), "final_state_inc": _state(rng)}


DERIVE_CASES = [
    [],
    [0],
    [1],
    ["easz"],
    ["easz", "mask", 3],
    ["hcf", "policy", 0, "hop", 2],
    ["ab"],
    ["a", "b"],
    ["größe ✓"],
    [18446744073709551615],
]


def _derive(inputs, seed: int, cases: list) -> dict:
    seeds = np.array([derive_seed(seed, *c) for c in cases], dtype=np.uint64)
    firsts = np.stack([derive(seed, *c).u32_array(4) for c in cases])
    return {"derived_seed": seeds, "first4_stream0": firsts}


def _demo(inputs, seed: int, stream: int) -> dict:
    """Round 1 of O'Neill's pcg32-demo / check-pcg32 transcript."""
    rng = Pcg32(seed, stream)
    u32 = rng.u32_array(6)
    rng.advance(-6)                                   # "Again:" line of check-pcg32
    again = rng.u32_array(6)
    coins = np.array([rng.bounded(2) for _ in range(65)], dtype=np.uint32)
    rolls = np.array([rng.bounded(6) + 1 for _ in range(33)], dtype=np.uint32)
    cards = list(range(52))
    for i in range(52, 1, -1):
        chosen = rng.bounded(i)
        cards[chosen], cards[i - 1] = cards[i - 1], cards[chosen]
    return {"u32": u32, "again": again, "coins": coins, "rolls": rolls,
            "cards": np.array(cards, dtype=np.uint32), "final_state_inc": _state(rng)}


_SEED = "u64 seed (initstate) of Pcg32(seed, stream), [core.prng_seed]"
_STREAM = "u64 stream (initseq) of Pcg32(seed, stream), [core.prng_seed]"
_FINAL = "uint64 (2,): [state, inc] of the generator after all the draws above"
_SEEDED = "uint64 (2,): [state, inc] right after seeding Pcg32(seed, stream) ([core.prng_seed])"


VECTORS = [
    Vector(
        id="core.prng.demo_seed42_stream54",
        equations=("core.prng_seed", "core.prng_next", "core.prng_bounded", "core.prng_advance"),
        function="ref.core.prng.Pcg32",
        description="Round 1 of pcg32-demo (seed 42, stream 54): 6 outputs, rewind by 6 and again, "
                    "65 coins bounded(2), 33 dice bounded(6)+1, Fisher-Yates shuffle of 52 cards "
                    "with bounded(i), i = 52..2 (card c: rank c // 4, suit c % 4)",
        make_inputs=lambda: {},
        run=_demo,
        params={"seed": 42, "stream": 54},
        params_doc={"seed": _SEED, "stream": _STREAM},
        outputs_doc={
            "u32": "uint32 (6,): the first 6 [core.prng_next] outputs after seeding",
            "again": "uint32 (6,): advance(-6) ([core.prng_advance], delta 2**64-6) rewinds the generator; the next 6 outputs (= u32)",
            "coins": "uint32 (65,): then 65 draws bounded(2) ([core.prng_bounded]), in order",
            "rolls": "uint32 (33,): then 33 values bounded(6) + 1",
            "cards": "uint32 (52,): then a Fisher-Yates shuffle of cards = [0, 1, ..., 51]: for i = 52, 51, ..., 2: j = bounded(i); swap cards[j] and cards[i-1] (j may equal i-1); the array after the last swap (card c: rank c // 4, suit c % 4)",
            "final_state_inc": _FINAL,
        },
    ),
    Vector(
        id="core.prng.stream_seed42_stream54_n1000",
        equations=("core.prng_seed", "core.prng_next"),
        function="ref.core.prng.Pcg32.u32_array",
        description="state/inc after seeding, first 1000 outputs, state/inc after them",
        make_inputs=lambda: {},
        run=_stream,
        params={"seed": 42, "stream": 54, "count": 1000},
        params_doc={"seed": _SEED, "stream": _STREAM, "count": "number of outputs"},
        outputs_doc={"seeded_state_inc": _SEEDED,
                     "u32": "uint32 (count,): the first count [core.prng_next] outputs after seeding",
                     "final_state_inc": _FINAL},
    ),
    Vector(
        id="core.prng.stream_extreme_seeds",
        equations=("core.prng_seed", "core.prng_next"),
        function="ref.core.prng.Pcg32.u32_array",
        description="seed 2**64-1, stream 2**64-1 (top stream bit discarded): 257 outputs",
        make_inputs=lambda: {},
        run=_stream,
        params={"seed": 18446744073709551615, "stream": 18446744073709551615, "count": 257},
        params_doc={"seed": _SEED + "; here 2**64-1", "stream": _STREAM + "; here 2**64-1 (the top bit is shifted out of inc)",
                    "count": "number of outputs"},
        outputs_doc={"seeded_state_inc": _SEEDED,
                     "u32": "uint32 (count,): the first count [core.prng_next] outputs after seeding",
                     "final_state_inc": _FINAL},
    ),
    Vector(
        id="core.prng.bounded_mixed",
        equations=("core.prng_bounded",),
        function="ref.core.prng.Pcg32.bounded",
        description="one bounded(n) per input bound, in order (includes n = 1, 2**31 + 1, 2**32 - 1)",
        make_inputs=lambda: {"bounds": np.array(
            [1, 2, 3, 6, 7, 52, 1000, 65536, 100003, 2**31 - 1, 2**31, 2**31 + 1,
             3_000_000_000, 2**32 - 1] * 8, dtype=np.uint32)},
        run=_bounded,
        params={"seed": 7, "stream": 3},
        params_doc={"seed": _SEED, "stream": _STREAM},
        inputs_doc={"bounds": "uint32 (112,): the bound n of each draw (14 values, 1 .. 2**32-1, repeated 8 times)"},
        outputs_doc={"values": "uint32 (112,): one generator Pcg32(seed, stream); values[i] = bounded(bounds[i]) ([core.prng_bounded]) drawn in order i = 0, 1, ... (each call may consume several outputs)",
                     "final_state_inc": _FINAL},
    ),
    Vector(
        id="core.prng.bounded_array_2pow31p1",
        equations=("core.prng_bounded",),
        function="ref.core.prng.Pcg32.bounded_array",
        description="1000 draws of bounded(2**31 + 1) (rejects ~half the outputs)",
        make_inputs=lambda: {},
        run=_bounded_array,
        params={"seed": 2026, "stream": 11, "n": 2**31 + 1, "count": 1000},
        params_doc={"seed": _SEED, "stream": _STREAM, "n": "the bound of every draw", "count": "number of draws"},
        outputs_doc={"values": "uint32 (count,): count successive draws bounded(n) ([core.prng_bounded]) from Pcg32(seed, stream); threshold = 2**32 mod n, so about half the outputs are rejected",
                     "final_state_inc": _FINAL},
    ),
    Vector(
        id="core.prng.advance_deltas",
        equations=("core.prng_advance",),
        function="ref.core.prng.Pcg32.advance",
        description="state after advance(delta) from the seeded state, and the next output; "
                    "deltas are u64 (2**64 - 6 == -6 steps back)",
        make_inputs=lambda: {"deltas": np.array(
            [0, 1, 2, 6, 1000, 123456789, 2**32, 2**63, 2**64 - 6, 2**64 - 1], dtype=np.uint64)},
        run=_advance,
        params={"seed": 42, "stream": 54},
        params_doc={"seed": _SEED, "stream": _STREAM},
        inputs_doc={"deltas": "uint64 (10,): jump distances, read mod 2**64 (2**64 - 6 is 6 steps back)"},
        outputs_doc={"state_after": "uint64 (10,): for each delta independently (not cumulative): a fresh Pcg32(seed, stream), then advance(delta) ([core.prng_advance]); the state after the jump",
                     "next_u32": "uint32 (10,): the [core.prng_next] output drawn right after that jump (for delta < 2**63: the (delta+1)-th output of the fresh generator; for delta = 2**64 - k: the output k steps before its first one)"},
    ),
    Vector(
        id="core.prng.uniform01_n256",
        equations=("core.prng_uniform01",),
        function="ref.core.prng.Pcg32.uniform01_array",
        description="(u32 >> 8) * 2**-24 as float64 (exact)",
        make_inputs=lambda: {},
        run=_uniform,
        params={"seed": 5, "stream": 0, "count": 256},
        params_doc={"seed": _SEED, "stream": _STREAM, "count": "number of values"},
        outputs_doc={"uniform01": "float64 (count,): (next_u32() >> 8) * 2**-24 ([core.prng_uniform01]) for count successive outputs; exact",
                     "final_state_inc": _FINAL},
    ),
    Vector(
        id="core.prng.derive_seed_cases",
        equations=("core.prng_derive",),
        function="ref.core.prng.derive_seed",
        description="derive_seed(1234, *labels) for each label list in params.cases, and the "
                    "first 4 outputs of Pcg32(that seed, stream 0)",
        make_inputs=lambda: {},
        run=_derive,
        params={"seed": 1234, "cases": DERIVE_CASES},
        params_doc={"seed": "u64 parent seed of derive_seed ([core.prng_derive])",
                    "cases": "list of label lists; a label is a JSON integer (u64, encoded 0x00 + 8 bytes LE) or a JSON string (UTF-8, encoded 0x01 + u32le length + bytes)"},
        outputs_doc={"derived_seed": "uint64 (10,): derive_seed(seed, *cases[i]) ([core.prng_derive]) for each case i",
                     "first4_stream0": "uint32 (10, 4): the first 4 [core.prng_next] outputs of Pcg32(derived_seed[i], 0)"},
    ),
]
