"""The photo corpus: natural photographs from Debian packages (spec/data.md, docs/data.md).

``codecref data fetch [DIR]`` downloads eight packages with ``apt-get download``, unpacks
each with ``dpkg-deb -x`` (nothing is installed), picks the photographs listed in
:data:`SOURCES` (including those inside Qt ``.rcc`` and EET ``.edj`` bundles,
:mod:`ref.data.bundles`) and writes::

    DIR/train/<name>   DIR/eval/<name>   DIR/manifest.json

Images are stored as the **original bytes** found in the package (JPEG, WebP or PNG; an
``.edj`` photo is its largest plain JPEG entry), so nothing is re-encoded; the manifest
records, per file: name, split, package, version, licence, path inside the package,
width, height, size in bytes and SHA-256.

The corpus is built in ``DIR.partial`` and renamed to ``DIR`` only when complete, so a
directory named ``DIR`` with a ``manifest.json`` is always a whole corpus.  A second
fetch verifies every file's size and SHA-256 and does nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ref.core.errors import InputError
from ref.data.bundles import read_eet_jpegs, read_rcc

MANIFEST = "manifest.json"
FORMAT = "codecref.corpus/1"
SPLITS = ("train", "eval")
ENV = "CODECREF_CORPUS"

#: gcompris activities and the folder (inside the bundle) whose .webp files are photographs
GCOMPRIS_ACTIVITIES = {
    "erase": r"/resource/[^/]+\.webp",
    "explore_monuments": r"/resource/.*\.webp",
    "explore_world_animals": r"/resource/animals/[^/]+\.webp",
    "explore_farm_animals": r"/resource/animals/[^/]+\.webp",
    "explore_world_music": r"/resource/music/[^/]+\.webp",
    "clickgame": r"/resource/sea\d+\.webp",
}
GCOMPRIS_MIN_SIDE = 256
ENLIGHTENMENT = ("Bamboo", "Foggy-Trees", "God-Rays", "Green-Maple", "Lichen-Branches", "Mountain", "Peaks",
                 "Red-Maple", "Sea-of-Lanterns", "Snow-Trees", "Spruce-Needles", "Sunset-Clouds",
                 "White-Flower", "Yellow-Flower")
PLASMA = ("BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey",
          "Kite", "OneStandsOut", "Path", "summer_1am")
LXQT = ("Butterfly-Kenneth-Wimer.jpg", "Valendas.png", "after-the-rain.jpg", "appleflower.png", "beam.png",
        "butterfly.png", "cloud.png", "drop.png", "flowers.png", "fog.jpg", "this-is-not-windows.jpg")
LOMIRI_SKIP = ("analogpattern", "umang", "Fossa", "Infinite-Sea", "Painting-Colors")
PALAPELI = ("castle-maintenon", "cincinnati-bridge", "citrus-fruits", "european-honey-bee",
            "panther-chameleon-female")

# a picker gets the unpacked package root and yields (corpus name stem, path inside, bytes)
Picked = Iterator[tuple[str, str, bytes]]


@dataclass(frozen=True)
class Source:
    """One Debian package and the photographs taken from it."""

    package: str
    split: str
    licence: str
    expected: int  # number of photographs this picker yields for the bookworm version
    pick: Callable[[Path], Picked]


def _files(root: Path, rel: str, pattern: str = "*") -> list[Path]:
    d = root / rel
    if not d.is_dir():
        raise InputError(f"package layout changed: {rel} is missing")
    return sorted(p for p in d.glob(pattern) if p.is_file())


def _short_side(data: bytes) -> int:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return min(im.size)


def pick_gcompris(root: Path) -> Picked:
    """Photographs inside GCompris activity bundles (webp, short side >= 256)."""
    for act, pat in GCOMPRIS_ACTIVITIES.items():
        rel = f"usr/share/gcompris-qt/rcc/{act}.rcc"
        path = root / rel
        if not path.is_file():
            raise InputError(f"package layout changed: {rel} is missing")
        rx = re.compile(rf"/activities/{act}{pat}$")
        for inner, data in sorted(read_rcc(path.read_bytes()).items()):
            if rx.search(inner) and _short_side(data) >= GCOMPRIS_MIN_SIDE:
                stem = inner.rsplit("/", 1)[1].rsplit(".", 1)[0]
                yield f"gcompris-{act}-{stem}", f"{rel}:{inner}", data


def pick_enlightenment(root: Path) -> Picked:
    """The largest plain JPEG entry of each chosen .edj wallpaper."""
    for name in ENLIGHTENMENT:
        rel = f"usr/share/enlightenment/data/backgrounds/{name}.edj"
        path = root / rel
        if not path.is_file():
            raise InputError(f"package layout changed: {rel} is missing")
        jpegs = read_eet_jpegs(path.read_bytes())
        if not jpegs:
            raise InputError(f"{rel}: no plain JPEG entry")
        inner, data = max(sorted(jpegs.items()), key=lambda kv: len(kv[1]))
        yield f"enlightenment-{name}", f"{rel}:{inner}", data


def _pixels(p: Path) -> int:
    m = re.fullmatch(r"(\d+)x(\d+)", p.stem)
    return int(m[1]) * int(m[2]) if m else 0


def pick_plasma(root: Path) -> Picked:
    """The largest (by the WxH in its name) file of each chosen wallpaper's contents/images."""
    for name in PLASMA:
        rel = f"usr/share/wallpapers/{name}/contents/images"
        files = _files(root, rel)
        best = max(files, key=lambda p: (_pixels(p), p.name))
        yield f"plasma-{name}", f"{rel}/{best.name}", best.read_bytes()


def pick_mate(root: Path) -> Picked:
    rel = "usr/share/backgrounds/mate/nature"
    for p in _files(root, rel, "*.jpg"):
        yield f"mate-{p.stem}", f"{rel}/{p.name}", p.read_bytes()


def pick_lxqt(root: Path) -> Picked:
    rel = "usr/share/lxqt/wallpapers"
    for name in LXQT:
        p = root / rel / name
        if not p.is_file():
            raise InputError(f"package layout changed: {rel}/{name} is missing")
        yield f"lxqt-{p.stem}", f"{rel}/{name}", p.read_bytes()


def pick_lomiri(root: Path) -> Picked:
    rel = "usr/share/backgrounds"
    for p in _files(root, rel, "*_by_*.jpg"):
        if not p.name.startswith(LOMIRI_SKIP):
            yield f"lomiri-{p.stem}", f"{rel}/{p.name}", p.read_bytes()


def pick_palapeli(root: Path) -> Picked:
    rel = "usr/share/palapeli/collection"
    for name in PALAPELI:
        p = root / rel / f"{name}.jpg"
        if not p.is_file():
            raise InputError(f"package layout changed: {rel}/{name}.jpg is missing")
        yield f"palapeli-{name}", f"{rel}/{name}.jpg", p.read_bytes()


SOURCES = (
    Source("gcompris-qt-data", "train", "GPL-3+ / CC-BY-SA-4.0 / public domain (per file: the activity's "
           "resource README and debian/copyright)", 121, pick_gcompris),
    Source("enlightenment-data", "train", "BSD-2-clause", 14, pick_enlightenment),
    Source("plasma-workspace-wallpapers", "train", "GPL-2+", 11, pick_plasma),
    Source("mate-backgrounds", "train", "GPL-2+", 12, pick_mate),
    Source("lxqt-themes", "train", "LGPL-2.1+", 11, pick_lxqt),
    Source("lomiri-wallpapers-16.04", "eval", "CC-BY-4.0 / CC-BY-SA / CC0 (per file: debian/copyright)", 13, pick_lomiri),
    Source("lomiri-wallpapers-20.04", "eval", "CC-BY-4.0 / CC-BY-SA / CC0 (per file: debian/copyright)", 1, pick_lomiri),
    Source("palapeli-data", "eval", "GPL-2+", 5, pick_palapeli),
)


# --------------------------------------------------------------------------- location
def default_dir() -> Path:
    """$CODECREF_CORPUS, else ``<repository>/corpus``."""
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "corpus"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(root: Path | None = None) -> dict | None:
    """The manifest of a complete corpus at ``root`` (default :func:`default_dir`), or None."""
    root = Path(root) if root is not None else default_dir()
    p = root / MANIFEST
    if not p.is_file():
        return None
    try:
        m = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{p}: unreadable corpus manifest ({exc})") from None
    if m.get("format") != FORMAT or not isinstance(m.get("files"), list):
        raise InputError(f"{p}: not a {FORMAT} manifest")
    return m


def verify(root: Path, manifest: dict) -> list[str]:
    """Problems found (missing file, size or SHA-256 mismatch); empty when the corpus is intact."""
    bad = []
    for f in manifest["files"]:
        p = Path(root) / f["split"] / f["file"]
        if not p.is_file():
            bad.append(f"{f['split']}/{f['file']}: missing")
            continue
        data = p.read_bytes()
        if len(data) != f["size"] or sha256(data) != f["sha256"]:
            bad.append(f"{f['split']}/{f['file']}: size or SHA-256 differs from the manifest")
    return bad


def corpus_files(split: str, root: Path | None = None) -> list[Path]:
    """Paths of one split's photographs (manifest order); [] when no corpus is present."""
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r} (choose from {', '.join(SPLITS)})")
    root = Path(root) if root is not None else default_dir()
    m = read_manifest(root)
    if m is None:
        return []
    return [root / split / f["file"] for f in m["files"] if f["split"] == split]


FETCH_HINT = "fetch the photo corpus with `codecref data fetch` (about 1 minute, ~640 MB download)"


# --------------------------------------------------------------------------- fetch
def _run(cmd: list[str], cwd: Path, what: str) -> None:
    try:
        r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError as exc:
        raise InputError(f"{what}: cannot run {cmd[0]} ({exc})") from None
    if r.returncode != 0:
        lines = [ln for ln in (r.stderr or r.stdout).splitlines() if ln.strip()]
        errs = [ln for ln in lines if ln.startswith("E:")] or lines[-1:]
        raise InputError(f"{what} failed: {' '.join(errs) or f'exit status {r.returncode}'}")


def _need_tools() -> None:
    for tool, pkg in (("apt-get", "apt"), ("dpkg-deb", "dpkg")):
        if shutil.which(tool) is None:
            raise InputError(f"`codecref data fetch` needs {tool} (Debian/Ubuntu package {pkg}); it is not on PATH")


def _deb_version(deb: Path) -> str:
    r = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode != 0:
        raise InputError(f"{deb.name}: dpkg-deb cannot read it ({r.stderr.strip()})")
    return r.stdout.strip()


def _image_size(data: bytes, what: str) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return im.size
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"{what}: not a decodable image ({exc})") from None


def build(out: Path, unpacked: dict[str, Path], versions: dict[str, str],
          sources=SOURCES, echo=lambda s: None) -> dict:
    """Write the corpus from unpacked packages ``{package: root}`` into the empty dir ``out``
    and return its manifest (also written to ``out/manifest.json``)."""
    files = []
    for split in SPLITS:
        (out / split).mkdir(parents=True, exist_ok=True)
    for src in sources:
        got = 0
        for stem, inner, data in src.pick(unpacked[src.package]):
            w, h = _image_size(data, f"{src.package}:{inner}")
            ext = {b"\xff\xd8": ".jpg", b"\x89P": ".png", b"RI": ".webp"}.get(data[:2])
            if ext is None:
                raise InputError(f"{src.package}:{inner}: unexpected image format")
            name = stem + ext
            if any(f["file"] == name for f in files):
                raise InputError(f"two photographs map to the same corpus name {name}")
            (out / src.split / name).write_bytes(data)
            files.append({"file": name, "split": src.split, "package": src.package,
                          "version": versions[src.package], "licence": src.licence, "inside": inner,
                          "width": w, "height": h, "size": len(data), "sha256": sha256(data)})
            got += 1
        if got != src.expected:
            raise InputError(f"{src.package} {versions[src.package]}: found {got} photographs, expected "
                             f"{src.expected} (package contents changed?)")
        echo(f"  {src.package} {versions[src.package]}: {got} photographs -> {src.split}/")
    manifest = {"format": FORMAT, "files": files,
                "counts": {s: sum(f["split"] == s for f in files) for s in SPLITS},
                "pixels": {s: sum(f["width"] * f["height"] for f in files if f["split"] == s) for s in SPLITS}}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def fetch(root: Path | None = None, *, echo=print, sources=SOURCES) -> dict:
    """Fetch (or verify) the corpus at ``root``; returns {"root", "counts", "seconds", "action"}."""
    t0 = time.time()
    root = Path(root) if root is not None else default_dir()
    m = read_manifest(root)
    if m is not None:
        bad = verify(root, m)
        if bad:
            raise InputError(f"{root}: corpus damaged ({bad[0]}{' and more' if len(bad) > 1 else ''}); "
                             f"delete {root} and fetch again")
        return {"root": root, "counts": m["counts"], "seconds": time.time() - t0, "action": "verified"}
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise InputError(f"{root} exists and is not a codecref corpus (no {MANIFEST}); choose another DIR")
    _need_tools()
    root.parent.mkdir(parents=True, exist_ok=True)
    partial = root.with_name(root.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    packages = list(dict.fromkeys(s.package for s in sources))
    with tempfile.TemporaryDirectory(prefix="codecref-corpus-") as tmp:
        tmp = Path(tmp)
        echo(f"downloading {len(packages)} packages with apt-get download ...")
        _run(["apt-get", "download", *packages], tmp, "apt-get download " + " ".join(packages))
        debs = {}
        for pkg in packages:
            found = sorted(tmp.glob(f"{pkg}_*.deb"))
            if len(found) != 1:
                raise InputError(f"apt-get download did not produce {pkg}_*.deb")
            debs[pkg] = found[0]
        versions = {pkg: _deb_version(d) for pkg, d in debs.items()}
        unpacked = {}
        for pkg, deb in debs.items():
            unpacked[pkg] = tmp / ("x-" + pkg)
            _run(["dpkg-deb", "-x", str(deb), str(unpacked[pkg])], tmp, f"dpkg-deb -x {deb.name}")
            deb.unlink()
        echo(f"extracting photographs into {partial} ...")
        try:
            m = build(partial, unpacked, versions, sources, echo)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    if root.exists():
        root.rmdir()  # empty (checked above)
    os.replace(partial, root)
    return {"root": root, "counts": m["counts"], "seconds": time.time() - t0, "action": "fetched"}
