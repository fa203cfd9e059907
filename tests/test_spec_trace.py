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


def test_trace_one_id_prints_the_whole_chain_at_any_width():
    """`codecref spec trace easz.C28` at 40 columns: every function with the file:line of its
    def (found here by reading the source), every test with its line, every vector id."""
    from pathlib import Path

    from click.testing import CliRunner

    from ref.cli import cli

    res = CliRunner().invoke(cli, ["spec", "trace", "easz.C28"], env={"COLUMNS": "40"})
    assert res.exit_code == 0, res.output
    src = (Path(spec_trace.repo_root()) / "ref/easz/interp.py").read_text().splitlines()
    line = next(i for i, t in enumerate(src, 1) if t.startswith("def interpolate_per_patch("))
    assert f"ref.easz.interp.interpolate_per_patch  ref/easz/interp.py:{line}" in res.output
    assert "tests/easz/test_model.py::test_untrained_residual_model_is_exactly_the_interpolation" in res.output
    assert "easz.model.forward_n32_b4" in res.output and "spec/easz.md:" in res.output
    from ref.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["spec", "trace", "easz.no_such_id"])
    assert exc.value.code == 2                     # InputError: one line, exit 2


def test_trace_matrix_never_cuts_function_names():
    from click.testing import CliRunner

    from ref.cli import cli

    res = CliRunner().invoke(cli, ["spec", "trace"], env={"COLUMNS": "60"})
    assert "ref.easz.interp.interpolate_per_patch" in res.output
    assert "ref.moc.wpt.wpt_forward_np" in res.output
