"""Golden vector of the ANS end-of-stream check (spec/core-ans.md [core.ans_bytes], (E1)/(E2)).

One 10-symbol stream, decoded with several requested symbol counts and with damaged
word lists; for each case: 1 if ``finish()`` accepts, 0 if it raises BitstreamError,
2 if the decoder's constructor already rejects the bytes.  It pins both what the end
check rejects (words left over, a nonzero final state) and what it cannot see by
construction (extra trailing 0-symbols read past the end are accepted: they are the
valid encoding of those zeros), which is why systems bound N and check their symbols.
"""

from __future__ import annotations

import numpy as np

from ref.conformance.golden import Vector
from ref.core import ans
from ref.core.errors import BitstreamError

F = np.array([[4 << 20, 6 << 20, 4 << 20, 2 << 20]], dtype=np.uint32)  # the tiny_streams table
SYMBOLS = np.array([3, 2, 2, 1, 1, 0, 0, 0, 0, 3], dtype=np.int32)
# (name, requested symbol count, how the stream is altered)
CASES = (
    ("exact_10", 10, "none"),
    ("ask_9", 9, "none"),
    ("ask_11", 11, "none"),
    ("ask_15", 15, "none"),
    ("extra_word_front", 10, "prepend"),
    ("first_word_dropped", 10, "drop_first"),
    ("last_word_dropped", 10, "drop_last"),
    ("empty_ask_5", 5, "empty"),
    ("empty_ask_0", 0, "empty"),
    ("last_word_zero", 10, "zero_last"),
)


def _alter(stream: bytes, how: str) -> bytes:
    if how == "prepend":
        return b"\x05\x00\x00\x00" + stream
    if how == "drop_first":
        return stream[4:]
    if how == "drop_last":
        return stream[:-4]
    if how == "empty":
        return b""
    if how == "zero_last":
        return stream + b"\x00\x00\x00\x00"
    return stream


def run_end_check(inputs: dict) -> dict:
    stream = bytes(inputs["stream"])
    status = np.zeros(len(CASES), dtype=np.uint8)
    symbols = np.full((len(CASES), 15), -1, dtype=np.int32)
    for i, (_, n, how) in enumerate(CASES):
        try:
            dec = ans.AnsDecoder(_alter(stream, how))
        except BitstreamError:
            status[i] = 2
            continue
        out = dec.pop(inputs["freqs"], np.zeros(n, dtype=np.int32))
        symbols[i, :n] = out
        try:
            dec.finish()
            status[i] = 1
        except BitstreamError:
            status[i] = 0
    return {"status": status, "symbols": symbols}


VECTORS = [
    Vector(
        id="core.ans.end_check",
        equations=("core.ans_bytes", "core.ans"),
        function="ref.core.ans.AnsDecoder.finish",
        make_inputs=lambda: {"freqs": F, "symbols": SYMBOLS,
                             "stream": ans.encode(SYMBOLS, F, np.zeros(10, dtype=np.int32))},
        run=run_end_check,
        description="end-of-stream check (E1)/(E2) on one 10-symbol stream asked for 9/10/11/15 "
                    "symbols and with words added, dropped or zeroed",
        inputs_doc={
            "freqs": "uint32 (1, 4): one table [4Mi, 6Mi, 4Mi, 2Mi] (Mi = 2**20), [core.ans_tables]",
            "symbols": "int32 (10,): the coded symbols, all table 0",
            "stream": "bytes: encode(symbols) by [core.ans] + [core.ans_bytes]",
        },
        outputs_doc={
            "status": "uint8 (10,): per case in the order exact_10, ask_9, ask_11, ask_15, "
                      "extra_word_front (word 5 put before w_0), first_word_dropped, "
                      "last_word_dropped, empty_ask_5, empty_ask_0, last_word_zero (a zero word "
                      "appended): 1 = decoding the requested count then the end check (E1: all "
                      "words read, E2: x = 0) passes; 0 = the end check fails (BitstreamError); "
                      "2 = the decoder start rejects the bytes (a last word of 0). ask_11 / "
                      "ask_15 / empty_ask_5 pass: the extra symbols are 0s popped at x = 0",
            "symbols": "int32 (10, 15): the symbols popped in each case (requested count n: "
                       "columns 0..n-1), -1 elsewhere and for status 2",
        },
    ),
]
