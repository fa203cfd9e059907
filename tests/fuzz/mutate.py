"""The seeded mutator: case i of a campaign is a pure function of (campaign seed, i).

Three families, in equal shares:

* ``raw``   -- byte-level damage to the whole file (bit flips, byte overwrites with
               random or boundary values, truncation, extension, insertion, deletion,
               span duplication, splicing two seeds, a 10-byte maximal varint written
               anywhere); the CRC is left as it is, so nearly all are caught by it;
* ``crc``   -- the same damage to the bytes before the CRC, then the CRC recomputed, so
               the damage reaches the parsers (what a crafted file does);
* ``sem``   -- semantic edits of a parsed container re-packed canonically (valid CRC and
               container structure): a header field removed, added, retyped or set to a
               boundary / huge / negative / other-field value; string fields set to
               other valid or invalid names; sections removed, renamed, reordered, added,
               emptied, truncated, extended, bit-flipped, replaced by another seed's
               payload or by random bytes.  1-3 edits per case.
"""

from __future__ import annotations

import random

from ref.core.container import pack, unpack
from ref.core.crc import crc32

INTERESTING_INTS = (0, 1, 2, 3, 4, 7, 8, 9, 12, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 100, 127,
                    128, 255, 256, 257, 1000, 1023, 1024, 4095, 4096, 4097, 65535, 65536, 65537,
                    1 << 20, (1 << 20) + 1, 1 << 24, (1 << 24) + 1, 1 << 31, 1 << 32, (1 << 63) - 1,
                    1 << 63, (1 << 64) - 1, -1, -2, -128, -(1 << 31), -(1 << 63))
INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0x40, 0x20)


def _raw_op(rng: random.Random, b: bytes, seeds: list[bytes]) -> tuple[bytes, str]:
    n = len(b)
    op = rng.randrange(10)
    if n == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16))), "fill"
    if op == 0:
        out = bytearray(b)
        k = rng.choice((1, 1, 2, 3, 4))
        for _ in range(k):
            i = rng.randrange(8 * n)
            out[i // 8] ^= 1 << (i % 8)
        return bytes(out), f"flip{k}"
    if op == 1:
        out = bytearray(b)
        for _ in range(rng.randrange(1, 9)):
            out[rng.randrange(n)] = rng.choice(INTERESTING_BYTES) if rng.random() < 0.5 else rng.randrange(256)
        return bytes(out), "overwrite"
    if op == 2:
        return b[:rng.randrange(n)], "truncate"
    if op == 3:
        return b + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 65))), "extend"
    if op == 4:
        i = rng.randrange(n + 1)
        return b[:i] + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 17))) + b[i:], "insert"
    if op == 5:
        i = rng.randrange(n)
        return b[:i] + b[i + rng.randrange(1, 33):], "delete"
    if op == 6:
        i = rng.randrange(n)
        j = min(n, i + rng.randrange(1, 65))
        return b[:j] + b[i:j] + b[j:], "duplicate"
    if op == 7:
        other = rng.choice(seeds)
        return b[:rng.randrange(n + 1)] + other[rng.randrange(len(other) + 1):], "splice"
    if op == 8:
        i = rng.randrange(n)
        return b[:i] + b"\xff" * 9 + b"\x01" + b[i + rng.randrange(0, 11):], "hugevarint"
    out = bytearray(b)
    i = rng.randrange(n)
    for k in range(min(rng.randrange(1, 9), n - i)):
        out[i + k] = 0xFF if rng.random() < 0.5 else 0x00
    return bytes(out), "saturate"


def _recrc(body: bytes) -> bytes:
    return body + crc32(body).to_bytes(4, "little")


def _int_value(rng: random.Random, v) -> int:
    if isinstance(v, int) and rng.random() < 0.4:
        return rng.choice((v + 1, v - 1, 2 * v, v // 2, v + 8, v - 8, -v - 1 if v >= 0 else v))
    return rng.choice(INTERESTING_INTS)


def _any_value(rng: random.Random, v, strings: tuple[str, ...]):
    r = rng.random()
    if isinstance(v, int) and r < 0.6:
        return _int_value(rng, v)
    if isinstance(v, str) and r < 0.6:
        return rng.choice(strings) if strings and rng.random() < 0.8 else v + rng.choice(("x", "_", " ", "\u00e9"))
    if r < 0.75:
        return rng.choice(INTERESTING_INTS)
    if r < 0.9:
        return rng.choice(strings) if strings else "x"
    return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 9)))


def _payload(rng: random.Random, p: bytes, others: list[bytes]) -> tuple[bytes, str]:
    op = rng.randrange(7)
    if op == 0:
        return b"", "empty"
    if op == 1 and p:
        return p[:rng.randrange(len(p))], "truncate"
    if op == 2:
        return p + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 33))), "extend"
    if op == 3 and p:
        out = bytearray(p)
        for _ in range(rng.choice((1, 1, 2, 4))):
            i = rng.randrange(8 * len(p))
            out[i // 8] ^= 1 << (i % 8)
        return bytes(out), "flip"
    if op == 4 and others:
        return rng.choice(others), "foreign"
    if op == 5 and len(p) >= 4:
        i = rng.randrange(len(p) - 3)
        return p[:i] + rng.choice((b"\xff\xff\xff\x7f", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff")) + p[i + 4:], "word"
    return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64))), "random"


def _semantic(rng: random.Random, data: bytes, strings: tuple[str, ...],
              pool: dict[str, list[bytes]]) -> tuple[bytes, str]:
    c = unpack(data)
    header = dict(c.header)
    sections = list(c.sections)
    ops = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        kind = rng.randrange(9)
        keys = sorted(header)
        if kind <= 3 and keys:                               # set a field (most common)
            k = rng.choice(keys)
            header[k] = _any_value(rng, header[k], strings)
            ops.append(f"set:{k}")
        elif kind == 4 and keys:
            k = rng.choice(keys)
            del header[k]
            ops.append(f"del:{k}")
        elif kind == 5:
            k = rng.choice(("extra", "h2", "zz", "a", "version", "model2"))
            header[k] = _any_value(rng, 0, strings)
            ops.append(f"add:{k}")
        elif kind in (6, 7) and sections:                   # payload edits
            i = rng.randrange(len(sections))
            name, p = sections[i]
            newp, what = _payload(rng, p, pool.get(name, []))
            sections[i] = (name, newp)
            ops.append(f"payload:{name}:{what}")
        elif sections:                                      # section list edits
            op = rng.randrange(4)
            i = rng.randrange(len(sections))
            if op == 0:
                ops.append(f"drop:{sections[i][0]}")
                sections.pop(i)
            elif op == 1:
                new = rng.choice(("x", "latent", "ans", "table", "mask", "inner", "counts"))
                if all(n != new for n, _ in sections):
                    ops.append(f"rename:{sections[i][0]}->{new}")
                    sections[i] = (new, sections[i][1])
            elif op == 2 and len(sections) > 1:
                rng.shuffle(sections)
                ops.append("reorder")
            else:
                name = rng.choice(("extra", "latent2", "z"))
                if all(n != name for n, _ in sections):
                    sections.append((name, bytes(rng.randrange(256) for _ in range(rng.randrange(0, 16)))))
                    ops.append(f"addsec:{name}")
    return pack(c.system, header, sections), "sem:" + ",".join(ops)


def mutate(case_seed: int, seeds: list[tuple[str, str, bytes]], strings: dict[str, tuple[str, ...]],
           pool: dict[str, dict[str, list[bytes]]]) -> tuple[int, str, bytes]:
    """Case ``case_seed`` -> (index of the seed it mutates, description, mutated bytes).

    seeds:   [(system, label, container bytes)];
    strings: system -> vocabulary for string fields;
    pool:    system -> section name -> payloads of every seed (for "foreign" payloads).
    """
    rng = random.Random(case_seed)
    k = rng.randrange(len(seeds))
    system, label, data = seeds[k]
    family = rng.randrange(3)
    all_bytes = [s[2] for s in seeds]
    if family == 0:
        out, what = _raw_op(rng, data, all_bytes)
        return k, f"raw:{what}", out
    if family == 1:
        body, what = _raw_op(rng, data[:-4], [s[:-4] for s in all_bytes])
        return k, f"crc:{what}", _recrc(body)
    out, what = _semantic(rng, data, strings.get(system, ()), pool.get(system, {}))
    return k, what, out
