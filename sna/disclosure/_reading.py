"""How the output checker reads a folder: the tables of each format it publishes (CSV/TSV,
the sheets of a workbook, the ``<table>`` elements of HTML pages and of executed notebooks'
outputs, the layers of GeoPackages) as ``Table`` records (:data:`READERS`), and every piece of
disclosure metadata the folder holds (:class:`MetaIndex`).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping
from html.parser import HTMLParser
from pathlib import Path

from ._common import Finding, Table, to_python
from .rules import RULES

DATA_SUFFIXES = {".parquet", ".feather", ".arrow", ".pkl", ".pickle", ".sqlite", ".sqlite3",
                 ".db", ".duckdb", ".dta", ".sav", ".rds", ".rdata", ".h5", ".hdf5"}

def _norm_record(d: Mapping) -> dict:
    def listify(x):
        if x is None:
            return None
        return [x] if isinstance(x, str) else list(x)

    derived = dict(d.get("derived", d.get("derived_columns")) or {})
    for pct, spec in dict(d.get("percentages") or {}).items():  # recomputed percentages
        derived.setdefault(pct, [x for x in (spec if isinstance(spec, list) else [spec]) if x])
    return {
        "table": d.get("table", d.get("label", d.get("sheet", d.get("layer")))),
        "label": d.get("label"),
        "rule": d.get("rule", d.get("disclosure")),
        "counts": listify(d.get("counts", d.get("count_columns"))),
        "derived": {str(k): listify(v) for k, v in dict(derived).items()},
        "total_rows": listify(d.get("total_rows")),
        "total_columns": listify(d.get("total_columns")),
        "not_counts": listify(d.get("not_counts")) or [],
        "sources": listify(d.get("sources", d.get("source"))) or [],
        "column_rules": {str(k): v for k, v in dict(d.get("column_rules") or {}).items()
                         if v in RULES},
        "row_rules": list(d.get("row_rules")) if isinstance(d.get("row_rules"), list) else None,
        "base_rule": d.get("base_rule") if d.get("base_rule") in RULES else None,
        "margins": bool(d.get("margins")),
    }

class MetaIndex:
    """Every piece of disclosure metadata in an output folder."""

    def __init__(self, root: Path):
        self.root = root
        self.by_file: dict[str, list[dict]] = {}
        self.by_label: dict[str, dict] = {}
        self.by_stem: dict[str, dict] = {}  # single-table files (CSV) by stem, for sheets
        self.default_rule: str | None = None
        self.build: str | None = None
        self.problems: list[Finding] = []
        self.figures: list[tuple[str, dict]] = []  # (build folder prefix, sidecar entry)

    def _add(self, file: str, rec: dict) -> None:
        self.by_file.setdefault(file, []).append(rec)
        name = file.rsplit("/", 1)[-1]
        single = name.endswith((".csv", ".tsv")) or (name.endswith(".*") and any(
            (self.root / (file[:-2] + ext)).is_file() for ext in (".csv", ".tsv")))
        if single:
            stem = re.sub(r"\.(?:\*|csv|tsv)$", "", name)
            for key in (stem, stem[:31]):
                self.by_stem.setdefault(key, rec)
        for key in (rec.get("label"), rec.get("table")):
            if isinstance(key, str) and re.match(r"^(Table|Map|Figure)\s+\d", key):
                self.by_label.setdefault(key, rec)

    def load(self, json_files: Iterable[Path]) -> None:
        for p in json_files:
            rel = p.relative_to(self.root).as_posix()
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                if p.name.endswith(".meta.json") or p.name == "manifest.json":
                    self.problems.append(Finding(rel, None, None, None, None, None, "metadata",
                                                 f"cannot read metadata: {exc}", None))
                continue
            if not isinstance(data, dict):
                continue
            folder = p.parent.relative_to(self.root).as_posix()
            prefix = "" if folder == "." else folder + "/"
            if p.name.endswith(".meta.json"):
                stem = p.name[: -len(".meta.json")]
                key = prefix + stem + ".*"
                recs = data.get("tables") if isinstance(data.get("tables"), list) else [data]
                for r in recs:
                    if isinstance(r, dict):
                        self._add(key, _norm_record(r))
            elif p.name == "manifest.json":
                self.build = data.get("build") if isinstance(data.get("build"), str) else None
                disc = data.get("disclosure")
                if isinstance(disc, dict):
                    if disc.get("default_rule") in RULES:
                        self.default_rule = disc["default_rule"]
                    for r in disc.get("tables") or []:
                        if isinstance(r, dict) and r.get("file"):
                            self._add(prefix + str(r["file"]).replace("\\", "/"),
                                      _norm_record(r))
            elif "chapter" in data and ("tables" in data or "maps" in data):
                # a chapter sidecar (<build>/chapters/x.json) names files of its build folder
                build = p.parent.parent.relative_to(self.root).as_posix() \
                    if p.parent.name == "chapters" and p.parent != self.root else folder
                bprefix = "" if build == "." else build + "/"
                self.figures.extend((bprefix, f) for f in data.get("figures") or []
                                    if isinstance(f, dict))
                for kind in ("tables", "maps"):
                    for r in data.get(kind) or []:
                        if isinstance(r, dict) and r.get("file"):
                            rec = _norm_record(r)
                            rec["label"] = r.get("label")
                            self._add(bprefix + str(r["file"]).replace("\\", "/"), rec)

    def find(self, file: str, table: str | None, label: str | None,
             single_table: bool) -> dict | None:
        stem_key = re.sub(r"\.[^./]+$", "", file) + ".*"
        candidates = self.by_file.get(file, []) + self.by_file.get(stem_key, [])
        if candidates:
            if single_table:
                return candidates[0]
            for r in candidates:
                if table is not None and r.get("table") == table:
                    return r
            for r in candidates:
                if label is not None and label in (r.get("table"), r.get("label")):
                    return r
            untitled = [r for r in candidates if r.get("table") in (None, "")]
            if untitled:
                return untitled[0]
        if label is not None and label in self.by_label:
            return self.by_label[label]
        return None

# ---- readers ----------------------------------------------------------------------------------
def _read_csv(path: Path, rel: str) -> list[Table]:
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        sample = fh.read(4096)
        fh.seek(0)
        delim = "\t" if path.suffix.lower() == ".tsv" or (
            sample.count("\t") > sample.count(",")) else ","
        rows = list(csv.reader(fh, delimiter=delim))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return [Table(rel, path.stem, [], [])]
    return [Table(rel, path.stem, [c.strip() for c in rows[0]], rows[1:])]

def _header_row(rows: list[list]) -> int:
    """The header's row of a sheet: the first row with two or more values. A sheet to the
    government's spreadsheet standard (:mod:`sna.report.xlsx`) has its title, a line saying
    it holds one table and the source above the header, each in column A alone; a plain
    sheet has its header first.

    >>> _header_row([["Table 1.1: ..."], ["This worksheet contains one table."],
    ...              ["Source: police."], ["area", "n"], ["A", 5]])
    3
    >>> _header_row([["area", "n"], ["A", 5]])
    0
    """
    for i, r in enumerate(rows):
        if sum(v is not None and str(v).strip() != "" for v in r) >= 2:
            return i
    return 0

def _read_xlsx(path: Path, rel: str) -> list[Table]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    out = []
    try:
        for ws in wb.worksheets:
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            while rows and all(v is None or str(v).strip() == "" for v in rows[-1]):
                rows.pop()
            if not rows:
                out.append(Table(rel, ws.title, [], []))
                continue
            h = _header_row(rows)
            header = ["" if v is None else str(v).strip() for v in rows[h]]
            out.append(Table(rel, ws.title, header, rows[h + 1:]))
    finally:
        wb.close()
    # a "contents" sheet listing each sheet's source file (as sna.report writes it)
    for t in out:
        cols = [h.casefold() for h in t.header]
        if t.name.casefold() == "contents" and "sheet" in cols and "file" in cols:
            si, fi = cols.index("sheet"), cols.index("file")
            li = cols.index("table") if "table" in cols else None
            where = {str(r[si]): (str(r[fi]), None if li is None else r[li])
                     for r in t.rows if len(r) > max(si, fi) and r[si] and r[fi]}
            for other in out:
                if other.name in where:
                    other.alias, label = where[other.name]
                    if isinstance(label, str) and label.strip():
                        other.label = label.strip()
    return out

class _HTMLTables(HTMLParser):
    """Every <table> of an HTML document: header, body rows, attributes, caption."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self._stack: list[dict] = []
        self._recent = ""

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v or "") for k, v in attrs}
        if tag == "table":
            self._stack.append({"attrs": attrs, "rows": [], "caption": "", "section": None,
                                "row": None, "cell": None, "spans": {}, "in_caption": False,
                                "before": self._recent})
            self._recent = ""
            return
        if not self._stack:
            return
        t = self._stack[-1]
        if tag in ("thead", "tbody", "tfoot"):
            t["section"] = tag
        elif tag == "tr":
            self._end_row(t)
            t["row"] = {"cells": [], "head": t["section"] == "thead", "all_th": True}
        elif tag in ("td", "th"):
            if t["row"] is None:
                t["row"] = {"cells": [], "head": t["section"] == "thead", "all_th": True}
            self._end_cell(t)
            try:
                colspan = max(1, min(int(attrs.get("colspan") or 1), 1000))
                rowspan = max(1, min(int(attrs.get("rowspan") or 1), 10000))
            except ValueError:
                colspan = rowspan = 1
            t["cell"] = {"parts": [], "th": tag == "th", "colspan": colspan, "rowspan": rowspan}
        elif tag == "caption":
            t["in_caption"] = True
        elif tag == "br" and t["cell"] is not None:
            t["cell"]["parts"].append(" ")

    def _end_cell(self, t):
        cell = t["cell"]
        if cell is None or t["row"] is None:
            t["cell"] = None
            return
        t["cell"] = None
        row = t["row"]
        text = " ".join("".join(cell["parts"]).split())
        self._fill_spans(t, row)
        for k in range(cell["colspan"]):
            pos = len(row["cells"])
            value = text if (k == 0 or cell["th"]) else ""
            row["cells"].append(value)
            if cell["rowspan"] > 1:
                t["spans"][pos] = [cell["rowspan"] - 1, value]
            self._fill_spans(t, row)
        if not cell["th"]:
            row["all_th"] = False

    @staticmethod
    def _fill_spans(t, row):
        while len(row["cells"]) in t["spans"] and row.get("filling", True):
            pos = len(row["cells"])
            span = t["spans"][pos]
            if span[0] <= 0:
                del t["spans"][pos]
                break
            row["cells"].append(span[1])
            span[0] -= 1
            if span[0] <= 0:
                del t["spans"][pos]

    def _end_row(self, t):
        self._end_cell(t)
        row = t["row"]
        if row is not None:
            if row["cells"]:
                t["rows"].append(row)
            t["row"] = None

    def handle_endtag(self, tag):
        if not self._stack:
            return
        t = self._stack[-1]
        if tag in ("td", "th"):
            self._end_cell(t)
        elif tag == "tr":
            self._end_row(t)
        elif tag == "caption":
            t["in_caption"] = False
        elif tag in ("thead", "tbody", "tfoot"):
            self._end_row(t)
            t["section"] = None
        elif tag == "table":
            self._end_row(t)
            self._stack.pop()
            self.tables.append(t)
            self._recent = ""

    def handle_data(self, data):
        if self._stack:
            t = self._stack[-1]
            if t["cell"] is not None:
                t["cell"]["parts"].append(data)
            elif t["in_caption"]:
                t["caption"] += data
        else:
            self._recent = (self._recent + data)[-600:]

_LABEL_RE = re.compile(r"\b((?:Table|Map)\s+\d+(?:\.\d+)*)")

def _html_tables(text: str, rel: str, prefix: str = "") -> list[Table]:
    parser = _HTMLTables()
    parser.feed(text)
    parser.close()
    out = []
    for k, t in enumerate(parser.tables, start=1):
        rows = t["rows"]
        head = [r for r in rows if r["head"]]
        if not head and rows and rows[0]["all_th"]:
            head = [rows[0]]
        body = [r["cells"] for r in rows if r not in head]
        width = max([len(r["cells"]) for r in rows] or [0])
        header = []
        for pos in range(width):
            parts = []
            for h in head:
                if pos < len(h["cells"]) and h["cells"][pos] and h["cells"][pos] not in parts:
                    parts.append(h["cells"][pos])
            header.append(" ".join(parts))
        caption = " ".join(t["caption"].split())
        m = _LABEL_RE.search(caption) or (
            list(_LABEL_RE.finditer(t["before"]))[-1] if _LABEL_RE.search(t["before"]) else None)
        label = m.group(1) if m else None
        attrs = t["attrs"]
        inline = None
        if "data-sna-rule" in attrs:
            inline = {"rule": attrs.get("data-sna-rule")}
            for key, attr in (("counts", "data-sna-counts"), ("derived", "data-sna-derived"),
                              ("total_rows", "data-sna-total-rows"),
                              ("total_columns", "data-sna-total-columns"),
                              ("column_rules", "data-sna-column-rules"),
                              ("row_rules", "data-sna-row-rules")):
                try:
                    if attr in attrs:
                        inline[key] = json.loads(attrs[attr])
                except json.JSONDecodeError:
                    pass
            if "data-sna-base-rule" in attrs:
                inline["base_rule"] = attrs["data-sna-base-rule"]
            inline = _norm_record(inline)
        name = attrs.get("data-sna-table") or attrs.get("id") or label or f"{prefix}table {k}"
        out.append(Table(rel, name, header, body, inline=inline, label=label))
    return out

def _read_html(path: Path, rel: str) -> list[Table]:
    return _html_tables(path.read_text(encoding="utf-8", errors="replace"), rel)

def _read_ipynb(path: Path, rel: str) -> list[Table]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for ci, cell in enumerate(nb.get("cells") or [], start=1):
        for oi, output in enumerate(cell.get("outputs") or [], start=1):
            data = output.get("data") or {}
            html_text = data.get("text/html")
            if not html_text:
                continue
            if isinstance(html_text, list):
                html_text = "".join(html_text)
            sna_meta = (output.get("metadata") or {}).get("sna") or {}
            tables = _html_tables(html_text, rel, prefix=f"cell {ci} output {oi} ")
            for t in tables:
                if t.inline is None and isinstance(sna_meta, dict) and sna_meta.get("disclosure"):
                    t.inline = _norm_record({"rule": sna_meta.get("disclosure")})
                if t.label is None and isinstance(sna_meta.get("label"), str):
                    t.label = sna_meta["label"]
                if not t.name.startswith(("Table", "Map")) and t.label:
                    t.name = t.label
            out.extend(tables)
    return out

def _read_gpkg(path: Path, rel: str) -> list[Table]:
    import geopandas as gpd
    import pyogrio

    out = []
    for layer, _geom in pyogrio.list_layers(path):
        gdf = gpd.read_file(path, layer=layer)
        cols = [c for c in gdf.columns if c != gdf.geometry.name]
        rows = [[to_python(v) for v in r] for r in gdf[cols].itertuples(index=False, name=None)]
        t = Table(rel, str(layer), [str(c) for c in cols], rows)
        geom = gdf.geometry
        pts = geom[geom.geom_type == "Point"] if len(geom) else geom
        if len(pts):
            t.points = (pts.x.to_numpy(), pts.y.to_numpy(), gdf.crs)
        out.append(t)
    return out

READERS = {".csv": _read_csv, ".tsv": _read_csv, ".xlsx": _read_xlsx, ".xlsm": _read_xlsx,
            ".html": _read_html, ".htm": _read_html, ".ipynb": _read_ipynb, ".gpkg": _read_gpkg}
