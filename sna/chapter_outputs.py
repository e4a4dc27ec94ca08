"""What the executed chapters left in a run folder, read back for the Word and PowerPoint writers.

:func:`executed_notebooks` lists the executed chapter notebooks in report order,
:func:`chapter_items` walks one notebook's displayed outputs (headings, prose, figures,
tables, notes) as the HTML report shows them, :func:`sidecar_entry`, :func:`find_output` and
:func:`table_csv` find a chapter's figure or table by name, and :class:`TableHTML` reads an
``sna-table`` back into header, rows and numeric columns. Used by :mod:`sna.office`.
"""
from __future__ import annotations

import base64
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from .chapter import CHAPTER_TITLES, published_cells

__all__ = ["TableHTML", "parse_table_html", "join_text", "executed_notebooks", "chapter_items",
           "sidecar_entry", "find_output", "table_csv"]

_CHAPTER_ORDER = tuple(CHAPTER_TITLES)


class TableHTML(HTMLParser):
    """The header, rows and numeric columns of an ``sna-table`` as the report shows it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.header: list[str] = []
        self.numeric: list[bool] = []
        self.rows: list[list[str]] = []
        self.notes: list[str] = []
        self._cell: list[str] | None = None
        self._in_note = False
        self._note: list[str] = []
        self._row: list[str] | None = None
        self._where = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "thead":
            self._where = "head"
        elif tag == "tbody":
            self._where = "body"
        elif tag == "tr" and self._where == "body":
            self._row = []
        elif tag in ("th", "td"):
            self._cell = []
            if tag == "th":
                self.numeric.append("num" in (a.get("class") or "").split())
        elif tag == "p" and "sna-tablenote" in (a.get("class") or ""):
            self._in_note, self._note = True, []

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None:
            text = "".join(self._cell).strip()
            if tag == "th":
                self.header.append(text)
            elif self._row is not None:
                self._row.append(text)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "p" and self._in_note:
            self.notes.append(" ".join("".join(self._note).split()))
            self._in_note = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        elif self._in_note:
            self._note.append(data)


def parse_table_html(text: str) -> TableHTML:
    p = TableHTML()
    p.feed(text)
    return p


def join_text(v) -> str:
    return "".join(v) if isinstance(v, list) else str(v)



def executed_notebooks(out: Path) -> list[Path]:
    found = sorted((out / "chapters").glob("*.ipynb"))
    return sorted(found, key=lambda p: (_CHAPTER_ORDER.index(p.stem)
                                        if p.stem in _CHAPTER_ORDER else 99, p.stem))


def chapter_items(nb_path: Path) -> tuple[str, list[tuple[str, Any]]]:
    """(chapter title, [(kind, payload)]) of an executed chapter, in reading order.

    kinds: ``md`` (Markdown text), ``figure`` (meta, png bytes), ``table`` (meta, parsed
    table), ``na`` (a not-available sentence), ``error`` (text).
    """
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    title, items = None, []
    for c in published_cells(nb):
        if c.cell_type == "markdown":
            src = c.source
            m = re.search(r"^#\s+(.+)$", src, flags=re.M)
            if title is None and m:
                title = m.group(1).strip()
                src = src.replace(m.group(0), "", 1)
            if src.strip():
                items.append(("md", src))
            continue
        if c.cell_type != "code":
            continue
        for o in c.get("outputs", []):
            otype = o.get("output_type")
            if otype == "error":
                items.append(("error", f"{o.get('ename')}: {o.get('evalue')}"))
                continue
            if otype != "display_data":
                continue
            data = o.get("data", {})
            meta = (o.get("metadata") or {}).get("sna") or {}
            kind = meta.get("kind")
            if kind in ("banner", "caption"):
                continue
            if kind == "figure" and "image/png" in data:
                png = base64.b64decode(join_text(data["image/png"]))
                items.append(("figure", (meta, png)))
            elif kind == "table" and "text/html" in data:
                items.append(("table", (meta, parse_table_html(join_text(data["text/html"])))))
            elif kind == "not_available":
                text = join_text(data.get("text/plain", ""))
                items.append(("na", text))
            elif "text/markdown" in data:
                items.append(("md", join_text(data["text/markdown"])))
    # a section heading with nothing under it before the next heading goes, as in the report
    kept = []
    for i, (kind, payload) in enumerate(items):
        bare = kind == "md" and re.fullmatch(r"\s*#{2,6}\s+[^\n]+\s*", payload)
        nxt = items[i + 1] if i + 1 < len(items) else None
        if bare and (nxt is None or (nxt[0] == "md"
                                     and re.fullmatch(r"\s*#{2,6}\s+[^\n]+\s*", nxt[1]))):
            continue
        kept.append((kind, payload))
    return title or nb_path.stem, kept


def sidecar_entry(out: Path, chapter: str, what: str, name: str) -> dict | None:
    """A chapter's record of one of its tables or figures (``what``), by its name."""
    side = out / "chapters" / f"{chapter}.json"
    if not side.exists():
        return None
    entries = json.loads(side.read_text(encoding="utf-8")).get(what, [])
    return next((e for e in entries if e.get("name") == name), None)


def find_output(out: Path, chapter: str, kind: str, name: str):
    """(meta, payload) of a chapter's ``kind`` (``"table"`` or ``"figure"``) named ``name``,
    as the executed notebook shows it; None when the chapter did not make it."""
    entry = sidecar_entry(out, chapter, kind + "s", name)
    nb = out / "chapters" / f"{chapter}.ipynb"
    if entry is None or not nb.exists():
        return None
    return next((payload for k, payload in chapter_items(nb)[1]
                 if k == kind and payload[0].get("label") == entry["label"]), None)


def table_csv(out: Path, chapter: str, name: str):
    """(the table as its CSV has it, its record) or (None, None)."""
    import pandas as pd

    entry = sidecar_entry(out, chapter, "tables", name)
    if entry is None or not (out / entry["file"]).exists():
        return None, None
    return pd.read_csv(out / entry["file"], dtype=object), entry
