"""Run a fuzz campaign: mutated containers of every registered system through the decoder.

Each case runs the exact code path of ``codecref decode`` (``ref.app.decoding``) in a
worker process (``spawn``), and is classified:

* exit code: 0, the CodecrefError's code (2 / 3), or 70 for any other exception (a bug);
* ``hang``: no answer within ``timeout`` seconds (the parent kills and restarts the worker);
* ``overcap``: a MemoryError under the worker's RLIMIT_AS (address space = the warm
  worker's size + ``cap_mb``), or a worker killed by the kernel;
* for exit 0 with an image different from the seed's own decode: ``conforming`` when the
  target's section policies say the mutated stream is itself conforming (header values the
  spec accepts, a validated or delegated payload, a canonical payload that re-encodes to
  the same bytes), else ``garbage`` (a silent wrong decode: a target violation).

``python -m tests.fuzz.campaign --cases 100000 --workers 2 --out DIR`` writes DIR/summary.json
and DIR/findings.jsonl (every case that is a 70, hang, overcap or garbage, with its bytes
in hex so that it can be replayed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import multiprocessing.connection
import os
import time
from collections import Counter
from pathlib import Path

DEFAULT_TIMEOUT = 30.0
DEFAULT_CAP_MB = 1024


# ----------------------------------------------------------------------------- worker
def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


class Judge:
    """Everything a worker needs: seeds, their decodes, the classifier."""

    def __init__(self, systems: list[str] | None = None):
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        from tests.fuzz.targets import TARGETS

        self.targets = {n: t for n, t in TARGETS.items() if systems is None or n in systems}
        self.seeds: list[tuple[str, str, bytes]] = []
        for name, t in self.targets.items():
            for label, data in t.make_seeds():
                self.seeds.append((name, label, data))
        from ref.app.decoding import decode_bytes
        from ref.core.container import unpack

        self.ref_images = [decode_bytes(d)[1] for _, _, d in self.seeds]
        self.parsed = [unpack(d) for _, _, d in self.seeds]
        self.strings = {n: t.strings for n, t in self.targets.items()}
        self.pool: dict[str, dict[str, list[bytes]]] = {}
        for (system, _, _), c in zip(self.seeds, self.parsed):
            for name, p in c.sections:
                self.pool.setdefault(system, {}).setdefault(name, []).append(p)

    def make_case(self, case_seed: int) -> tuple[int, str, bytes]:
        from tests.fuzz.mutate import _raw_op, mutate

        try:
            return mutate(case_seed, self.seeds, self.strings, self.pool)
        except Exception:  # a semantic edit pack() refuses: fall back to raw damage
            import random

            rng = random.Random(case_seed ^ 0x5EED)
            k = rng.randrange(len(self.seeds))
            out, what = _raw_op(rng, self.seeds[k][2], [s[2] for s in self.seeds])
            return k, f"raw:{what}", out

    def classify_change(self, k: int, data: bytes) -> str:
        """Exit 0, image differs from seed k's: 'conforming:<why>' or 'garbage:<why>'."""
        from ref.core.container import unpack

        c = unpack(data)
        seed = self.parsed[k]
        t = self.targets.get(c.system)
        if t is None:
            return "garbage:unregistered-system"
        old = dict(seed.sections) if c.system == seed.system else {}
        changed = [n for n, p in c.sections if old.get(n) != p]
        if not changed:
            return "conforming:header-values"
        policies = {t.sections.get(n, "unknown") for n in changed}
        if "unknown" in policies:
            return f"garbage:unknown-section({','.join(changed)})"
        if "canonical" in policies:
            try:
                again = t.reencode(c) if t.reencode is not None else None
            except Exception as e:  # noqa: BLE001 - the decoder accepted it, re-encoding did not
                return f"garbage:reencode-failed({type(e).__name__})"
            if again != data:
                return f"garbage:canonical-section-not-canonical({','.join(changed)})"
            return "conforming:canonical-reencodes"
        return "conforming:" + "+".join(sorted(policies)) + "-payload"

    def run(self, case_seed: int) -> dict:
        from ref.app.decoding import decode_bytes, exit_code

        k, what, data = self.make_case(case_seed)
        system = self.seeds[k][0]
        t0 = time.perf_counter()
        exc = None
        img = None
        try:
            _, img = decode_bytes(data)
        except MemoryError as e:  # under RLIMIT_AS: an over-cap allocation
            return {"case": case_seed, "system": system, "what": what, "result": "overcap",
                    "msg": f"MemoryError: {e}", "ms": (time.perf_counter() - t0) * 1e3, "hex": data.hex()}
        except BaseException as e:  # noqa: BLE001 - classified below
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            exc = e
        ms = (time.perf_counter() - t0) * 1e3
        code = exit_code(exc)
        out = {"case": case_seed, "system": system, "seed": self.seeds[k][1], "what": what,
               "result": f"exit{code}", "ms": round(ms, 2)}
        if code == 70:
            out["msg"] = f"{type(exc).__name__}: {exc}"[:500]
            out["hex"] = data.hex()
        elif code == 0:
            ref = self.ref_images[k]
            if img.shape == ref.shape and (img == ref).all():
                out["change"] = "same"
            else:
                try:
                    out["change"] = self.classify_change(k, data)
                except Exception as e:  # noqa: BLE001 - the classifier itself must not hide a case
                    out["change"] = f"garbage:classifier-failed({type(e).__name__}: {e})"
                if out["change"].startswith("garbage"):
                    out["hex"] = data.hex()
        elif exc is not None:
            out["msg"] = str(exc)[:200]
        return out


def _worker(conn, systems, cap_mb: int) -> None:
    import resource

    judge = Judge(systems)
    for i in range(20):  # warm the jit caches on mutated cases before the cap is set
        judge.run(-1 - i)
    if cap_mb > 0:
        limit = _vm_size() + cap_mb * (1 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    conn.send(("ready", len(judge.seeds)))
    while True:
        msg = conn.recv()
        if msg is None:
            return
        conn.send(judge.run(msg))


class Pool:
    """Workers fed one case at a time; a case over ``timeout`` s kills its worker (a hang)."""

    def __init__(self, n: int, systems, cap_mb: int, timeout: float):
        self.ctx = mp.get_context("spawn")
        self.systems, self.cap_mb, self.timeout = systems, cap_mb, timeout
        self.workers = [self._start() for _ in range(n)]

    def _start(self):
        parent, child = self.ctx.Pipe()
        p = self.ctx.Process(target=_worker, args=(child, self.systems, self.cap_mb), daemon=True)
        p.start()
        tag, nseeds = parent.recv()
        assert tag == "ready"
        self.nseeds = nseeds
        return [p, parent, None, 0.0]  # process, conn, case in flight, start time

    def run(self, cases, on_result) -> None:
        pending = list(cases)[::-1]
        busy = 0
        while pending or busy:
            for w in self.workers:
                if w[2] is None and pending:
                    w[2], w[3] = pending.pop(), time.monotonic()
                    w[1].send(w[2])
                    busy += 1
            ready = mp.connection.wait([w[1] for w in self.workers if w[2] is not None], timeout=0.5)
            now = time.monotonic()
            for i, w in enumerate(self.workers):
                if w[2] is None:
                    continue
                if w[1] in ready:
                    try:
                        on_result(w[1].recv())
                    except (EOFError, OSError):  # worker died mid-case (e.g. killed for memory)
                        on_result({"case": w[2], "result": "overcap", "msg": f"worker died, exit {w[0].exitcode}"})
                        w[0].join(1)
                        self.workers[i] = self._start()
                        busy -= 1
                        continue
                    w[2] = None
                    busy -= 1
                elif now - w[3] > self.timeout:
                    on_result({"case": w[2], "result": "hang", "msg": f"no answer in {self.timeout:.0f} s"})
                    w[0].kill()
                    w[0].join(5)
                    self.workers[i] = self._start()
                    busy -= 1

    def close(self) -> None:
        for w in self.workers:
            try:
                w[1].send(None)
            except OSError:
                pass
            w[0].join(5)
            if w[0].is_alive():
                w[0].kill()


def run_campaign(n_cases: int, *, first: int = 0, workers: int = 1, systems=None,
                 cap_mb: int = DEFAULT_CAP_MB, timeout: float = DEFAULT_TIMEOUT,
                 out: Path | None = None, progress_every: int = 0) -> dict:
    """Run cases first .. first + n_cases - 1; return the summary (see module docstring)."""
    t0 = time.time()
    counts: Counter = Counter()
    per_system: dict[str, Counter] = {}
    changes: Counter = Counter()
    families: dict[str, Counter] = {}
    reasons: Counter = Counter()
    findings = []
    done = 0
    fh = open(out / "findings.jsonl", "a") if out else None

    def on_result(r: dict) -> None:
        nonlocal done
        done += 1
        res = r["result"]
        counts[res] += 1
        per_system.setdefault(r.get("system", "?"), Counter())[res] += 1
        families.setdefault(r.get("what", "?").split(":")[0], Counter())[res] += 1
        if res == "exit3":  # the kind of rejection: the message with numbers and quotes removed
            import re

            reasons[re.sub(r"[0-9]+|'[^']*'|\([^)]*\)", "#", r.get("msg", ""))[:70]] += 1
        if res == "exit0":
            changes[r.get("change", "?").split("(")[0]] += 1
        bad = res in ("exit70", "hang", "overcap") or r.get("change", "").startswith("garbage")
        if bad:
            findings.append(r)
            if fh:
                fh.write(json.dumps(r) + "\n")
                fh.flush()
        if progress_every and done % progress_every == 0:
            rate = done / max(time.time() - t0, 1e-9)
            print(f"{done}/{n_cases} cases, {rate:.0f}/s, {dict(counts)}, findings {len(findings)}", flush=True)

    pool = Pool(workers, systems, cap_mb, timeout)
    try:
        pool.run(range(first, first + n_cases), on_result)
    finally:
        pool.close()
        if fh:
            fh.close()
    summary = {
        "cases": done, "first": first, "seconds": round(time.time() - t0, 1), "workers": workers,
        "timeout_s": timeout, "cap_mb": cap_mb, "results": dict(counts),
        "per_system": {k: dict(v) for k, v in per_system.items()},
        "per_family": {k: dict(v) for k, v in families.items()},
        "exit0_changes": dict(changes),
        "exit3_reasons_top": dict(reasons.most_common(40)),
        "exit70": counts["exit70"], "hangs": counts["hang"], "overcap": counts["overcap"],
        "garbage": sum(1 for f in findings if f.get("change", "").startswith("garbage")),
        "findings": [{k: v for k, v in f.items() if k != "hex"} for f in findings[:50]],
    }
    if out:
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--systems", default=None, help="comma-separated (default: every registered system)")
    ap.add_argument("--cap-mb", type=int, default=DEFAULT_CAP_MB)
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    s = run_campaign(a.cases, first=a.first, workers=a.workers,
                     systems=a.systems.split(",") if a.systems else None, cap_mb=a.cap_mb,
                     timeout=a.timeout, out=a.out, progress_every=1000)
    print(json.dumps({k: v for k, v in s.items() if k != "findings"}, indent=1))


if __name__ == "__main__":
    main()
