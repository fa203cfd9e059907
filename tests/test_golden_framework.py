"""The golden-vector machinery itself: storage, SHA checks, rules, regen, conform."""

import json

import numpy as np
import pytest

from ref.conformance import golden as g


def _vec(scale=1, rule=g.EXACT):
    return g.Vector(
        id="core.selftest.double",
        equations=("core.selftest",),
        function="tests.double",
        make_inputs=lambda: {"x": np.arange(6, dtype=np.int32).reshape(2, 3), "blob": b"ab"},
        run=lambda inputs, k: {"y": inputs["x"] * k * scale, "blob2": inputs["blob"] * k,
                               "f": inputs["x"].astype(np.float64) / 3},
        params={"k": 2},
        rules={"f": rule},
    )


PLATFORM = {"machine": "test"}


def test_regen_dry_run_writes_nothing(tmp_path):
    res = g.regen(tmp_path, [_vec()], write=False, platform=PLATFORM)
    assert [r.status for r in res] == ["NEW"]
    assert not (tmp_path / "manifest.json").exists()


def test_regen_write_then_verify_passes(tmp_path):
    g.regen(tmp_path, [_vec()], write=True, platform=PLATFORM)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    entry = manifest["vectors"]["core.selftest.double"]
    assert entry["params"] == {"k": 2}
    assert entry["outputs"]["blob2"]["file"].endswith(".out.blob2.bin")
    assert (tmp_path / "core" / "core.selftest.double.out.blob2.bin").read_bytes() == b"abab"
    results = g.verify(tmp_path, [_vec()])
    assert {r.status for r in results} == {"PASS"}
    assert g.regen(tmp_path, [_vec()], write=False, platform=PLATFORM)[0].status == "SAME"


def test_changed_behaviour_is_detected_and_not_silently_written(tmp_path):
    g.regen(tmp_path, [_vec()], write=True, platform=PLATFORM)
    results = g.verify(tmp_path, [_vec(scale=3)])
    assert any(r.status == "FAIL" and r.output == "y" for r in results)
    res = g.regen(tmp_path, [_vec(scale=3)], write=False, platform=PLATFORM)
    assert res[0].status == "CHANGED" and "out.y" in res[0].detail
    assert {r.status for r in g.verify(tmp_path, [_vec()])} == {"PASS"}  # still the old vector


def test_tampered_file_fails_sha_check(tmp_path):
    g.regen(tmp_path, [_vec()], write=True, platform=PLATFORM)
    (tmp_path / "core" / "core.selftest.double.out.blob2.bin").write_bytes(b"abaX")
    results = g.verify(tmp_path, [_vec()])
    assert results[0].status == "ERROR" and "SHA-256" in results[0].detail


def test_vector_without_implementation_and_missing_vector(tmp_path):
    g.regen(tmp_path, [_vec()], write=True, platform=PLATFORM)
    assert g.verify(tmp_path, [])[0].status == "ERROR"
    other = g.Vector("core.selftest.other", ("core.selftest",), "f", lambda: {}, lambda inputs: {"z": np.zeros(1)})
    statuses = {r.id: r.status for r in g.verify(tmp_path, [_vec(), other])}
    assert statuses["core.selftest.other"] == "MISSING"


@pytest.mark.parametrize(
    "rule,got,want,ok",
    [
        (g.EXACT, np.array([1.0, 2.0]), np.array([1.0, 2.0]), True),
        (g.EXACT, np.array([0.0]), np.array([-0.0]), False),  # bitwise, not ==
        (g.EXACT, np.array([1, 2], np.int32), np.array([1, 2], np.int64), False),
        (g.allclose(0, 1e-6), np.array([1.0]), np.array([1.0 + 5e-7]), True),
        (g.allclose(0, 1e-6), np.array([1.0]), np.array([1.0 + 5e-6]), False),
        (g.allclose(0, 1.0), np.array([np.nan]), np.array([1.0]), False),
        (g.psnr_at_least(40), np.full(100, 100.0), np.full(100, 100.5), True),
        (g.psnr_at_least(60), np.full(100, 100.0), np.full(100, 100.5), False),
        (g.EXACT, b"abc", b"abc", True),
        (g.EXACT, b"abc", b"abd", False),
    ],
)
def test_rules(rule, got, want, ok):
    assert rule.check(got, want)[0] is ok
    assert g.Rule.from_json(rule.to_json()) == rule


def test_conform_checks_candidate_outputs(tmp_path):
    from safetensors.numpy import save_file

    gold = tmp_path / "golden"
    g.regen(gold, [_vec(rule=g.allclose(0, 1e-9))], write=True, platform=PLATFORM)
    cand = tmp_path / "cand" / "core"
    cand.mkdir(parents=True)
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    save_file({"out.y": x * 2, "out.f": x.astype(np.float64) / 3 + 1e-12}, str(cand / "core.selftest.double.safetensors"))
    res = {r.output: r.status for r in g.conform(gold, tmp_path / "cand")}
    assert res == {"y": "PASS", "f": "PASS", "blob2": "MISSING"}
    (cand / "core.selftest.double.out.blob2.bin").write_bytes(b"abaX")
    res = {r.output: r.status for r in g.conform(gold, tmp_path / "cand")}
    assert res["blob2"] == "FAIL"
