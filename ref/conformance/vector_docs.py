"""Render ``golden/manifest.json`` into ``docs/vectors.md``: what every vector computes.

The page is generated (``codecref golden docs``; ``tests/test_vector_docs.py`` checks it is up
to date) from the manifest alone, so it says exactly what a porter can rely on: for each
vector its spec IDs, params, inputs and outputs with their storage (file, safetensors key,
dtype, shape or byte length), the comparison rule and the doc text of every name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

SYSTEM_TITLES = {
    "bits": "Container (`spec/bitstream.md`)",
    "core": "Core (`spec/core-*.md`)",
    "easz": "Easz (`spec/easz.md`)",
    "hcf": "HCF (`spec/hcf.md`)",
    "moc": "moc (`spec/moc.md`)",
    "ecf": "eContextformer (`spec/ecf.md`)",
}


def default_path() -> Path:
    return Path(__file__).resolve().parents[2] / "docs" / "vectors.md"


def _cell(text: Any) -> str:
    s = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    s = s.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # no raw HTML in Markdown
    return s.replace("*", "\\*").replace("~", "\\~")                    # no emphasis from 2**24


def _code_cell(text: str) -> str:
    """Text for a `code span` inside a table cell (entities are not decoded there)."""
    return text.replace("|", "\\|").replace("\n", " ")


def _storage(meta: Mapping[str, Any]) -> str:
    if "key" in meta:
        shape = "(" + ", ".join(map(str, meta["shape"])) + ("," if len(meta["shape"]) == 1 else "") + ")"
        return f"`{meta['key']}` {meta['dtype']} {shape}"
    return f"`{Path(meta['file']).name}` ({meta['bytes']} B)"


def _rule(meta: Mapping[str, Any]) -> str:
    c = meta["compare"]
    if c["rule"] == "exact":
        return "exact"
    if c["rule"] == "allclose":
        return f"allclose(rtol={c['rtol']:g}, atol={c['atol']:g})"
    return f"psnr>={c['db']:g} dB (peak {c['peak']:g})"


def render_entry(entry: Mapping[str, Any]) -> list[str]:
    out = [f"### `{entry['id']}`", ""]
    out.append(f"Spec IDs: {', '.join(f'[{e}]' for e in entry.get('equations', []))}.  "
               f"Reference function (informative): `{entry.get('function', '')}`.")
    out.append("")
    if entry.get("description"):
        out += [_cell(entry["description"]), ""]
    files = sorted(entry.get("files", {}))
    if files:
        out += ["Files: " + ", ".join(f"`golden/{f}`" for f in files) + ".", ""]
    params = entry.get("params", {})
    pdoc = entry.get("params_doc", {})
    if params:
        out += ["| param | value | meaning |", "|---|---|---|"]
        out += [f"| `{n}` | `{_code_cell(json.dumps(v, ensure_ascii=False))}` | {_cell(pdoc.get(n, ''))} |" for n, v in params.items()]
        out.append("")
    if entry.get("inputs"):
        out += ["| input | stored as | meaning |", "|---|---|---|"]
        out += [f"| `{n}` | {_storage(m)} | {_cell(m.get('doc', ''))} |" for n, m in entry["inputs"].items()]
        out.append("")
    else:
        out += ["No stored inputs: the params alone determine the outputs.", ""]
    out += ["| output | stored as | compare | how it is computed |", "|---|---|---|---|"]
    out += [f"| `{n}` | {_storage(m)} | {_rule(m)} | {_cell(m.get('doc', ''))} |"
            for n, m in entry["outputs"].items()]
    out.append("")
    return out


def render(manifest: Mapping[str, Any]) -> str:
    vectors = manifest["vectors"]
    systems: dict[str, list[str]] = {}
    for vid in sorted(vectors):
        systems.setdefault(vectors[vid]["system"], []).append(vid)
    order = [s for s in SYSTEM_TITLES if s in systems] + sorted(set(systems) - set(SYSTEM_TITLES))
    lines = [
        "# Golden vectors",
        "",
        "<!-- Generated from golden/manifest.json by `codecref golden docs`; do not edit by hand. -->",
        "",
        f"{len(vectors)} vectors. Each one pins functions of the spec on stored inputs: a port reads",
        "the inputs (`in.<name>` keys of `golden/<system>/<id>.safetensors`, or",
        "`golden/<system>/<id>.in.<name>.bin`) and the params, computes every output as described",
        "below, and compares it with the stored one by the stated rule (`spec/core.md`, \"Golden",
        "vectors\"); `codecref conform DIR` does the comparison (`docs/conformance.md`). Square",
        "brackets name spec sections (`### [id]` headings in `spec/*.md`). Shapes are listed",
        "outermost first (C order); `u8`/`int64`/... are the stored dtypes.",
        "",
    ]
    for s in order:
        lines.append(f"- {SYSTEM_TITLES.get(s, s)}: " + ", ".join(f"`{v}`" for v in systems[s]))
    lines.append("")
    for s in order:
        lines += [f"## {SYSTEM_TITLES.get(s, s)}", ""]
        for vid in systems[s]:
            lines += render_entry(vectors[vid])
    return "\n".join(lines).rstrip("\n") + "\n"
