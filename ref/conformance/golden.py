"""Golden vectors: definition, storage, verification, regeneration, conformance.

A *vector* pins one function on fixed inputs.  Providers are modules under
``ref`` whose name ends in ``_vectors`` (``ref/conformance/core_vectors/ans_vectors.py``,
``ref/easz/golden_vectors.py``, ...) and that define ``VECTORS: list[Vector]``.

On disk (``golden/``), per vector ``<system>/<id>``:

* ``<id>.safetensors`` -- every array input under key ``in.<name>`` and every
  array output under ``out.<name>`` (safetensors: dtype + shape, readable from
  any language);
* ``<id>.in.<name>.bin`` / ``<id>.out.<name>.bin`` -- raw byte strings (bitstreams,
  containers) exactly as produced;
* ``golden/manifest.json`` -- for each vector: id, equation IDs, function, params,
  inputs, outputs with their comparison rule, SHA-256 of every file, and the
  platform it was made on.

Comparison rules (per output): ``exact`` (dtype, shape and every bit, or byte
equality), ``allclose`` (rtol, atol; dtype and shape must match), ``psnr>=``
(PSNR of the recomputed output against the golden one, given peak, at least db).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import pkgutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ref.core.errors import GoldenError

Value = "np.ndarray | bytes"
MANIFEST_VERSION = 1


# --------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class Rule:
    """How a recomputed output is compared with its golden value."""

    kind: str = "exact"  # "exact" | "allclose" | "psnr>="
    rtol: float = 0.0
    atol: float = 0.0
    db: float = 0.0
    peak: float = 255.0

    def to_json(self) -> dict[str, Any]:
        if self.kind == "exact":
            return {"rule": "exact"}
        if self.kind == "allclose":
            return {"rule": "allclose", "rtol": self.rtol, "atol": self.atol}
        if self.kind == "psnr>=":
            return {"rule": "psnr>=", "db": self.db, "peak": self.peak}
        raise ValueError(f"unknown rule {self.kind!r}")

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> "Rule":
        kind = d.get("rule")
        if kind == "exact":
            return EXACT
        if kind == "allclose":
            return Rule("allclose", rtol=float(d["rtol"]), atol=float(d["atol"]))
        if kind == "psnr>=":
            return Rule("psnr>=", db=float(d["db"]), peak=float(d["peak"]))
        raise GoldenError(f"manifest has unknown comparison rule {d!r}")

    def describe(self) -> str:
        if self.kind == "exact":
            return "exact"
        if self.kind == "allclose":
            return f"allclose(rtol={self.rtol:g},atol={self.atol:g})"
        return f"psnr>={self.db:g}"

    def check(self, got: Any, want: Any) -> tuple[bool, str]:
        """Return (passed, short detail)."""
        if isinstance(want, (bytes, bytearray)):
            if not isinstance(got, (bytes, bytearray)):
                return False, f"expected bytes, got {type(got).__name__}"
            if bytes(got) == bytes(want):
                return True, f"{len(want)} B equal"
            n = min(len(got), len(want))
            first = next((i for i in range(n) if got[i] != want[i]), n)
            return False, f"bytes differ (len {len(got)} vs {len(want)}, first at {first})"
        got = np.asarray(got)
        want = np.asarray(want)
        if got.shape != want.shape:
            return False, f"shape {got.shape} != {want.shape}"
        if got.dtype != want.dtype:
            return False, f"dtype {got.dtype} != {want.dtype}"
        if self.kind == "exact":
            if got.dtype.kind == "f":
                same = np.array_equal(got.view(f"u{got.itemsize}"), want.view(f"u{want.itemsize}"))
            else:
                same = np.array_equal(got, want)
            if same:
                return True, "bit-identical"
            diff = int(np.count_nonzero(got != want))
            return False, f"{diff} of {want.size} elements differ"
        g = got.astype(np.float64)
        w = want.astype(np.float64)
        if not np.all(np.isfinite(g)):
            return False, "non-finite values"
        err = np.abs(g - w)
        maxabs = float(err.max()) if err.size else 0.0
        if self.kind == "allclose":
            ok = bool(np.all(err <= self.atol + self.rtol * np.abs(w)))
            return ok, f"max|d|={maxabs:.3g}"
        mse = float(np.mean(err**2)) if err.size else 0.0
        psnr = float("inf") if mse == 0 else 10 * np.log10(self.peak**2 / mse)
        return bool(psnr >= self.db), f"psnr={psnr:.2f}dB max|d|={maxabs:.3g}"


EXACT = Rule("exact")


def allclose(rtol: float = 0.0, atol: float = 0.0) -> Rule:
    return Rule("allclose", rtol=rtol, atol=atol)


def psnr_at_least(db: float, peak: float = 255.0) -> Rule:
    return Rule("psnr>=", db=db, peak=peak)


# --------------------------------------------------------------------------- vectors
@dataclass(frozen=True)
class Vector:
    """One golden vector.

    id:         unique, ``<system>.<name>`` (system = core|bits|easz|hcf|moc|ecf).
    equations:  equation IDs (from spec/) this vector pins.
    function:   dotted path of the function under test (documentation for porters).
    make_inputs: () -> {name: ndarray | bytes}; used only by ``regen``.
    run:        (inputs, **params) -> {name: ndarray | bytes}; used by verify/regen.
    params:     JSON-serialisable keyword arguments of ``run`` (stored in the manifest).
    rules:      per-output comparison rule; outputs not named use ``default_rule``.
    inputs_doc / params_doc / outputs_doc: {name: text} -- what each input and param means
                and how each output is computed from them, in the spec's terms.
    """

    id: str
    equations: tuple[str, ...]
    function: str
    make_inputs: Callable[[], dict[str, Any]]
    run: Callable[..., dict[str, Any]]
    params: Mapping[str, Any] = field(default_factory=dict)
    rules: Mapping[str, Rule] = field(default_factory=dict)
    default_rule: Rule = EXACT
    description: str = ""
    # What a porter needs, in the spec's terms (spec IDs, units, dtypes): the meaning of each
    # input, of each param, and how each output is computed from them.  Stored in the manifest.
    inputs_doc: Mapping[str, str] = field(default_factory=dict)
    params_doc: Mapping[str, str] = field(default_factory=dict)
    outputs_doc: Mapping[str, str] = field(default_factory=dict)

    @property
    def system(self) -> str:
        return self.id.split(".", 1)[0]

    def rule_for(self, name: str) -> Rule:
        return self.rules.get(name, self.default_rule)


def _normalise(values: Mapping[str, Any]) -> dict[str, np.ndarray | bytes]:
    out: dict[str, np.ndarray | bytes] = {}
    for k, v in values.items():
        if isinstance(v, (bytes, bytearray, memoryview)):
            out[k] = bytes(v)
        else:
            arr = np.asarray(v)
            if arr.dtype == object:
                raise GoldenError(f"value {k!r} is not a plain array")
            out[k] = np.ascontiguousarray(arr)
    return out


def discover(package: str = "ref") -> list[Vector]:
    """Import every ``*_vectors`` module under ``package`` and collect VECTORS."""
    pkg = importlib.import_module(package)
    vectors: list[Vector] = []
    for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
        if info.name.rsplit(".", 1)[-1].endswith("_vectors"):
            mod = importlib.import_module(info.name)
            vectors.extend(getattr(mod, "VECTORS", []))
    seen: set[str] = set()
    for v in vectors:
        if v.id in seen:
            raise GoldenError(f"duplicate golden vector id {v.id!r}")
        seen.add(v.id)
    return sorted(vectors, key=lambda v: v.id)


# --------------------------------------------------------------------------- storage
def default_root() -> Path:
    """``golden/`` next to the ``ref`` package (the repository checkout)."""
    return Path(__file__).resolve().parents[2] / "golden"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_manifest(root: Path) -> dict[str, Any]:
    path = root / "manifest.json"
    if not path.exists():
        return {"version": MANIFEST_VERSION, "vectors": {}}
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise GoldenError(f"{path} is not valid JSON: {exc}") from exc
    if manifest.get("version") != MANIFEST_VERSION:
        raise GoldenError(f"{path}: unsupported manifest version {manifest.get('version')!r}")
    return manifest


def _rel(system: str, vid: str, suffix: str) -> str:
    return f"{system}/{vid}{suffix}"


def write_vector(root: Path, vec: Vector, inputs: dict, outputs: dict, platform: dict) -> dict:
    """Write one vector's files; return its manifest entry."""
    from safetensors.numpy import save_file

    tensors: dict[str, np.ndarray] = {}
    files: dict[str, str] = {}
    entry_in: dict[str, Any] = {}
    entry_out: dict[str, Any] = {}
    (root / vec.system).mkdir(parents=True, exist_ok=True)
    for kind, values, table in (("in", inputs, entry_in), ("out", outputs, entry_out)):
        for name, val in values.items():
            if isinstance(val, bytes):
                rel = _rel(vec.system, vec.id, f".{kind}.{name}.bin")
                (root / rel).write_bytes(val)
                files[rel] = sha256(root / rel)
                table[name] = {"file": rel, "bytes": len(val)}
            else:
                key = f"{kind}.{name}"
                tensors[key] = val
                table[name] = {"key": key, "dtype": str(val.dtype), "shape": list(val.shape)}
            doc = (vec.outputs_doc if kind == "out" else vec.inputs_doc).get(name)
            if doc:
                table[name]["doc"] = doc
            if kind == "out":
                table[name]["compare"] = vec.rule_for(name).to_json()
    st_rel = _rel(vec.system, vec.id, ".safetensors")
    if tensors:
        save_file(tensors, str(root / st_rel), metadata={"vector": vec.id})
        files[st_rel] = sha256(root / st_rel)
        for table in (entry_in, entry_out):
            for meta in table.values():
                if "key" in meta:
                    meta["file"] = st_rel
    return {
        "id": vec.id,
        "system": vec.system,
        "equations": list(vec.equations),
        "function": vec.function,
        "description": vec.description,
        "params": dict(vec.params),
        "params_doc": dict(vec.params_doc),
        "inputs": entry_in,
        "outputs": entry_out,
        "files": files,
        "platform": platform,
        "created": date.today().isoformat(),
    }


def read_values(root: Path, entry: Mapping[str, Any], kind: str, check_sha: bool = True) -> dict:
    """Load a vector's stored inputs (kind='inputs') or outputs (kind='outputs')."""
    from safetensors.numpy import load_file

    if check_sha:
        for rel, digest in entry["files"].items():
            p = root / rel
            if not p.exists():
                raise GoldenError(f"{entry['id']}: missing file {rel}")
            if sha256(p) != digest:
                raise GoldenError(f"{entry['id']}: {rel} SHA-256 mismatch (file altered)")
    cache: dict[str, dict[str, np.ndarray]] = {}
    values: dict[str, Any] = {}
    for name, meta in entry[kind].items():
        p = root / meta["file"]
        if "key" in meta:
            if meta["file"] not in cache:
                cache[meta["file"]] = load_file(str(p))
            values[name] = cache[meta["file"]][meta["key"]]
        else:
            values[name] = p.read_bytes()
    return values


# --------------------------------------------------------------------------- verify / regen
@dataclass
class Result:
    id: str
    output: str
    rule: str
    status: str  # PASS | FAIL | ERROR | MISSING | NEW | CHANGED | SAME
    detail: str


def _by_id(vectors: list[Vector]) -> dict[str, Vector]:
    return {v.id: v for v in vectors}


def verify(root: Path, vectors: list[Vector], select: Callable[[str], bool] = lambda _: True) -> list[Result]:
    """Recompute every manifest vector from its stored inputs and compare."""
    manifest = load_manifest(root)
    known = _by_id(vectors)
    results: list[Result] = []
    for vid, entry in sorted(manifest["vectors"].items()):
        if not select(vid):
            continue
        vec = known.get(vid)
        if vec is None:
            results.append(Result(vid, "*", "-", "ERROR", "no implementation provides this vector"))
            continue
        try:
            inputs = read_values(root, entry, "inputs")
            want = read_values(root, entry, "outputs", check_sha=False)
            got = _normalise(vec.run(inputs, **entry.get("params", {})))
        except Exception as exc:  # report, keep going
            results.append(Result(vid, "*", "-", "ERROR", f"{exc.__class__.__name__}: {exc}"[:200]))
            continue
        for name, meta in entry["outputs"].items():
            rule = Rule.from_json(meta["compare"])
            if name not in got:
                results.append(Result(vid, name, rule.describe(), "FAIL", "output not produced"))
                continue
            ok, detail = rule.check(got[name], want[name])
            results.append(Result(vid, name, rule.describe(), "PASS" if ok else "FAIL", detail))
    for vid in sorted(set(known) - set(manifest["vectors"])):
        if select(vid):
            results.append(Result(vid, "*", "-", "MISSING", "defined in code, not in golden/ (run regen)"))
    return results


def regen(root: Path, vectors: list[Vector], write: bool, platform: dict,
          select: Callable[[str], bool] = lambda _: True) -> list[Result]:
    """Recompute vectors from fresh inputs; report NEW/CHANGED/SAME; write only if asked.

    Holds an exclusive lock on ``golden/.lock`` so concurrent regens of different
    systems cannot lose each other's manifest entries.
    """
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _regen_locked(root, vectors, write, platform, select)


def _regen_locked(root: Path, vectors: list[Vector], write: bool, platform: dict,
                  select: Callable[[str], bool]) -> list[Result]:
    manifest = load_manifest(root)
    results: list[Result] = []
    new_entries: dict[str, dict] = {}
    for vec in vectors:
        if not select(vec.id):
            continue
        inputs = _normalise(vec.make_inputs())
        outputs = _normalise(vec.run(inputs, **vec.params))
        old = manifest["vectors"].get(vec.id)
        status, detail = "NEW", "not in manifest"
        if old is not None:
            status, detail = "SAME", "identical"
            try:
                old_in = read_values(root, old, "inputs", check_sha=False)
                old_out = read_values(root, old, "outputs", check_sha=False)
            except Exception as exc:
                status, detail = "CHANGED", f"old files unreadable: {exc}"
            else:
                diffs = []
                for kind, a, b in (("in", inputs, old_in), ("out", outputs, old_out)):
                    for name in sorted(set(a) | set(b)):
                        if name not in a or name not in b:
                            diffs.append(f"{kind}.{name} added/removed")
                            continue
                        ok, d = EXACT.check(a[name], b[name])
                        if not ok:
                            diffs.append(f"{kind}.{name}: {d}")
                if diffs or list(old.get("equations", [])) != list(vec.equations) \
                        or old.get("params", {}) != dict(vec.params) or old.get("function") != vec.function:
                    status = "CHANGED"
                    detail = "; ".join(diffs) or "metadata changed"
        results.append(Result(vec.id, "*", "-", status, detail))
        if status != "SAME" or write:
            new_entries[vec.id] = (vec, inputs, outputs)
    if write:
        for vid, (vec, inputs, outputs) in new_entries.items():
            old = manifest["vectors"].get(vid)
            status = next(r.status for r in results if r.id == vid)
            if status == "SAME" and old is not None:
                continue  # keep the original platform/date record
            manifest["vectors"][vid] = write_vector(root, vec, inputs, outputs, platform)
        manifest["vectors"] = dict(sorted(manifest["vectors"].items()))
        (root / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=False) + "\n")
    return results


def conform(golden_root: Path, candidate: Path) -> list[Result]:
    """Compare a third party's outputs (laid out like golden/) with the golden outputs.

    The candidate directory holds, for a vector ``<system>/<id>``, either
    ``<system>/<id>.safetensors`` with keys ``out.<name>`` and/or files
    ``<system>/<id>.out.<name>.bin``.  Vectors with no candidate file are MISSING.
    """
    from safetensors.numpy import load_file

    manifest = load_manifest(golden_root)
    results: list[Result] = []
    for vid, entry in sorted(manifest["vectors"].items()):
        want = read_values(golden_root, entry, "outputs")
        st = candidate / entry["system"] / f"{vid}.safetensors"
        tensors: dict[str, np.ndarray] = {}
        if st.exists():
            try:
                tensors = load_file(str(st))
            except Exception as exc:
                results.append(Result(vid, "*", "-", "ERROR", f"unreadable {st.name}: {exc}"[:200]))
                continue
        for name, meta in entry["outputs"].items():
            rule = Rule.from_json(meta["compare"])
            if "key" in meta:
                got = tensors.get(meta["key"])
            else:
                p = candidate / entry["system"] / f"{vid}.out.{name}.bin"
                got = p.read_bytes() if p.exists() else None
            if got is None:
                results.append(Result(vid, name, rule.describe(), "MISSING", "no candidate output"))
                continue
            ok, detail = rule.check(got, want[name])
            results.append(Result(vid, name, rule.describe(), "PASS" if ok else "FAIL", detail))
    return results
