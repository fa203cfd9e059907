"""`codecref data fetch` machinery with stand-in apt-get / dpkg-deb (no network in tests)."""

import io
import json
import os
import stat
import hashlib
from pathlib import Path

import pytest

from ref.core.errors import InputError
from ref.data import corpus as C
from tests.data.test_bundles import make_eet, make_rcc


def _img(fmt, w, h):
    from PIL import Image

    b = io.BytesIO()
    Image.new("RGB", (w, h), (w % 256, h % 256, 7)).save(b, format=fmt)
    return b.getvalue()


@pytest.fixture
def fake_debian(tmp_path, monkeypatch):
    """Two unpacked 'packages' and stand-in apt-get / dpkg-deb scripts on PATH."""
    pk = tmp_path / "pkgs"
    g = pk / "gcompris-qt-data" / "usr/share/gcompris-qt/rcc"
    g.mkdir(parents=True)
    res = {"gorilla.webp": _img("WEBP", 300, 260), "tiny.webp": _img("WEBP", 300, 100),
           "README": b"licences", "other.svg": b"<svg/>"}
    (g / "erase.rcc").write_bytes(make_rcc({"gcompris": {"src": {"activities": {"erase": {"resource": res}}}}},
                                           compress={"gorilla.webp"}))
    e = pk / "enlightenment-data" / "usr/share/enlightenment/data/backgrounds"
    e.mkdir(parents=True)
    big = _img("JPEG", 96, 64)
    (e / "Bamboo.edj").write_bytes(make_eet([("edje/images/1", 0, _img("JPEG", 24, 16)), ("edje/images/0", 0, big)]))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "apt.log"
    (bindir / "apt-get").write_text(f"""#!/bin/sh
echo "$@" >> {log}
shift
for p in "$@"; do
  if [ ! -d "{pk}/$p" ]; then echo "E: Unable to locate package $p" >&2; exit 100; fi
  echo "{pk}/$p" > "${{p}}_1.0-1_all.deb"
done
""")
    (bindir / "dpkg-deb").write_text("""#!/bin/sh
if [ "$1" = "-f" ]; then echo "1.0-1"; exit 0; fi
if [ "$1" = "-x" ]; then mkdir -p "$3" && cp -r "$(cat "$2")"/. "$3"/; exit 0; fi
exit 2
""")
    for f in bindir.iterdir():
        f.chmod(f.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    sources = (C.Source("gcompris-qt-data", "train", "GPL-3+", 1, _only_erase),
               C.Source("enlightenment-data", "eval", "BSD-2-clause", 1, _only_bamboo))
    return {"sources": sources, "big": big, "gorilla": res["gorilla.webp"], "log": log, "pkgs": pk}


def _only_erase(root):
    saved = C.GCOMPRIS_ACTIVITIES
    C.GCOMPRIS_ACTIVITIES = {"erase": saved["erase"]}
    try:
        yield from C.pick_gcompris(root)
    finally:
        C.GCOMPRIS_ACTIVITIES = saved


def _only_bamboo(root):
    saved = C.ENLIGHTENMENT
    C.ENLIGHTENMENT = ("Bamboo",)
    try:
        yield from C.pick_enlightenment(root)
    finally:
        C.ENLIGHTENMENT = saved


def test_fetch_writes_splits_and_manifest_then_only_verifies(tmp_path, fake_debian):
    root = tmp_path / "corpus"
    r = C.fetch(root, sources=fake_debian["sources"], echo=lambda s: None)
    assert r["action"] == "fetched" and r["counts"] == {"train": 1, "eval": 1}
    assert not (tmp_path / "corpus.partial").exists()
    m = json.loads((root / "manifest.json").read_text())
    by = {f["file"]: f for f in m["files"]}
    g = by["gcompris-erase-gorilla.webp"]
    assert (root / "train" / g["file"]).read_bytes() == fake_debian["gorilla"]  # original bytes
    assert g["sha256"] == hashlib.sha256(fake_debian["gorilla"]).hexdigest()
    assert (g["width"], g["height"], g["version"], g["split"]) == (300, 260, "1.0-1", "train")
    assert g["inside"].endswith("erase.rcc:/gcompris/src/activities/erase/resource/gorilla.webp")
    b = by["enlightenment-Bamboo.jpg"]
    assert (root / "eval" / b["file"]).read_bytes() == fake_debian["big"]  # the largest entry
    assert (b["width"], b["height"], b["size"]) == (96, 64, len(fake_debian["big"]))
    assert C.corpus_files("eval", root) == [root / "eval" / "enlightenment-Bamboo.jpg"]
    # second run: verification only, no download
    calls = fake_debian["log"].read_text().count("download")
    r2 = C.fetch(root, sources=fake_debian["sources"], echo=lambda s: None)
    assert r2["action"] == "verified" and fake_debian["log"].read_text().count("download") == calls
    (root / "eval" / b["file"]).write_bytes(b"x" + fake_debian["big"][1:])
    with pytest.raises(InputError, match="damaged"):
        C.fetch(root, sources=fake_debian["sources"])


def test_failed_download_leaves_nothing_that_looks_complete(tmp_path, fake_debian):
    root = tmp_path / "corpus"
    srcs = fake_debian["sources"] + (C.Source("no-such-package", "eval", "x", 1, _only_bamboo),)
    with pytest.raises(InputError, match="Unable to locate package no-such-package"):
        C.fetch(root, sources=srcs, echo=lambda s: None)
    assert not root.exists() and not (tmp_path / "corpus.partial").exists()


def test_wrong_photo_count_aborts_before_the_rename(tmp_path, fake_debian):
    root = tmp_path / "corpus"
    g, e = fake_debian["sources"]
    srcs = (C.Source(g.package, g.split, g.licence, 2, g.pick), e)
    with pytest.raises(InputError, match="found 1 photographs, expected 2"):
        C.fetch(root, sources=srcs, echo=lambda s: None)
    assert not root.exists() and not (tmp_path / "corpus.partial").exists()


def test_missing_tools_and_foreign_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InputError, match="needs apt-get"):
        C.fetch(tmp_path / "c")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x").write_text("mine")
    with pytest.raises(InputError, match="not a codecref corpus"):
        C.fetch(tmp_path / "d")


def test_default_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CODECREF_CORPUS", str(tmp_path / "elsewhere"))
    assert C.default_dir() == tmp_path / "elsewhere"
    assert C.corpus_files("train") == []
    monkeypatch.delenv("CODECREF_CORPUS")
    assert C.default_dir().name == "corpus"
