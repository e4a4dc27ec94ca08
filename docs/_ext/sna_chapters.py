"""The chapters page, generated from the chapter notebooks the package ships.

``.. sna-chapters::`` reads every ``NN_<chapter>.ipynb`` in the package's notebook folder
(:func:`sna.report.notebooks_dir`) without running it, and writes for each: its title and
introduction (the first markdown cell), its sections (the ``##`` headings), the captions of
its figures and tables (``ch.figure(...)``, ``ch.table(...)``), the source formats it asks
for (``ch.sources_of(...)``) and every sentence it shows when the data cannot support an
analysis (``ch.not_available(...)``), plus the screenshot of the chapter from the demo
report when ``_static/screenshots/<chapter>.png`` exists. Parts of a caption or sentence
computed at run time are shown as ``…``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sna_rst import parse_rst
from sna_screenshots import screenshot_path

logger = logging.getLogger(__name__)


def notebooks_dir() -> Path:
    try:
        from sna.report import notebooks_dir as nd

        return Path(nd())
    except Exception:  # noqa: BLE001 - fall back to the package folder
        import sna

        return Path(sna.__file__).resolve().parent / "notebooks"


def _text(node) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "…" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        return None if left is None and right is None else (left or "…") + (right or "…")
    return None


def _arg(call: ast.Call, pos: int, name: str):
    if len(call.args) > pos:
        return call.args[pos]
    return next((k.value for k in call.keywords if k.arg == name), None)


def describe(path: Path) -> dict:
    """What a chapter notebook shows, read from its cells."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    info = {"name": path.stem, "title": path.stem, "intro": "", "sections": [], "figures": [],
            "tables": [], "missing": [], "formats": []}
    first_md = True
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            lines = cell.source.strip().splitlines()
            if first_md and lines and lines[0].startswith("# "):
                info["title"] = lines[0][2:].strip()
                info["intro"] = " ".join(l.strip() for l in lines[1:] if l.strip())
                first_md = False
            info["sections"] += [l[3:].strip() for l in lines if l.startswith("## ")]
            continue
        if cell.cell_type != "code":
            continue
        source = "\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            attr = node.func.attr
            if attr == "heading":
                t = _text(_arg(node, 0, "text"))
                if t:
                    info["sections"].append(t)
            elif attr == "figure":
                t = _text(_arg(node, 2, "caption"))
                if t:
                    info["figures"].append(t)
            elif attr == "table":
                t = _text(_arg(node, 2, "caption"))
                if t:
                    info["tables"].append(t)
            elif attr == "not_available":
                t = _text(_arg(node, 1, "sentence"))
                if t:
                    info["missing"].append(t)
            elif attr == "sources_of":
                info["formats"] += [a.value for a in node.args
                                    if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    info["formats"] = sorted(set(info["formats"]))
    return info


def _inline(text: str) -> str:
    text = " ".join(text.split())
    return re.sub(r"([*`|\\])", r"\\\1", text).replace("\\*\\*", "**")


class Chapters(SphinxDirective):
    """``.. sna-chapters::``"""

    def run(self):
        folder = notebooks_dir()
        paths = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
        if not paths:
            logger.warning("sna-chapters: no chapter notebooks in %s", folder,
                           location=self.get_location())
            return []
        try:
            from sna.chapter import FORMAT_LABELS
        except Exception:  # noqa: BLE001
            FORMAT_LABELS = {}
        lines: list[str] = []
        for path in paths:
            self.env.note_dependency(str(path))
            info = describe(path)
            title = info["title"]
            lines += [title, "-" * len(title), ""]
            lines += [f"*Notebook* ``{path.name}``.", ""]
            if info["intro"]:
                lines += [_inline(info["intro"]), ""]
            shot = screenshot_path(self.env.srcdir, info["name"])
            self.env.note_dependency(str(shot))
            if shot.exists():
                # a thumbnail floated beside the description; Sphinx links it to the full PNG
                lines += [f".. figure:: /_static/screenshots/{shot.name}", "   :width: 320px",
                          "   :align: right", "   :class: sna-screenshot",
                          f"   :alt: {title} (demo report)", "", f"   The demo report: {title}.",
                          ""]
            if info["sections"]:
                lines += ["**Sections:** " + "; ".join(_inline(s) for s in info["sections"]) + ".", ""]
            if info["formats"]:
                labels = [FORMAT_LABELS.get(f, f) for f in info["formats"]]
                lines += ["**Sources it looks for:** " + "; ".join(_inline(l) for l in labels)
                          + " (see :doc:`input-formats`).", ""]
            for key, label in (("figures", "Figures"), ("tables", "Tables")):
                if info[key]:
                    lines += [f"**{label}:**", ""]
                    lines += [f"- {_inline(t)}" for t in info[key]]
                    lines.append("")
            if info["missing"]:
                lines += ["**When the data cannot support an analysis**, the chapter says so in "
                          "one sentence and goes on:", ""]
                lines += [f"- {_inline(t)}" for t in info["missing"]]
                lines.append("")
        return parse_rst(self, lines)


def setup(app):
    app.add_directive("sna-chapters", Chapters)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
