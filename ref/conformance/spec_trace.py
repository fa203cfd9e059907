"""Traceability matrix: spec ID -> implementing functions -> tests -> golden vectors.

* **Spec IDs** are declared in ``spec/*.md`` by a heading whose text starts with the
  ID in square brackets, e.g. ``### [easz.1] Intra-row constraint (paper eq. 1)``.
* **Implementations** are found in :data:`ref.core.registry.REGISTRY` after
  importing every module (``@implements("easz.1")``).
* **Tests** are found statically in ``tests/**/*.py``: a test function or class
  decorated with ``@pytest.mark.eq("easz.1", ...)``, or a module-level
  ``pytestmark = pytest.mark.eq(...)`` (covering all tests in the file).
* **Golden vectors** list their IDs in ``golden/manifest.json``.

``check`` reports every gap: an ID with no implementation, no test or no vector,
and every ID used in code/tests/vectors that the spec does not declare.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from ref.conformance.golden import load_manifest
from ref.core.registry import ID_RE, load_all

HEADING_RE = re.compile(r"^#{1,6}\s*\[([a-z]+\.[A-Za-z0-9_]+)\]\s*(.*)$")


@dataclass
class Row:
    eq_id: str
    title: str
    spec_file: str
    functions: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    vectors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return bool(self.functions and self.tests and self.vectors)


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def spec_ids(spec_dir: Path) -> dict[str, tuple[str, str]]:
    """{id: (title, file)} for every ID heading in spec/*.md."""
    ids: dict[str, tuple[str, str]] = {}
    for path in sorted(spec_dir.glob("*.md")):
        for line in path.read_text().splitlines():
            m = HEADING_RE.match(line)
            if m:
                if m.group(1) in ids:
                    raise ValueError(f"spec ID {m.group(1)} declared twice ({ids[m.group(1)][1]}, {path.name})")
                ids[m.group(1)] = (m.group(2).strip(), path.name)
    return ids


def _eq_marks(decorators: list[ast.expr]) -> list[str]:
    out: list[str] = []
    for d in decorators:
        if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == "eq":
            out.extend(a.value for a in d.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return out


def test_ids(tests_dir: Path) -> dict[str, list[str]]:
    """{equation id: [test node ids]} from ``@pytest.mark.eq`` markers (static scan)."""
    found: dict[str, list[str]] = {}
    for path in sorted(tests_dir.rglob("test_*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        rel = path.relative_to(tests_dir.parent).as_posix()
        module_ids: list[str] = []
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
            ):
                vals = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else [node.value]
                module_ids.extend(_eq_marks(vals))
        for eq in module_ids:
            found.setdefault(eq, []).append(rel)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                for eq in _eq_marks(node.decorator_list):
                    found.setdefault(eq, []).append(f"{rel}::{node.name}")
    return found


def build(root: Path | None = None) -> tuple[list[Row], list[str]]:
    """Return (rows, problems)."""
    root = root or repo_root()
    declared = spec_ids(root / "spec")
    registry = load_all()
    tests = test_ids(root / "tests")
    manifest = load_manifest(root / "golden")
    vectors: dict[str, list[str]] = {}
    for vid, entry in manifest["vectors"].items():
        for eq in entry.get("equations", []):
            vectors.setdefault(eq, []).append(vid)
    rows = [
        Row(
            eq_id,
            title,
            spec_file,
            functions=[e.path for e in registry.get(eq_id, [])],
            tests=tests.get(eq_id, []),
            vectors=vectors.get(eq_id, []),
        )
        for eq_id, (title, spec_file) in declared.items()
    ]
    problems: list[str] = []
    for r in rows:
        missing = [n for n, v in (("function", r.functions), ("test", r.tests), ("golden vector", r.vectors)) if not v]
        if missing:
            problems.append(f"{r.eq_id}: no {', no '.join(missing)}")
    problems.extend(porter_problems(root, manifest))
    for source, ids in (("code", registry), ("tests", tests), ("golden", vectors)):
        for eq in sorted(set(ids) - set(declared)):
            problems.append(f"{eq}: used in {source} but not declared in spec/")
        for eq in sorted(ids):
            if not ID_RE.match(eq):
                problems.append(f"{eq}: malformed ID in {source}")
    return rows, problems


def porter_problems(root: Path, manifest: dict) -> list[str]:
    """What a porter reading only spec/ and golden/ would miss: a vector without a
    description of every input, param and output (or whose manifest docs are older than the
    code's), and normative tables in spec/data/ that
    differ from the ones the code loads (``ref.conformance.spec_data``)."""
    from ref.conformance import golden, spec_data

    vectors = {v.id: v for v in golden.discover()}
    probs: list[str] = []
    for vid, entry in sorted(manifest["vectors"].items()):
        probs.extend(f"vector {p}" for p in golden.doc_problems(entry, vectors.get(vid)))
    probs.extend(f"spec data: {p}" for p in spec_data.problems(root))
    return probs


# --------------------------------------------------------------------------- one ID's chain
def function_location(path: str, root: Path | None = None) -> str:
    """``module.qualname`` -> ``ref/easz/recon.py:112`` (the line of its ``def``/``class``)."""
    import importlib
    import inspect

    root = root or repo_root()
    module, _, qual = path.rpartition(".")
    obj = None
    while module:
        try:
            obj = importlib.import_module(module)
            break
        except ImportError:
            module, _, head = module.rpartition(".")
            qual = f"{head}.{qual}"
    for part in qual.split("."):
        obj = getattr(obj, part, None)
    if obj is None:
        return "?"
    obj = inspect.unwrap(obj)
    try:
        lines, start = inspect.getsourcelines(obj)
        file = Path(inspect.getsourcefile(obj)).resolve()
    except (OSError, TypeError):
        return "?"
    for i, line in enumerate(lines):
        if line.lstrip().startswith(("def ", "class ", "async def ")):
            start += i
            break
    try:
        file = file.relative_to(root)
    except ValueError:
        pass
    return f"{file.as_posix()}:{start}"


def test_location(node_id: str, root: Path | None = None) -> str:
    """``tests/x.py::name`` -> ``tests/x.py:LINE`` of the def; ``tests/x.py`` (a module-wide
    ``pytestmark``) -> ``tests/x.py:LINE`` of that assignment."""
    root = root or repo_root()
    rel, _, name = node_id.partition("::")
    tree = ast.parse((root / rel).read_text())
    for node in ast.walk(tree):
        if name and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return f"{rel}:{node.lineno}"
        if not name and isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            return f"{rel}:{node.lineno}"
    return rel


def spec_location(eq_id: str, root: Path | None = None) -> str:
    """``spec/<file>.md:LINE`` of the ID's heading ('' if undeclared)."""
    root = root or repo_root()
    for path in sorted((root / "spec").glob("*.md")):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            m = HEADING_RE.match(line)
            if m and m.group(1) == eq_id:
                return f"spec/{path.name}:{i}"
    return ""


def chain_lines(eq_id: str, root: Path | None = None) -> list[str]:
    """The whole chain of one ID as plain lines (never cut at any terminal width): spec
    heading, every implementing function with file:line, every test with file:line, every
    golden vector.  An unknown ID gives one line saying so."""
    root = root or repo_root()
    rows, _ = build(root)
    row = next((r for r in rows if r.eq_id == eq_id), None)
    if row is None:
        return [f"{eq_id}: not declared in spec/"]
    out = [f"{row.eq_id}  {row.title}", f"  spec       {spec_location(eq_id, root)}"]
    out.append(f"  functions  ({len(row.functions)})")
    out += [f"    {f}  {function_location(f, root)}" for f in row.functions]
    out.append(f"  tests      ({len(row.tests)})")
    out += [f"    {t}  (line {test_location(t, root).rpartition(':')[2]})" if "::" in t
            else f"    {test_location(t, root)}  [module pytestmark: every test in the file]" for t in row.tests]
    out.append(f"  vectors    ({len(row.vectors)})")
    out += [f"    {v}" for v in row.vectors]
    missing = [n for n, v in (("function", row.functions), ("test", row.tests), ("vector", row.vectors)) if not v]
    out.append("  complete" if not missing else f"  GAP: no {', no '.join(missing)}")
    return out
