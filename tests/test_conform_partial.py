"""`codecref conform` on a partial port: right, wrong, missing and stray outputs.

A golden directory is made in the test from three small vectors (two systems); a candidate
directory then holds one correct output, one wrong one, leaves others out and adds files
that match no vector.  The report must name the first differing elements, count MISSING
rows (and hide them on request), summarise per system, warn about the stray files, print
JSON, and never cut an ID off when stdout is not a terminal.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import save_file

from ref.conformance import golden as g

LONG = "moc.selftest.a_vector_id_much_longer_than_eighty_columns_of_a_ci_log_would_show_in_one_table_row"
PLATFORM = {"machine": "test"}


def _vectors():
    ramp = g.Vector(
        id="core.selftest.ramp", equations=("core.selftest",), function="tests.ramp",
        make_inputs=lambda: {"x": np.arange(12, dtype=np.int32).reshape(3, 4)},
        run=lambda inputs: {"y": inputs["x"] * 3, "z": inputs["x"].astype(np.float64) / 7},
        rules={"z": g.allclose(0, 1e-12)},
    )
    blob = g.Vector(
        id="core.selftest.blob", equations=("core.selftest",), function="tests.blob",
        make_inputs=lambda: {}, run=lambda inputs: {"data": bytes(range(40))},
    )
    long = g.Vector(
        id=LONG, equations=("moc.selftest",), function="tests.long",
        make_inputs=lambda: {}, run=lambda inputs: {"w": np.full(5, 2.5)},
    )
    return [ramp, blob, long]


@pytest.fixture()
def dirs(tmp_path):
    gold = tmp_path / "golden"
    g.regen(gold, _vectors(), write=True, platform=PLATFORM)
    cand = tmp_path / "cand"
    (cand / "core").mkdir(parents=True)
    x = np.arange(12, dtype=np.int32).reshape(3, 4)
    y = x * 3
    y[1, 2] = 999                                            # one wrong element of y
    save_file({"out.y": y, "out.z": x.astype(np.float64) / 7,   # z right
               "out.extra": np.zeros(2)},                     # a key no vector has
              str(cand / "core" / "core.selftest.ramp.safetensors"))
    (cand / "core" / "core.selftest.blob.out.dta.bin").write_bytes(b"x")   # misspelt: stray
    (cand / "notes.txt").write_text("hello")                               # stray
    # moc.selftest...: not produced at all (MISSING); core.selftest.blob's data: MISSING
    return gold, cand


def test_report_rows_mismatches_stray_and_summary(dirs):
    gold, cand = dirs
    rep = g.conform_report(gold, cand)
    rows = {(r.id, r.output): r for r in rep.results}
    assert rows[("core.selftest.ramp", "z")].status == "PASS"
    bad = rows[("core.selftest.ramp", "y")]
    assert bad.status == "FAIL"
    assert bad.mismatches == [{"index": [1, 2], "got": 999, "want": 18}]
    assert "[1,2] got 999 want 18" in bad.detail
    assert rows[("core.selftest.blob", "data")].status == "MISSING"
    assert rows[(LONG, "w")].status == "MISSING"
    assert sorted(rep.stray) == ["core/core.selftest.blob.out.dta.bin",
                                 "core/core.selftest.ramp.safetensors:out.extra", "notes.txt"]
    summary = g.summarize(rep.results)
    assert summary["core"] == {"vectors": 2, "vectors_pass": 0, "PASS": 1, "FAIL": 1, "MISSING": 1}
    assert summary["moc"] == {"vectors": 1, "vectors_pass": 0, "MISSING": 1}


def test_bytes_mismatch_names_first_differing_byte(dirs):
    gold, cand = dirs
    data = bytearray(range(40))
    data[7] = 0xFF
    (cand / "core" / "core.selftest.blob.out.data.bin").write_bytes(bytes(data[:39]))
    r = next(r for r in g.conform(gold, cand) if r.id == "core.selftest.blob")
    assert r.status == "FAIL"
    assert r.mismatches[0] == {"index": [7], "got": 255, "want": 7}
    assert "len 39 vs 40" in r.detail and "[7] got 0xff want 0x07" in r.detail


def _cli(*args):
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run([sys.executable, "-m", "ref", "conform", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_cli_table_full_ids_summary_and_warnings(dirs):
    gold, cand = dirs
    p = _cli(str(cand), "--root", str(gold))
    assert p.returncode == 2, p.stderr            # a FAIL
    assert LONG in p.stdout                       # not truncated although stdout is a pipe
    assert "[1,2] got 999 want 18" in p.stdout
    assert "MISSING" in p.stdout and "per system" in p.stdout
    assert "warning: notes.txt matches no golden vector output" in p.stderr
    assert "core/core.selftest.ramp.safetensors:out.extra" in p.stderr
    assert p.stderr.strip().splitlines()[-1] == "error: 1 conformance check(s) did not pass"


def test_cli_only_produced_and_json(dirs):
    gold, cand = dirs
    p = _cli(str(cand), "--root", str(gold), "--only-produced")
    assert "MISSING" not in p.stdout.split("per system")[0].split("conformance of")[1]
    assert "2 missing rows hidden" in p.stdout
    p = _cli(str(cand), "--root", str(gold), "--json", "--only-produced")
    doc = json.loads(p.stdout)
    assert doc["counts"] == {"PASS": 1, "FAIL": 1, "MISSING": 2}
    assert {r["status"] for r in doc["results"]} == {"PASS", "FAIL"}
    fail = next(r for r in doc["results"] if r["status"] == "FAIL")
    assert fail["mismatches"] == [{"index": [1, 2], "got": 999, "want": 18}]
    assert doc["systems"]["moc"]["MISSING"] == 1 and len(doc["stray"]) == 3


def test_cli_exit_codes_for_passing_partial_port(dirs):
    gold, cand = dirs
    x = np.arange(12, dtype=np.int32).reshape(3, 4)
    save_file({"out.y": x * 3, "out.z": x.astype(np.float64) / 7},
              str(cand / "core" / "core.selftest.ramp.safetensors"))
    (cand / "core" / "core.selftest.blob.out.dta.bin").unlink()
    (cand / "notes.txt").unlink()
    assert _cli(str(cand), "--root", str(gold)).returncode == 0          # MISSING tolerated
    p = _cli(str(cand), "--root", str(gold), "--strict")
    assert p.returncode == 2 and "2 conformance check(s) did not pass" in p.stderr
    assert _cli(str(cand), "--root", str(gold), "--system", "core", "--id", "core.selftest.ramp").returncode == 0
