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

import fnmatch
import hashlib
import importlib
import json
import pkgutil
import re
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
        ok, detail, _ = self.compare(got, want)
        return ok, detail

    def compare(self, got: Any, want: Any, limit: int = 3) -> tuple[bool, str, list[dict]]:
        """Return (passed, detail, mismatches).

        ``mismatches`` lists up to ``limit`` failing elements as
        ``{"index": [i, j, ...], "got": value, "want": value}`` (first in C order; for
        ``psnr>=`` the largest deviations); ``detail`` names the first of them.
        """
        if isinstance(want, (bytes, bytearray)):
            if not isinstance(got, (bytes, bytearray)):
                return False, f"expected bytes, got {type(got).__name__}", []
            got, want = bytes(got), bytes(want)
            if got == want:
                return True, f"{len(want)} B equal", []
            n = min(len(got), len(want))
            a = np.frombuffer(got[:n], np.uint8)
            b = np.frombuffer(want[:n], np.uint8)
            idx = np.flatnonzero(a != b)
            mism = [{"index": [int(i)], "got": int(a[i]), "want": int(b[i])} for i in idx[:limit]]
            if not mism:  # one is a prefix of the other
                i = n
                mism = [{"index": [i], "got": got[i] if i < len(got) else None,
                         "want": want[i] if i < len(want) else None}]
            head = f"bytes differ (len {len(got)} vs {len(want)}; {idx.size} of the first {n} differ)"
            return False, head + "; " + _mismatch_text(mism, hexa=True), mism
        got = np.asarray(got)
        want = np.asarray(want)
        if got.shape != want.shape:
            return False, f"shape {got.shape} != {want.shape}", []
        if got.dtype != want.dtype:
            return False, f"dtype {got.dtype} != {want.dtype}", []
        if self.kind == "exact":
            if got.dtype.kind == "f":
                bad = got.view(f"u{got.itemsize}") != want.view(f"u{want.itemsize}")
            else:
                bad = got != want
            if not bad.any():
                return True, "bit-identical", []
            mism = _first(got, want, bad, limit)
            return False, f"{int(bad.sum())} of {want.size} elements differ; " + _mismatch_text(mism), mism
        g = got.astype(np.float64)
        w = want.astype(np.float64)
        if not np.all(np.isfinite(g)):
            mism = _first(got, want, ~np.isfinite(g), limit)
            return False, "non-finite values; " + _mismatch_text(mism), mism
        err = np.abs(g - w)
        maxabs = float(err.max()) if err.size else 0.0
        if self.kind == "allclose":
            bad = ~(err <= self.atol + self.rtol * np.abs(w))
            if not bad.any():
                return True, f"max|d|={maxabs:.3g}", []
            mism = _first(got, want, bad, limit)
            return False, (f"{int(bad.sum())} of {want.size} elements outside atol+rtol*|want|, "
                           f"max|d|={maxabs:.3g}; " + _mismatch_text(mism)), mism
        mse = float(np.mean(err**2)) if err.size else 0.0
        psnr = float("inf") if mse == 0 else 10 * np.log10(self.peak**2 / mse)
        if psnr >= self.db:
            return True, f"psnr={psnr:.2f}dB max|d|={maxabs:.3g}", []
        order = np.argsort(-err.reshape(-1), kind="stable")[:limit]
        mism = [_element(got, want, np.unravel_index(int(i), want.shape)) for i in order]
        return False, f"psnr={psnr:.2f}dB max|d|={maxabs:.3g}; " + _mismatch_text(mism, lead="largest at"), mism


def _scalar(v: Any) -> Any:
    v = v.item() if hasattr(v, "item") else v
    if isinstance(v, float) and not np.isfinite(v):
        return repr(v)  # JSON has no inf/nan
    return v


def _element(got: np.ndarray, want: np.ndarray, index: tuple) -> dict:
    return {"index": [int(i) for i in index], "got": _scalar(got[index]), "want": _scalar(want[index])}


def _first(got: np.ndarray, want: np.ndarray, bad: np.ndarray, limit: int) -> list[dict]:
    """The first ``limit`` failing elements in C order."""
    flat = np.flatnonzero(bad.reshape(-1))[:limit]
    return [_element(got, want, np.unravel_index(int(i), want.shape)) for i in flat]


def _mismatch_text(mism: list[dict], hexa: bool = False, lead: str = "first at") -> str:
    def fmt(v: Any) -> str:
        if v is None:
            return "(end)"
        if hexa and isinstance(v, int):
            return f"0x{v:02x}"
        return repr(v)

    parts = [f"[{','.join(map(str, m['index']))}] got {fmt(m['got'])} want {fmt(m['want'])}" for m in mism]
    return f"{lead} " + "; ".join(parts) if parts else ""


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
            doc = doc_for(vec.outputs_doc if kind == "out" else vec.inputs_doc, name)
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
        "params_doc": {n: doc_for(vec.params_doc, n) for n in vec.params if doc_for(vec.params_doc, n)},
        "inputs": entry_in,
        "outputs": entry_out,
        "files": files,
        "platform": platform,
        "created": date.today().isoformat(),
    }


# --------------------------------------------------------------------------- docs
#: order of the keys of a manifest entry (write_vector writes them in this order)
ENTRY_KEYS = ("id", "system", "equations", "function", "description", "params", "params_doc",
              "inputs", "outputs", "files", "platform", "created")


def vector_docs(vec: Vector) -> dict[str, Any]:
    """The porter-facing text of a vector definition: description and per-name docs."""
    return {"description": vec.description, "params": dict(vec.params_doc),
            "inputs": dict(vec.inputs_doc), "outputs": dict(vec.outputs_doc)}


def entry_docs(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The same text as stored in a manifest entry."""
    return {"description": entry.get("description", ""), "params": dict(entry.get("params_doc", {})),
            "inputs": {n: m["doc"] for n, m in entry.get("inputs", {}).items() if "doc" in m},
            "outputs": {n: m["doc"] for n, m in entry.get("outputs", {}).items() if "doc" in m}}


def apply_docs(entry: dict[str, Any], vec: Vector) -> dict[str, Any]:
    """Return ``entry`` with its doc fields replaced by ``vec``'s (files, hashes, platform and
    date untouched).  Docs naming an input/output the entry lacks are dropped (and reported
    by :func:`doc_problems`)."""
    entry = dict(entry)
    entry["description"] = vec.description
    entry["params_doc"] = {n: doc_for(vec.params_doc, n) for n in entry.get("params", {})
                           if doc_for(vec.params_doc, n)}
    for kind, docs in (("inputs", vec.inputs_doc), ("outputs", vec.outputs_doc)):
        table = {}
        for name, meta in entry.get(kind, {}).items():
            doc = doc_for(docs, name)
            meta = {k: (doc if k == "doc" else v) for k, v in meta.items() if k != "doc" or doc}
            if doc:
                meta["doc"] = doc  # in place if it was there, else appended
            table[name] = meta
        entry[kind] = table
    ordered = {k: entry[k] for k in ENTRY_KEYS if k in entry}
    ordered.update({k: v for k, v in entry.items() if k not in ordered})
    return ordered


def doc_for(docs: Mapping[str, str], name: str) -> str:
    """The doc of ``name``: its own entry, else the first key with a ``*`` wildcard that
    matches it (``fnmatch``, e.g. ``"p.*"`` for a parameter tree); ``""`` if none."""
    if docs.get(name):
        return docs[name]
    return next((d for k, d in docs.items() if "*" in k and fnmatch.fnmatchcase(name, k)), "")


def doc_problems(entry: Mapping[str, Any], vec: Vector | None = None) -> list[str]:
    """What a porter would miss in one manifest entry: a description, a doc for every input,
    param and output, at least one of the vector's spec IDs cited in those docs, and (given
    the code's definition ``vec``) docs for unknown names or docs differing from the code's."""
    vid = entry.get("id", "?")
    probs: list[str] = []
    docs = entry_docs(entry)
    if not str(docs["description"]).strip():
        probs.append(f"{vid}: no description")
    for kind, names in (("input", entry.get("inputs", {})), ("param", entry.get("params", {})),
                        ("output", entry.get("outputs", {}))):
        have = docs[kind + "s"]
        missing = [n for n in names if not str(have.get(n, "")).strip()]
        if missing:
            probs.append(f"{vid}: no {kind} doc for {', '.join(missing)}")
    text = " ".join([str(docs["description"])] + [str(v) for d in ("params", "inputs", "outputs")
                                                   for v in docs[d].values()])
    eqs = list(entry.get("equations", []))
    if eqs and not any(re.search(r"(?<![\w.])" + re.escape(e) + r"(?![\w])", text) for e in eqs):
        probs.append(f"{vid}: docs cite none of its spec IDs ({', '.join(eqs)})")
    if vec is not None:
        for kind, own, names in (("input", vec.inputs_doc, entry.get("inputs", {})),
                                 ("param", vec.params_doc, entry.get("params", {})),
                                 ("output", vec.outputs_doc, entry.get("outputs", {}))):
            unknown = sorted(k for k in own if k not in names
                             and not ("*" in k and any(fnmatch.fnmatchcase(n, k) for n in names)))
            if unknown:
                probs.append(f"{vid}: {kind} doc for unknown name(s) {', '.join(unknown)}")
        if _docs_differ(vec, entry):
            probs.append(f"{vid}: manifest docs differ from the code's "
                         f"(run: codecref golden regen --docs-only --id {vid} --write)")
    return probs


def _docs_differ(vec: Vector, entry: Mapping[str, Any]) -> bool:
    """True when applying ``vec``'s docs would change ``entry``."""
    return entry_docs(apply_docs(dict(entry), vec)) != entry_docs(entry)


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
    status: str  # PASS | FAIL | ERROR | MISSING | NEW | CHANGED | DOCS | SAME
    detail: str
    mismatches: list = field(default_factory=list)  # [{"index", "got", "want"}] of a FAIL

    @property
    def system(self) -> str:
        return self.id.split(".", 1)[0]

    def to_json(self) -> dict[str, Any]:
        d = {"id": self.id, "system": self.system, "output": self.output, "rule": self.rule,
             "status": self.status, "detail": self.detail}
        if self.mismatches:
            d["mismatches"] = self.mismatches
        return d


def summarize(results: list[Result]) -> dict[str, dict[str, int]]:
    """Per system: counts of each status over outputs, plus ``vectors`` (distinct ids) and
    ``vectors_pass`` (ids whose every listed output passed)."""
    out: dict[str, dict[str, int]] = {}
    status_by_id: dict[str, set[str]] = {}
    for r in results:
        row = out.setdefault(r.system, {"vectors": 0, "vectors_pass": 0})
        row[r.status] = row.get(r.status, 0) + 1
        status_by_id.setdefault(r.id, set()).add(r.status)
    for vid, statuses in status_by_id.items():
        row = out[vid.split(".", 1)[0]]
        row["vectors"] += 1
        row["vectors_pass"] += statuses == {"PASS"}
    return dict(sorted(out.items()))


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
            ok, detail, mism = rule.compare(got[name], want[name])
            results.append(Result(vid, name, rule.describe(), "PASS" if ok else "FAIL", detail, mism))
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
                elif _docs_differ(vec, old):
                    status, detail = "DOCS", "files identical; doc fields differ (--write updates them only)"
        results.append(Result(vec.id, "*", "-", status, detail))
        if status != "SAME" or write:
            new_entries[vec.id] = (vec, inputs, outputs)
    if write:
        for vid, (vec, inputs, outputs) in new_entries.items():
            old = manifest["vectors"].get(vid)
            status = next(r.status for r in results if r.id == vid)
            if status == "SAME" and old is not None:
                continue  # keep the original platform/date record
            if status == "DOCS":
                manifest["vectors"][vid] = apply_docs(old, vec)  # files, hashes, platform, date kept
                continue
            manifest["vectors"][vid] = write_vector(root, vec, inputs, outputs, platform)
        _write_manifest(root, manifest)
    return results


def _write_manifest(root: Path, manifest: dict) -> None:
    manifest["vectors"] = dict(sorted(manifest["vectors"].items()))
    tmp = root / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=False) + "\n")
    tmp.replace(root / "manifest.json")


def refresh_docs(root: Path, vectors: list[Vector], write: bool,
                 select: Callable[[str], bool] = lambda _: True) -> list[Result]:
    """Copy the doc fields (description, params_doc, inputs/outputs doc) of the selected
    vector definitions into the manifest without recomputing anything: files, SHA-256,
    platform and date are untouched.  Status DOCS (differs; written with ``write``), SAME,
    or MISSING (not in the manifest: use regen)."""
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = load_manifest(root)
        results: list[Result] = []
        changed = False
        for vec in vectors:
            if not select(vec.id):
                continue
            old = manifest["vectors"].get(vec.id)
            if old is None:
                results.append(Result(vec.id, "*", "-", "MISSING", "not in golden/ (run regen)"))
            elif _docs_differ(vec, old):
                results.append(Result(vec.id, "*", "-", "DOCS", "doc fields differ" + (" (updated)" if write else "")))
                if write:
                    manifest["vectors"][vec.id] = apply_docs(old, vec)
                    changed = True
            else:
                results.append(Result(vec.id, "*", "-", "SAME", "docs identical"))
        if changed:
            _write_manifest(root, manifest)
        return results


@dataclass
class ConformReport:
    """Result of :func:`conform_report`: one row per golden output, and the candidate's
    files (or safetensors keys) that match no vector output."""

    results: list[Result]
    stray: list[str]


def conform(golden_root: Path, candidate: Path,
            select: Callable[[str], bool] = lambda _: True) -> list[Result]:
    """Rows of :func:`conform_report` (kept for callers that need only the rows)."""
    return conform_report(golden_root, candidate, select).results


def conform_report(golden_root: Path, candidate: Path,
                   select: Callable[[str], bool] = lambda _: True) -> ConformReport:
    """Compare a third party's outputs (laid out like golden/) with the golden outputs.

    The candidate directory holds, for a vector ``<system>/<id>``, either
    ``<system>/<id>.safetensors`` with keys ``out.<name>`` and/or files
    ``<system>/<id>.out.<name>.bin``.  Outputs with no candidate value are MISSING; a FAIL
    row lists the first differing elements (index, got, want).  Files under the candidate
    that match no vector output (other than copies of golden inputs and ``manifest.json``)
    are reported in ``stray``, as are ``out.*`` keys of a matching safetensors file that
    name no output of that vector.
    """
    from safetensors.numpy import load_file

    manifest = load_manifest(golden_root)
    results: list[Result] = []
    expected: set[str] = {"manifest.json"}
    for vid, entry in sorted(manifest["vectors"].items()):
        sysdir = entry["system"]
        expected.add(f"{sysdir}/{vid}.safetensors")
        for kind, tag in (("inputs", "in"), ("outputs", "out")):
            for name, meta in entry[kind].items():
                if "key" not in meta:
                    expected.add(f"{sysdir}/{vid}.{tag}.{name}.bin")
    stray: list[str] = []
    if candidate.is_dir():
        for path in sorted(candidate.rglob("*")):
            rel = path.relative_to(candidate).as_posix()
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(candidate).parts) \
                    and rel not in expected:
                stray.append(rel)
    for vid, entry in sorted(manifest["vectors"].items()):
        if not select(vid):
            continue
        want = read_values(golden_root, entry, "outputs")
        st = candidate / entry["system"] / f"{vid}.safetensors"
        tensors: dict[str, np.ndarray] = {}
        if st.exists():
            try:
                tensors = load_file(str(st))
            except Exception as exc:
                results.append(Result(vid, "*", "-", "ERROR", f"unreadable {st.name}: {exc}"[:200]))
                continue
            known = {meta["key"] for meta in entry["outputs"].values() if "key" in meta}
            known |= {meta["key"] for meta in entry["inputs"].values() if "key" in meta}
            stray.extend(f"{entry['system']}/{st.name}:{k}" for k in sorted(set(tensors) - known))
        for name, meta in entry["outputs"].items():
            rule = Rule.from_json(meta["compare"])
            if "key" in meta:
                got = tensors.get(meta["key"])
                where = f"key {meta['key']} in {entry['system']}/{vid}.safetensors"
            else:
                p = candidate / entry["system"] / f"{vid}.out.{name}.bin"
                got = p.read_bytes() if p.exists() else None
                where = f"{entry['system']}/{p.name}"
            if got is None:
                results.append(Result(vid, name, rule.describe(), "MISSING", f"no candidate output ({where})"))
                continue
            ok, detail, mism = rule.compare(got, want[name])
            results.append(Result(vid, name, rule.describe(), "PASS" if ok else "FAIL", detail, mism))
    return ConformReport(results, stray)
