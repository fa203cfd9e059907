"""Traceability: every spec ID has a function, a test and a golden vector (and vice versa)."""

import pytest

from ref.conformance import spec_trace
from ref.core.registry import implements


def test_spec_trace_has_no_gaps():
    rows, problems = spec_trace.build()
    assert rows, "spec/ declares no IDs"
    assert problems == []


def test_every_declared_golden_vector_verifies_quickly_listed():
    rows, _ = spec_trace.build()
    assert all(r.vectors for r in rows)


def test_malformed_ids_are_rejected():
    with pytest.raises(ValueError):
        implements("Easz-1")


def test_static_test_scan_finds_markers(tmp_path):
    t = tmp_path / "tests"
    t.mkdir()
    (t / "test_x.py").write_text(
        "import pytest\npytestmark = pytest.mark.eq('core.a')\n"
        "@pytest.mark.eq('core.b', 'core.c')\ndef test_one():\n    pass\n"
    )
    found = spec_trace.test_ids(t)
    assert set(found) == {"core.a", "core.b", "core.c"}
    assert found["core.b"] == ["tests/test_x.py::test_one"]
