"""The core round trip of `codecref demo`, and the demo command end to end."""

import subprocess
import sys

import numpy as np
import pytest

from ref.app.demo import core_decode, core_encode
from ref.core.errors import BitstreamError
from ref.data.imageio import bundled_image_path, read_image


@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 5, 3), (33, 17, 1)])
def test_core_round_trip_is_lossless(shape):
    img = np.random.default_rng(sum(shape)).integers(0, 256, size=shape, dtype=np.uint8)
    data = core_encode(img)
    assert np.array_equal(core_decode(data), img)
    assert np.array_equal(core_decode(data, backend="mirror"), img)


def test_core_round_trip_on_the_bundled_photograph_beats_raw():
    img = read_image(bundled_image_path())[:128, :160]
    data = core_encode(img)
    assert np.array_equal(core_decode(data), img)
    assert len(data) < 0.75 * img.size


def test_corrupted_core_streams_are_rejected():
    img = read_image(bundled_image_path())[:32, :32]
    data = bytearray(core_encode(img))
    for cut in (0, 5, len(data) // 2, len(data) - 1):
        with pytest.raises(BitstreamError):
            core_decode(bytes(data[:cut]))
    for bit in range(0, 8 * len(data), 97):
        bad = bytearray(data)
        bad[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(BitstreamError):
            core_decode(bytes(bad))


def test_demo_command_runs_every_implemented_system(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ref", "demo", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=900, env={"COLUMNS": "200", "PATH": ""})
    assert proc.returncode == 0, proc.stderr
    assert "core" in proc.stdout and "lossless" in proc.stdout
    assert (tmp_path / "core.cref").exists()
