"""Every golden vector says what it computes, and docs/vectors.md shows it.

* every manifest entry has a description and a doc for each input, param and output that
  cites at least one of its spec IDs, equal to the docs in the code (``doc_problems``);
* doc-only edits are DOCS in regen (not CHANGED) and ``refresh_docs`` writes them without
  touching any file, hash, platform or date;
* docs/vectors.md is the rendering of the manifest (``codecref golden docs``).
"""

import json

import numpy as np

from ref.conformance import golden as g
from ref.conformance import vector_docs


def test_every_vector_documents_inputs_params_outputs():
    manifest = g.load_manifest(g.default_root())
    code = {v.id: v for v in g.discover()}
    problems = [p for vid, e in sorted(manifest["vectors"].items()) for p in g.doc_problems(e, code.get(vid))]
    assert problems == []


def test_docs_vectors_md_is_up_to_date():
    text = vector_docs.render(g.load_manifest(g.default_root()))
    assert vector_docs.default_path().read_text() == text, "run: codecref golden docs"


def _vec(doc="x doubled ([core.selftest])", pdoc="factor"):
    return g.Vector(
        id="core.selftest.docs", equations=("core.selftest",), function="tests.f",
        make_inputs=lambda: {"x": np.arange(4, dtype=np.int32), "raw": b"ab"},
        run=lambda inputs, k: {"y": inputs["x"] * k}, params={"k": 2}, description="a test",
        inputs_doc={"x": "int32 (4,)", "raw": "two bytes"}, params_doc={"k": pdoc}, outputs_doc={"y": doc},
    )


def test_doc_problems_flags_every_gap():
    entry = {"id": "v", "equations": ["core.a"], "description": "", "params": {"k": 1},
             "inputs": {"x": {"key": "in.x"}}, "outputs": {"y": {"key": "out.y", "compare": {"rule": "exact"}}}}
    probs = g.doc_problems(entry)
    assert any("no description" in p for p in probs)
    assert any("no input doc for x" in p for p in probs)
    assert any("no param doc for k" in p for p in probs)
    assert any("no output doc for y" in p for p in probs)
    assert any("cite none" in p for p in probs)


def test_doc_only_change_is_docs_not_changed_and_refresh_keeps_files(tmp_path):
    g.regen(tmp_path, [_vec()], write=True, platform={"machine": "a"})
    before = json.loads((tmp_path / "manifest.json").read_text())["vectors"]["core.selftest.docs"]
    assert g.doc_problems(before, _vec()) == []
    new = _vec(doc="x times k ([core.selftest])", pdoc="the factor k")
    assert [r.status for r in g.regen(tmp_path, [new], write=False, platform={"machine": "b"})] == ["DOCS"]
    assert any("differ from the code" in p for p in g.doc_problems(before, new))
    res = g.refresh_docs(tmp_path, [new], write=True)
    assert [r.status for r in res] == ["DOCS"]
    after = json.loads((tmp_path / "manifest.json").read_text())["vectors"]["core.selftest.docs"]
    assert after["outputs"]["y"]["doc"] == "x times k ([core.selftest])"
    assert after["params_doc"] == {"k": "the factor k"}
    for key in ("files", "platform", "created", "params", "equations"):
        assert after[key] == before[key]
    assert g.regen(tmp_path, [new], write=False, platform={"machine": "b"})[0].status == "SAME"
    # regen --write of a DOCS vector also only rewrites the doc fields
    newer = _vec(doc="2 x ([core.selftest])")
    g.regen(tmp_path, [newer], write=True, platform={"machine": "c"})
    last = json.loads((tmp_path / "manifest.json").read_text())["vectors"]["core.selftest.docs"]
    assert last["platform"] == {"machine": "a"} and last["outputs"]["y"]["doc"] == "2 x ([core.selftest])"


def test_wildcard_docs_cover_parameter_trees(tmp_path):
    v = g.Vector(id="core.selftest.tree", equations=("core.selftest",), function="f",
                 make_inputs=lambda: {"p.a": np.zeros(1), "p.b": np.ones(1)},
                 run=lambda inputs: {"s": inputs["p.a"] + inputs["p.b"]}, description="d",
                 inputs_doc={"p.*": "parameters"}, outputs_doc={"s": "sum [core.selftest]"})
    g.regen(tmp_path, [v], write=True, platform={})
    e = json.loads((tmp_path / "manifest.json").read_text())["vectors"]["core.selftest.tree"]
    assert e["inputs"]["p.a"]["doc"] == e["inputs"]["p.b"]["doc"] == "parameters"
    assert g.doc_problems(e, v) == []
