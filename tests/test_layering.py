"""The folder tree is the architecture: imports run one way (CLI -> app -> systems -> core).

Layers, bottom up (docs/architecture.md "Layout"):

* ``ref/core``        shared math, errors, the equation registry, the numerics environment;
* ``ref/data``        image I/O, the data policy, the photo corpus (uses core);
* ``ref/training``    training-loop plumbing shared by systems (uses core, data);
* ``ref/conformance`` golden vectors and the spec trace (uses core, data);
* ``ref/<system>``    easz, moc, hcf, ecf: each uses the layers above, never another system;
* ``ref/app``         demo, core benchmark, system plug-in lookup (may use systems);
* ``ref/cli/``        the command line (top).

The check reads every module's import statements (static AST scan, including imports
inside functions) and fails on any import that points up or sideways.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REF = Path(__file__).resolve().parents[1] / "ref"
SYSTEMS = ("easz", "moc", "hcf", "ecf")
ALLOWED = {
    "core": {"core"},
    "data": {"core", "data"},
    "training": {"core", "data", "training"},
    "conformance": {"core", "data", "conformance"},
    "app": {"core", "data", "training", "conformance", "app", *SYSTEMS},
    "cli": {"core", "data", "training", "conformance", "app", "cli", *SYSTEMS},
}
for _s in SYSTEMS:
    ALLOWED[_s] = {"core", "data", "training", "conformance", _s}


def _layer(path: Path) -> str | None:
    rel = path.relative_to(REF).parts
    if len(rel) == 1:  # ref/__init__.py, ref/__main__.py: top level
        return None
    return rel[0]


def _imported_layers(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        layers = {n.split(".")[1] for n in names if n.startswith("ref.") and n.count(".") >= 1}
        found.extend((node.lineno, layer) for layer in sorted(layers))
    return found


def _modules():
    return sorted(p for p in REF.rglob("*.py") if _layer(p) is not None and "weights" not in p.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(REF)))
def test_imports_point_down(path: Path) -> None:
    layer = _layer(path)
    allowed = ALLOWED.get(layer)
    assert allowed is not None, f"ref/{layer}/ is a new top-level package: give it a layer in this test and docs/architecture.md"
    bad = [(line, target) for line, target in _imported_layers(path) if target not in allowed]
    assert not bad, f"{path.relative_to(REF)} imports up or sideways: {bad}"


def test_scan_sees_a_violation(tmp_path: Path) -> None:
    """The scan itself can fail: an upward import inside a function is found."""
    p = tmp_path / "m.py"
    p.write_text("def f():\n    from ref.cli import main\n    import ref.easz.codec\n")
    assert [t for _, t in _imported_layers(p)] == ["cli", "easz"]
