"""Golden vectors of the entropy coder (spec/core-ans.md), ids ``core.ans.<name>``.

Every output is integer-domain and compared EXACT: bitstreams as raw ``.bin``
bytes, decoded symbols as int32.  ``run`` uses ``backend="auto"``, so
``CODECREF_CODER=mirror codecref golden verify --id core.ans`` checks the pure
NumPy mirror (what runs on Linux aarch64) against the same files that
constriction produced.  Inputs are made once by ``make_inputs`` (seeded NumPy
generator, regen only) and stored; verification reads the stored inputs.
"""

from __future__ import annotations

import numpy as np

from ref.core import ans
from ref.core.ans_mirror import TOTAL, cumulative
from ref.core.errors import BitstreamError
from ref.conformance.golden import Vector

_FN = "ref.core.ans.encode_groups"


# ----------------------------------------------------------------------------- inputs
def random_tables(rng: np.random.Generator, n_tables: int, k: int, shape: float = 0.3) -> np.ndarray:
    """Valid random tables uint32 (n_tables, k): gamma(shape) weights quantised to 2**24, all >= 1."""
    w = rng.gamma(shape, size=(n_tables, k)) + 1e-12
    f = np.floor(w / w.sum(axis=1, keepdims=True) * (TOTAL - k)).astype(np.int64) + 1
    f[np.arange(n_tables), np.argmax(f, axis=1)] += TOTAL - f.sum(axis=1)
    return f.astype(np.uint32)


def sample_symbols(rng: np.random.Generator, freqs: np.ndarray, table_idx: np.ndarray) -> np.ndarray:
    """Symbols int32 (N,) drawn from the tables: s with C[t,s] <= u < C[t,s+1], u ~ U{0..2**24-1}."""
    cum = cumulative(freqs)
    u = rng.integers(0, TOTAL, size=table_idx.size)
    out = np.empty(table_idx.size, dtype=np.int32)
    for t in np.unique(table_idx):
        sel = table_idx == t
        out[sel] = np.searchsorted(cum[t], u[sel], side="right") - 1
    return out


def extreme_tables(k: int) -> np.ndarray:
    """Edge-case tables (4, k): one symbol 2**24-k+1 (first / last / middle), and uniform-ish."""
    f = np.ones((4, k), dtype=np.int64)
    f[0, 0] = TOTAL - k + 1
    f[1, k - 1] = TOTAL - k + 1
    f[2, k // 2] = TOTAL - k + 1
    f[3] = TOTAL // k
    f[3, 0] += TOTAL - f[3].sum()
    return f.astype(np.uint32)


def _group(rng, n_tables, k, n, *, shape=0.3, tables=None):
    freqs = random_tables(rng, n_tables, k, shape) if tables is None else tables
    table_idx = rng.integers(0, freqs.shape[0], size=n).astype(np.int32)
    return freqs, table_idx, sample_symbols(rng, freqs, table_idx)


def _inputs_groups(specs) -> dict:
    out = {}
    for g, (freqs, table_idx, symbols) in enumerate(specs):
        out[f"g{g}_freqs"] = freqs
        out[f"g{g}_table_idx"] = table_idx
        out[f"g{g}_symbols"] = symbols
    return out


# ----------------------------------------------------------------------------- runs
def run_groups(inputs: dict, *, groups: int) -> dict:
    """Encode the stored groups into one stream; decode it back (groups in order)."""
    gs = [(inputs[f"g{g}_symbols"], inputs[f"g{g}_freqs"], inputs[f"g{g}_table_idx"]) for g in range(groups)]
    stream = ans.encode_groups(gs)
    dec = ans.AnsDecoder(stream)
    out: dict = {"stream": stream}
    for g, (_, freqs, table_idx) in enumerate(gs):
        out[f"g{g}_decoded"] = dec.pop(freqs, table_idx)
    dec.finish()
    return out


def run_tiny(inputs: dict) -> dict:
    """Degenerate streams: no groups, an empty group, only symbol 0, one and two symbols."""
    f = inputs["freqs"]
    one = np.array([0], dtype=np.int32)
    return {
        "no_groups": ans.encode_groups([]),
        "empty_group": ans.encode(np.zeros(0, np.int32), f, np.zeros(0, np.int32)),
        "zeros": ans.encode(np.zeros(5, np.int32), f, np.zeros(5, np.int32)),
        "one_symbol": ans.encode(np.array([2], np.int32), f, one),
        "two_symbols": ans.encode(np.array([2, 1], np.int32), f, np.array([0, 0], np.int32)),
        "flush": ans.encode(inputs["symbols"], f, np.zeros(inputs["symbols"].size, np.int32)),
    }


def run_order(inputs: dict) -> dict:
    """Coding order of one group (stable sort by table) and its stream."""
    t = inputs["table_idx"]
    return {
        "order": ans.coding_order(t),
        "stream": ans.encode(inputs["symbols"], inputs["freqs"], t),
    }


def run_adapter(inputs: dict) -> dict:
    """The float64 probabilities fed to constriction, and the left boundaries that
    constriction's Categorical(perfect=False) formula computes from them (evaluated
    here in NumPy float64), next to the integer cumulative table they must equal."""
    f = inputs["freqs"]
    p = ans.constriction_probabilities(f)
    return {
        "probabilities": p,
        "formula_left": ans.categorical_fast_left_boundaries(p),
        "cumulative": cumulative(f),
    }


def run_garbage(inputs: dict, *, n_symbols: int) -> dict:
    """Decode arbitrary data: symbols (or -1 where the constructor rejects the data) and
    whether the stream was exactly consumed (1), not consumed (0) or rejected (2)."""
    f = inputs["freqs"]
    t = (np.arange(n_symbols) % f.shape[0]).astype(np.int32)
    blobs = [inputs[f"data{i}"] for i in range(sum(k.startswith("data") for k in inputs))]
    symbols = np.full((len(blobs), n_symbols), -1, dtype=np.int32)
    status = np.full(len(blobs), 2, dtype=np.uint8)
    for i, blob in enumerate(blobs):
        try:
            dec = ans.AnsDecoder(blob)
        except BitstreamError:
            continue
        symbols[i] = dec.pop(f, t)
        try:
            dec.finish()
            status[i] = 1
        except BitstreamError:
            status[i] = 0
    return {"symbols": symbols, "status": status}


# ----------------------------------------------------------------------------- make inputs
def _make_single():
    rng = np.random.default_rng(20261122)
    return _inputs_groups([_group(rng, 1, 256, 3000)])


def _make_groups():
    rng = np.random.default_rng(7)
    return _inputs_groups([
        _group(rng, 8, 16, 1500),                      # interleaved tables: model-family path
        _group(rng, 1, 2, 600, shape=1.0),             # binary alphabet
        _group(rng, 64, 256, 2000),                    # 64 tables, runs of ~31 per table
        _group(rng, 3, 4096, 700, shape=0.1),          # large alphabet, peaky tables
    ])


def _make_extreme():
    rng = np.random.default_rng(11)
    specs = []
    for k in (2, 3, 4096):
        f = extreme_tables(k)
        t = rng.integers(0, 4, size=400).astype(np.int32)
        s = sample_symbols(rng, f, t)
        rare = rng.random(400) < 0.25                  # force rare symbols, incl. both ends
        s[rare] = rng.integers(0, k, size=int(rare.sum()))
        specs.append((f, t, s))
    f = np.full((1, 1 << 16), TOTAL >> 16, dtype=np.uint32)   # K = 2**16, uniform (256 each)
    t = np.zeros(300, dtype=np.int32)
    specs.append((f, t, rng.integers(0, 1 << 16, size=300).astype(np.int32)))
    return _inputs_groups(specs)


def _make_tiny():
    f = np.array([[1 << 22, 3 << 21, 1 << 22, 1 << 21]], dtype=np.uint32)   # K=4: 4Mi, 6Mi, 4Mi, 2Mi (sum 2**24)
    rng = np.random.default_rng(3)
    return {"freqs": f, "symbols": rng.integers(0, 4, size=40).astype(np.int32)}


def _make_order():
    f = random_tables(np.random.default_rng(5), 3, 8, shape=1.0)
    t = np.array([2, 0, 1, 0, 2, 2, 1, 0, 0, 1], dtype=np.int32)
    s = np.array([7, 0, 3, 1, 4, 5, 6, 2, 0, 3], dtype=np.int32)
    return {"freqs": f, "table_idx": t, "symbols": s}


def _make_adapter():
    rng = np.random.default_rng(13)
    return {"freqs": np.concatenate([random_tables(rng, 6, 64, 0.2), extreme_tables(64)])}


def _make_garbage():
    rng = np.random.default_rng(17)
    f = np.concatenate([random_tables(rng, 2, 16), extreme_tables(16)[:2]])
    return {
        "freqs": f,
        "data0": rng.integers(0, 256, size=64, dtype=np.uint8).tobytes(),   # random words
        "data1": bytes(range(1, 9)),                                        # two small words
        "data2": rng.integers(0, 256, size=40, dtype=np.uint8).tobytes() + b"\0\0\0\0",  # last word 0
        "data3": b"\x01\x02\x03",                                           # not whole words
        # a real encoding of 24 symbols (table j mod 4), so that status 1 is exercised
        "data4": ans.encode(sample_symbols(rng, f, np.arange(24, dtype=np.int32) % 4), f,
                            np.arange(24, dtype=np.int32) % 4),
    }


def _group_docs(n: int) -> tuple[dict, dict]:
    """inputs_doc, outputs_doc of a run_groups vector with n groups."""
    ins, outs = {}, {}
    for g in range(n):
        ins[f"g{g}_freqs"] = (f"uint32 (T, K): the frequency tables of group {g} ([core.ans_tables]: "
                              "every entry >= 1, every row sums to 2**24)")
        ins[f"g{g}_table_idx"] = f"int32 (N,): table index in [0, T) of each symbol of group {g}"
        ins[f"g{g}_symbols"] = f"int32 (N,): the symbols of group {g} in caller order, each in [0, K)"
        outs[f"g{g}_decoded"] = (f"int32 (N,): group {g} popped from the stream after groups 0..{g - 1} "
                                 "([core.ans_order]: pops in stable table order, returned in caller "
                                 f"order); equals g{g}_symbols; after the last group the end check of "
                                 "[core.ans_bytes] holds")
    outs = {"stream": ("[core.ans] / [core.ans_bytes] bytes of encode_groups over groups 0.."
                       f"{n - 1}: the encoder starts at x = 0 and pushes group {n - 1} first and group "
                       "0 last, inside a group in reverse [core.ans_order] (pi[N-1] first); then the "
                       "final flush; 32-bit words little-endian"), **outs}
    return ins, outs


_GROUP_PARAM_DOC = {"groups": "number of groups g0..g{groups-1} in the stored inputs (one stream)"}
_TINY_FREQ = "uint32 (1, 4): one table f = [4Mi, 6Mi, 4Mi, 2Mi] (Mi = 2**20), so C = [0, 4Mi, 10Mi, 14Mi, 16Mi]"


VECTORS = [
    Vector(
        id="core.ans.single_k256",
        equations=("core.ans", "core.ans_bytes", "core.ans_tables"),
        function=_FN,
        make_inputs=_make_single,
        run=run_groups,
        params={"groups": 1},
        description="one table, K=256, 3000 symbols drawn from it",
        params_doc=_GROUP_PARAM_DOC,
        inputs_doc=_group_docs(1)[0],
        outputs_doc=_group_docs(1)[1],
    ),
    Vector(
        id="core.ans.groups_mixed",
        equations=("core.ans", "core.ans_order", "core.ans_bytes", "core.ans_tables", "core.ans_adapter"),
        function=_FN,
        make_inputs=_make_groups,
        run=run_groups,
        params={"groups": 4},
        description="four groups in one stream: K=16/8 tables, K=2, K=256/64 tables, K=4096/3 tables",
        params_doc=_GROUP_PARAM_DOC,
        inputs_doc=_group_docs(4)[0],
        outputs_doc=_group_docs(4)[1],
    ),
    Vector(
        id="core.ans.extreme_tables",
        equations=("core.ans", "core.ans_tables", "core.ans_adapter"),
        function=_FN,
        make_inputs=_make_extreme,
        run=run_groups,
        params={"groups": 4},
        description="one symbol at 2**24-K+1 and the rest 1 (K=2, 3, 4096), and K=2**16 uniform",
        params_doc=_GROUP_PARAM_DOC,
        inputs_doc=_group_docs(4)[0],
        outputs_doc=_group_docs(4)[1],
    ),
    Vector(
        id="core.ans.tiny_streams",
        equations=("core.ans", "core.ans_bytes"),
        function=_FN,
        make_inputs=_make_tiny,
        run=run_tiny,
        description="empty streams, only-zero symbols (0 bytes), 1-2 symbols, first flush",
        inputs_doc={"freqs": _TINY_FREQ,
                    "symbols": "int32 (40,): symbols in [0, 4); used only by output 'flush'"},
        outputs_doc={
            "no_groups": "[core.ans_bytes] stream of encode_groups([]) (no group at all): 0 bytes",
            "empty_group": "stream of one group of 0 symbols with freqs: 0 bytes",
            "zeros": "stream of one group of 5 symbols [0, 0, 0, 0, 0], all table 0: x stays 0 ([core.ans]), 0 bytes",
            "one_symbol": "stream of one group [2] (table 0): x = 0xA00000, bytes 00 00 a0 00 (worked example of [core.ans_bytes])",
            "two_symbols": "stream of one group [2, 1] in caller order, both table 0: push 1 then 2, x = 0x1A00000, bytes 00 00 a0 01",
            "flush": "stream of one group = the 40 input symbols, all table 0, in caller order: pushes with word emission, then the final flush of the 64-bit state as its nonzero 32-bit chunks, least significant first ([core.ans_bytes])",
        },
    ),
    Vector(
        id="core.ans.order",
        equations=("core.ans_order",),
        function="ref.core.ans_mirror.coding_order",
        make_inputs=_make_order,
        run=run_order,
        description="10 symbols over 3 interleaved tables: coding permutation and stream",
        inputs_doc={"freqs": "uint32 (3, 8): three tables ([core.ans_tables])",
                    "table_idx": "int32 (10,): table of each symbol, interleaved [2, 0, 1, 0, 2, 2, 1, 0, 0, 1]",
                    "symbols": "int32 (10,): the symbols in caller order"},
        outputs_doc={"order": "int64 (10,): pi = stable ascending argsort of table_idx ([core.ans_order]); the decoder pops symbol pi[0] first",
                     "stream": "[core.ans_bytes] bytes of the one-group encoding of symbols (pushed pi[9] first, pi[0] last) with tables freqs[table_idx]"},
    ),
    Vector(
        id="core.ans.adapter_probabilities",
        equations=("core.ans_adapter", "core.ans_tables"),
        function="ref.core.ans.constriction_probabilities",
        make_inputs=_make_adapter,
        run=run_adapter,
        description="p = f - 1 (float64) and constriction's fast-quantisation formula == integer cumsum",
        inputs_doc={"freqs": "uint32 (10, 64): 6 random tables and 4 extreme ones (one symbol 2**24-63, others 1; and near-uniform), [core.ans_tables]"},
        outputs_doc={"probabilities": "float64 (10, 64): p = f - 1 per entry, exact ([core.ans_adapter])",
                     "formula_left": "int64 (10, 65): constriction's quantisation of p evaluated in float64 ([core.ans_adapter]): S = running left-to-right float64 sum of p, C'[s] = floor(S_s * ((2**24 - 64) / S_64)) + s for s < 64 (the float64 quotient computed first, then the product), C'[64] = 2**24",
                     "cumulative": "int64 (10, 65): the integer cumulative table C[t, s] = f[t, 0] + ... + f[t, s-1], C[t, 64] = 2**24 ([core.ans_tables]); equals formula_left"},
    ),
    Vector(
        id="core.ans.decode_garbage",
        equations=("core.ans", "core.ans_bytes"),
        function="ref.core.ans.AnsDecoder",
        make_inputs=_make_garbage,
        run=run_garbage,
        params={"n_symbols": 24},
        description="decoding arbitrary data is deterministic: symbols and consumed/rejected status",
        params_doc={"n_symbols": "number of symbols popped from each input (one group, symbol j uses table j mod 4)"},
        inputs_doc={"freqs": "uint32 (4, 16): tables 0-1 random, tables 2-3 extreme (one symbol 2**24-15, others 1)",
                    "data0": "64 random bytes (16 words; decodable)",
                    "data1": "8 bytes 01 02 .. 08: two small words (decodable)",
                    "data2": "40 random bytes then a zero word: rejected at decoder start (last word 0)",
                    "data3": "3 bytes: rejected at decoder start (not a multiple of 4)",
                    "data4": "a valid [core.ans] encoding of 24 symbols drawn from the tables (table j mod 4) with encode: exactly consumed"},
        outputs_doc={"symbols": "int32 (5, 24): row i = the n_symbols symbols popped from data<i> as one group with table_idx[j] = j mod 4, decoded per [core.ans] in [core.ans_order] (stable table order: j = 0, 4, 8, ... of table 0 first) and returned in index order j; a row of -1 when data<i> is rejected at decoder start ([core.ans_bytes])",
                     "status": "uint8 (5,): per input, 2 = rejected at decoder start (byte count not a multiple of 4, or last word 0), 1 = decoded and the end check of [core.ans_bytes] passed (no unread word and x = 0), 0 = decoded but the end check failed; here [0, 0, 2, 2, 1]"},
    ),
]
