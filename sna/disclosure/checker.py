"""The output checker, :func:`~sna.disclosure.check_outputs`: every table of a finished output folder (CSV,
XLSX, HTML, executed notebooks, GeoPackages) checked against its rule and metadata, and
record-level data, identifiers and coordinates looked for.
"""

from __future__ import annotations

import csv
import fnmatch
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._log import logger
from ..errors import DisclosureError
from ._common import ROUND_TO, count_name_ok, looks_derived, norm_name, parse_cell, to_python
from ._suppression import Equations
from .rules import RULES, SMALL_COUNTS, check_rule, is_total_label, source_rule, strictest

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "FINDING_COLUMNS",
    "check_outputs",
]


#: The columns of the checker's findings table.
FINDING_COLUMNS: list[str] = [
    "file", "table", "row", "label", "column", "value", "check", "problem", "rule",
]

@dataclass
class _Table:
    file: str
    name: str
    header: list[str]
    rows: list[list[Any]]
    meta: dict | None = None
    inline: dict | None = None  # metadata carried by the table itself
    label: str | None = None  # "Table 4.1" caption label
    points: Any = None  # (x, y, crs) of a point layer
    alias: str | None = None  # the single-table file this table is a copy of (a sheet's CSV)

@dataclass
class _Finding:
    file: str
    table: str | None
    row: int | None
    label: Any
    column: str | None
    value: Any
    check: str
    problem: str
    rule: str | None

@dataclass
class _Context:
    root: Path
    default_rule: str
    patterns: dict[str, str]
    meta: "_MetaIndex"
    source_rules: dict[str, str] = field(default_factory=dict)
    findings: list[_Finding] = field(default_factory=list)
    tables: int = 0
    files: int = 0
    skipped: list[str] = field(default_factory=list)
    columns: list = field(default_factory=list)  # count columns, for the cross-table check

_DATA_SUFFIXES = {".parquet", ".feather", ".arrow", ".pkl", ".pickle", ".sqlite", ".sqlite3",
                  ".db", ".duckdb", ".dta", ".sav", ".rds", ".rdata", ".h5", ".hdf5"}

_TABLE_SUFFIXES = {".csv", ".tsv", ".xlsx", ".xlsm", ".html", ".htm", ".ipynb", ".gpkg"}

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

class _MetaIndex:
    """Every piece of disclosure metadata in an output folder."""

    def __init__(self, root: Path):
        self.root = root
        self.by_file: dict[str, list[dict]] = {}
        self.by_label: dict[str, dict] = {}
        self.by_stem: dict[str, dict] = {}  # single-table files (CSV) by stem, for sheets
        self.default_rule: str | None = None
        self.build: str | None = None
        self.problems: list[_Finding] = []
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
                    self.problems.append(_Finding(rel, None, None, None, None, None, "metadata",
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
def _read_csv(path: Path, rel: str) -> list[_Table]:
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        sample = fh.read(4096)
        fh.seek(0)
        delim = "\t" if path.suffix.lower() == ".tsv" or (
            sample.count("\t") > sample.count(",")) else ","
        rows = list(csv.reader(fh, delimiter=delim))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return [_Table(rel, path.stem, [], [])]
    return [_Table(rel, path.stem, [c.strip() for c in rows[0]], rows[1:])]

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


def _read_xlsx(path: Path, rel: str) -> list[_Table]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    out = []
    try:
        for ws in wb.worksheets:
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            while rows and all(v is None or str(v).strip() == "" for v in rows[-1]):
                rows.pop()
            if not rows:
                out.append(_Table(rel, ws.title, [], []))
                continue
            h = _header_row(rows)
            header = ["" if v is None else str(v).strip() for v in rows[h]]
            out.append(_Table(rel, ws.title, header, rows[h + 1:]))
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

def _html_tables(text: str, rel: str, prefix: str = "") -> list[_Table]:
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
        out.append(_Table(rel, name, header, body, inline=inline, label=label))
    return out

def _read_html(path: Path, rel: str) -> list[_Table]:
    return _html_tables(path.read_text(encoding="utf-8", errors="replace"), rel)

def _read_ipynb(path: Path, rel: str) -> list[_Table]:
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

def _read_gpkg(path: Path, rel: str) -> list[_Table]:
    import geopandas as gpd
    import pyogrio

    out = []
    for layer, _geom in pyogrio.list_layers(path):
        gdf = gpd.read_file(path, layer=layer)
        cols = [c for c in gdf.columns if c != gdf.geometry.name]
        rows = [[to_python(v) for v in r] for r in gdf[cols].itertuples(index=False, name=None)]
        t = _Table(rel, str(layer), [str(c) for c in cols], rows)
        geom = gdf.geometry
        pts = geom[geom.geom_type == "Point"] if len(geom) else geom
        if len(pts):
            t.points = (pts.x.to_numpy(), pts.y.to_numpy(), gdf.crs)
        out.append(t)
    return out

_READERS = {".csv": _read_csv, ".tsv": _read_csv, ".xlsx": _read_xlsx, ".xlsm": _read_xlsx,
            ".html": _read_html, ".htm": _read_html, ".ipynb": _read_ipynb, ".gpkg": _read_gpkg}

# ---- checks ------------------------------------------------------------------------------------
_ID_NAME = re.compile(
    r"^(?:(?:record|person|offender|victim|patient|suspect|participant|client|pupil|child|"
    r"subject|nominal|crime|incident|occurrence|call|cad|attendance|case|referral|arrest|"
    r"custody)_?(?:id|ref|reference|number|no|num|urn)s?"
    r"|(?:nhs|chi|upn|pnc)_?(?:number|no|num|id)|nhsnumber|crn|urn|ucrn|pseudonym|pseudo_id|"
    r"hash|hashed_id)$"
)

_HEX = re.compile(r"^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$")

_NHS_TEXT = re.compile(r"^\d{3}[ -]?\d{3}[ -]?\d{4}$")

_COORD_NAMES = {"x", "y", "easting", "northing", "eastings", "northings", "east", "north",
                "lon", "lng", "long", "longitude", "lat", "latitude", "xcoord", "ycoord",
                "x_coord", "y_coord", "x_coordinate", "y_coordinate", "point_x", "point_y",
                "location_x", "location_y", "grid_x", "grid_y", "bng_x", "bng_y"}

_COORD_SUFFIX = re.compile(r"_(?:x|y|easting|northing|lat|lon|lng|latitude|longitude)$")

_GEO_NAME = re.compile(r"(?:^|_)(?:lat|lon|lng|long|latitude|longitude)$")

_MANY_DISTINCT = 10

def _valid_nhs_number(digits: str) -> bool:
    """Modulus 11 check of a 10-digit NHS number.

    >>> _valid_nhs_number("9434765919"), _valid_nhs_number("9434765918")
    (True, False)
    """
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])

def _mask(value: Any) -> str:
    """An identifier cut short for the findings: at most 4 characters, never half or more."""
    s = str(value)
    return s[: min(4, len(s) // 2)] + "…"

def _decimals(raw: Any) -> int:
    if isinstance(raw, float):
        s = repr(raw)
    else:
        s = str(raw).strip()
    if "e" in s.casefold():
        try:
            s = f"{float(s):.12f}"
        except ValueError:
            return 0
    if "." not in s:
        return 0
    return len(s.split(".", 1)[1].rstrip("0"))

def _lattice_step(values: Sequence[float], unit: float) -> float:
    """The step of the regular lattice the values lie on (0 when none)."""
    ints = sorted({int(round(v / unit)) for v in values})
    g = 0
    for a, b in zip(ints, ints[1:]):
        g = math.gcd(g, b - a)
    return g * unit

def _is_record_level(name: str, nums: list[float], raws: list[Any]) -> str | None:
    distinct = set(nums)
    geo = bool(_GEO_NAME.search(name)) or (
        name in ("x", "y") and nums and all(abs(v) <= 180 for v in nums))
    if geo and any(_decimals(r) >= 4 for r in raws):
        return "longitude/latitude with 4 or more decimals (about 10 m or better)"
    if len(distinct) < _MANY_DISTINCT:
        return None
    step = _lattice_step(list(distinct), 1e-7 if geo else 0.01)
    if step >= (0.001 if geo else 50):
        return None  # a grid of cells, not points
    return f"{len(distinct)} distinct coordinate values, not on a grid"

def _table_rule(ctx: _Context, t: _Table, single: bool) -> tuple[str, dict | None, str | None]:
    """(rule to check under, metadata record or None, the rule the metadata claimed)."""
    rec = t.inline or ctx.meta.find(t.file, t.name, t.label, single)
    if rec is None and not single:  # a sheet copied from a CSV: the CSV's metadata
        rec = ctx.meta.find(t.alias, None, None, True) if t.alias else ctx.meta.by_stem.get(t.name)
    claimed = rec.get("rule") if rec else None
    if rec and claimed in RULES:
        return claimed, rec, claimed
    rule = None
    srcs = [ctx.source_rules[x] for x in (rec or {}).get("sources") or [] if x in ctx.source_rules]
    if srcs:  # what the config says for the table's sources; nhs2018 hides the most counts
        rule = next(r for r in ("nhs2018", "legacy5", "none") if r in srcs)
    for pat, r in ctx.patterns.items():
        if fnmatch.fnmatch(t.file, pat) or fnmatch.fnmatch(f"{t.file}::{t.name}", pat):
            rule = r
            break
    return rule or ctx.default_rule, rec, claimed

def _check_table(ctx: _Context, t: _Table, single: bool) -> None:
    ctx.tables += 1
    rule, rec, claimed = _table_rule(ctx, t, single)
    add = ctx.findings.append

    srcs = [x for x in (rec or {}).get("sources") or [] if x in ctx.source_rules]
    if claimed in RULES and srcs:
        need = strictest(ctx.source_rules[x] for x in srcs)
        if strictest([claimed, need]) != claimed:
            add(_Finding(t.file, t.name, None, None, None, claimed, "metadata",
                         f"the table holds counts of {', '.join(srcs)}, whose rule is {need}, "
                         f"but was published under {claimed}", claimed))
    if claimed is not None and claimed not in RULES:
        add(_Finding(t.file, t.name, None, None, None, None, "metadata",
                     f"the table was not put under disclosure control (its metadata says "
                     f"{claimed!r}); checked under {rule}", rule))
    width = max([len(t.header)] + [len(r) for r in t.rows])
    header = list(t.header) + [""] * (width - len(t.header))
    names = []
    for k, h in enumerate(header):
        h = str(h).strip()
        names.append(h if h else f"column {k + 1}")
    rows = [list(r) + [None] * (width - len(r)) for r in t.rows]
    parsed = [[parse_cell(v) for v in r] for r in rows]
    n = len(rows)
    if n == 0:
        return

    # which columns are counts
    kinds_by_col = [[p[j][0] for p in parsed] for j in range(width)]
    label_col = next((j for j in range(width)
                      if kinds_by_col[j].count("text") > n / 2), None)

    def row_label(i):
        return None if label_col is None else rows[i][label_col]

    meta_counts = set(rec["counts"] or []) if rec else set()
    not_counts = set(rec.get("not_counts") or []) if rec else set()
    derived = dict(rec["derived"]) if rec else {}
    count_cols = []
    for j, name in enumerate(header):
        if name in not_counts or names[j] in derived:
            continue
        ks = kinds_by_col[j]
        if (name in meta_counts and "num" in ks) or ("star" in ks and "text" not in ks):
            count_cols.append(j)
            continue
        if "text" in ks or "num" not in ks or not count_name_ok(name):
            continue
        nums = [p[j][1] for p in parsed if p[j][0] == "num"]
        if all(x >= 0 and x % 1 == 0 for x in nums):
            count_cols.append(j)
    if not derived and len(count_cols) == 1:
        only = header[count_cols[0]]
        derived = {names[j]: [only] for j in range(width)
                   if j not in count_cols and looks_derived(header[j])
                   and "text" not in kinds_by_col[j]}

    # the rule of each cell: the table's, or its column's and its row's (a mixed table)
    col_rules = {norm_name(k): v for k, v in ((rec or {}).get("column_rules") or {}).items()}
    row_rules = (rec or {}).get("row_rules")
    base = ((rec or {}).get("base_rule") or rule) if (col_rules or row_rules) else rule

    def cell_rule(i: int, j: int) -> str:
        explicit = col_rules.get(norm_name(header[j]))
        r = row_rules[i] if row_rules and i < len(row_rules) else None
        if r in RULES:
            return strictest([r] + ([explicit] if explicit else []))
        return explicit or base

    cell_rules = [[cell_rule(i, j) if j in count_cols else rule for j in range(width)]
                  for i in range(n)]
    for j in count_cols:
        _CrossColumn.collect(ctx, t, names[j], [parsed[i][j] for i in range(n)],
                             [cell_rules[i][j] for i in range(n)],
                             [row_label(i) for i in range(n)], [rows[i][j] for i in range(n)])

    # small and unrounded counts
    if any(r != "none" for row in cell_rules for r in row):
        for j in count_cols:
            for i in range(n):
                kind, x = parsed[i][j]
                r = cell_rules[i][j]
                if kind != "num" or r == "none":
                    continue
                lo, hi = SMALL_COUNTS[r]
                if lo <= x <= hi:
                    add(_Finding(t.file, t.name, i + 1, row_label(i), names[j], rows[i][j],
                                 "small_count", f"unsuppressed small count ({lo}-{hi} must be "
                                 f"shown as *)", r))
                elif r == "nhs2018" and x != 0 and (x % 1 != 0 or x % ROUND_TO != 0):
                    add(_Finding(t.file, t.name, i + 1, row_label(i), names[j], rows[i][j],
                                 "unrounded", "count not rounded to a multiple of 5", r))

        # derived values shown next to a suppressed count
        col_of = {names[j]: j for j in range(width)}
        col_of.update({h: j for j, h in enumerate(header) if h})
        for d, srcs in derived.items():
            dj = col_of.get(d)
            sj = [col_of[s] for s in srcs if s in col_of]
            if dj is None or not sj:
                continue
            for i in range(n):
                if any(parsed[i][s][0] == "star" for s in sj) and parsed[i][dj][0] in ("num",
                                                                                       "text"):
                    add(_Finding(t.file, t.name, i + 1, row_label(i), names[dj], rows[i][dj],
                                 "derived", "a rate / interval / percentage is shown where its "
                                 "count is suppressed", rule))

        # differencing (among the cells published exactly: legacy5)
        if count_cols and any(cell_rules[i][j] == "legacy5" for i in range(n)
                              for j in count_cols):
            exact = [[cell_rules[i][j] == "legacy5" for j in range(width)] for i in range(n)]
            _check_differencing(ctx, t, rec, "legacy5", header, names, rows, parsed, count_cols,
                                label_col, exact)

    _check_identifiers(ctx, t, rule, names, rows, parsed, row_label)
    _check_coordinates(ctx, t, rule, names, rows, parsed)
    _check_record_level(ctx, t, names, rows, parsed)

# ---- across tables: a suppressed cell given away by a margin another table publishes ------------
@dataclass
class _CrossColumn:
    file: str
    table: str
    chapter: str | None
    name: str
    cells: list  # (kind, number) as parse_cell gives
    rules: list
    labels: list
    raw: list

    @staticmethod
    def collect(ctx, t, name, cells, rules, labels, raw) -> None:
        m = re.match(r"^(\d{2})_", t.name) or re.match(r"^(?:Table|Map)\s+(\d+)\.", t.label or "") \
            or re.match(r"^(?:.*/)?(\d{2})_", t.alias or "") or re.match(r"^(?:.*/)?(\d{2})_",
                                                                          t.file)
        chapter = str(int(m.group(1))) if m else None
        ctx.columns.append(_CrossColumn(t.file, t.name, chapter, name, cells, rules, labels,
                                        raw))


def _check_cross_tables(ctx) -> None:
    """The differencing test across tables: a column of one table (same name, same chapter)
    published in full gives the total of that quantity; a column of another table with a
    single suppressed ``legacy5`` cell and no total row gives that cell away as the total
    minus its other cells. A finding when the value so recovered is a count the rule hides
    (what ``margins`` in :func:`sna.disclosure.apply` prevents)."""
    by_key: dict[tuple, list[_CrossColumn]] = {}
    for c in ctx.columns:
        if c.chapter is not None:
            by_key.setdefault((c.chapter, norm_name(c.name)), []).append(c)
    for group in by_key.values():
        margins = {}
        for c in group:
            if all(k == "num" for k, _ in c.cells) and all(r == "legacy5" for r in c.rules):
                margins.setdefault(sum(x for _, x in c.cells), c)
        if not margins:
            continue
        for c in group:
            stars = [i for i, (k, _) in enumerate(c.cells) if k == "star"]
            if len(stars) != 1 or c.rules[stars[0]] != "legacy5" or any(
                    is_total_label(v) for v in c.labels):
                continue
            if any(k not in ("num", "star") for k, _ in c.cells):
                continue
            rest = sum(x for k, x in c.cells if k == "num")
            lo, hi = SMALL_COUNTS["legacy5"]
            for total, other in margins.items():
                if other.table == c.table and other.file == c.file:
                    continue
                v = total - rest
                if lo <= v <= hi:
                    i = stars[0]
                    ctx.findings.append(_Finding(
                        c.file, c.table, i + 1, c.labels[i], c.name, c.raw[i], "differencing",
                        f"differencing risk across tables: {other.file} ({other.table}) publishes "
                        f"this column in full (total {total:g}); minus this table's other cells "
                        f"that leaves {v:g} for the suppressed cell", "legacy5"))
                    break


# ---- prose: numbers followed by a counted noun --------------------------------------------------
_NHS_NOUNS = r"attendances?|patients?|call-outs?|callouts?|admissions?|ambulance\s+calls?"
_COUNT_NOUNS = (r"victims?|offences?|offenders?|suspects?|incidents?|records?|people|persons?|"
                r"participants?|crimes?|children|young\s+people|injuries|deaths?|homicides?|"
                r"assaults?|stabbings?|shootings?|" + _NHS_NOUNS)
_PROSE_NUMBER = re.compile(
    r"(?<![\w.,\-–/])(\d{1,3}(?:,\d{3})+|\d+)(?![\w.,%\-–/])(?:\s+|\*\*\s*|</strong>\s*)"
    r"(?:[a-z&\-]+\s+){0,2}?(" + _COUNT_NOUNS + r")\b", re.IGNORECASE)
_PROSE_SKIP = re.compile(r"(?:fewer|less|more|under|over|below|above)\s+than\s*$|(?:aged|age|"
                         r"under|over|top|first|last|of)\s*$", re.IGNORECASE)


class _ProseText(HTMLParser):
    """The text of an HTML document outside tables, scripts and styles, by paragraph."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("table", "script", "style", "head"):
            self._skip += 1
        elif tag in ("p", "li", "div", "br", "h1", "h2", "h3", "h4", "figcaption", "td", "th"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("table", "script", "style", "head") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _prose_rule(ctx) -> str:
    """The rule for counts of people and offences in the text: ``legacy5`` when a table of
    the folder is under it (police extracts, interventions), ``none`` when every table is
    under ``none`` or the NHS rule (open data beside health data), else the default."""
    seen = set()
    for recs in ctx.meta.by_file.values():
        for r in recs:
            seen.update(x for x in [r.get("rule"), r.get("base_rule"),
                                    *(r.get("column_rules") or {}).values()] if x in RULES)
    if "legacy5" in seen:
        return "legacy5"
    if seen and seen <= {"none", "nhs2018"}:
        return "none"
    return ctx.default_rule


def _check_prose(ctx, text: str, rel: str) -> None:
    """Counts written in prose: a number followed by a counted noun ("3 victims"). Under the
    NHS nouns (attendances, patients, call-outs, admissions) 1-7 must not appear and other
    counts must be multiples of 5; under the build's rule otherwise (1-5 for legacy5)."""
    parser = _ProseText()
    parser.feed(text)
    parser.close()
    for k, para in enumerate(p for p in " ".join(parser.parts).split("\n") if p.strip()):
        para = " ".join(para.split())
        for m in _PROSE_NUMBER.finditer(para):
            if _PROSE_SKIP.search(para[: m.start()]):
                continue
            x = float(m.group(1).replace(",", ""))
            nhs = re.fullmatch(_NHS_NOUNS, m.group(2), re.IGNORECASE) is not None
            rule = "nhs2018" if nhs else _prose_rule(ctx)
            if rule == "none" or x == 0:
                continue
            lo, hi = SMALL_COUNTS[rule]
            where = para[max(0, m.start() - 60): m.end() + 20].strip()
            if lo <= x <= hi:
                ctx.findings.append(_Finding(rel, "prose", k + 1, where, m.group(2), m.group(1),
                                             "small_count", f"a count of {lo}-{hi} written in "
                                             "the text", rule))
            elif nhs and x % ROUND_TO:
                ctx.findings.append(_Finding(rel, "prose", k + 1, where, m.group(2), m.group(1),
                                             "unrounded", "an NHS count in the text not rounded "
                                             "to a multiple of 5", rule))


def _docx_text(path: Path) -> str:
    """A Word document's paragraphs (not its tables, which copy the published tables) as
    HTML paragraphs for :func:`_check_prose`."""
    import html as _html

    import docx

    doc = docx.Document(str(path))
    return "".join(f"<p>{_html.escape(p.text)}</p>" for p in doc.paragraphs if p.text.strip())


# ---- record-level files -------------------------------------------------------------------------
_EVENT_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?$|^\d{1,2}/\d{1,2}/"
                         r"\d{2,4}(?:\s+\d{1,2}:\d{2})?$")


def _check_record_level(ctx, t, names, rows, parsed) -> None:
    """A table of one row per event or person: a column of day-precise dates with many
    distinct values, or the shape of a quarantine file (the line of a source file and why it
    was set aside)."""
    n = len(rows)
    norm = [norm_name(x) for x in names]
    if {"line", "reason"} <= set(norm) or {"row", "reason"} <= set(norm) or "raw" in norm:
        ctx.findings.append(_Finding(t.file, t.name, None, None, None, f"{n} rows",
                                     "record_level", "rows set aside from source files (their "
                                     "line and reason): record-level data", None))
        return
    if n < 10:
        return
    for j, name in enumerate(names):
        vals = [str(r[j]).strip() for r in rows if r[j] is not None and str(r[j]).strip()]
        dates = [v for v in vals if _EVENT_DATE.match(v)]
        if len(vals) >= 10 and len(dates) >= 0.9 * len(vals) and len(set(dates)) >= 0.5 * n:
            ctx.findings.append(_Finding(
                t.file, t.name, None, None, name, dates[0], "record_level",
                f"one row per event or person: {len(set(dates))} distinct dates in {n} rows",
                None))
            return


def _check_differencing(ctx, t, rec, rule, header, names, rows, parsed, count_cols, label_col,
                        exact=None):
    import numpy as np

    n = len(rows)
    want_rows = set(rec.get("total_rows") or []) if rec and rec.get("total_rows") else None
    want_cols = set(rec.get("total_columns") or []) if rec and rec.get("total_columns") else None
    total_rows = []
    for i in range(n):
        texts = [rows[i][j] for j in range(len(rows[i]))
                 if j not in count_cols and parsed[i][j][0] == "text"]
        if any(is_total_label(v) for v in texts) or (
                want_rows and any(str(v).strip() in {str(w) for w in want_rows} for v in texts)):
            total_rows.append(i)
    total_cols = [k for k, j in enumerate(count_cols)
                  if is_total_label(header[j]) or (want_cols and header[j] in want_cols)]
    exact_m = np.array([[exact is None or exact[i][j] for j in count_cols] for i in range(n)])
    supp = np.array([[parsed[i][j][0] == "star" for j in count_cols] for i in range(n)]) & exact_m
    if not supp.any() or (not total_rows and not total_cols):
        return
    if len(total_rows) > 1 or len(total_cols) > 1:
        ctx.findings.append(_Finding(
            t.file, t.name, None, None, None, None, "differencing",
            f"the table has {len(total_rows)} total rows and {len(total_cols)} total columns "
            "and suppressed cells; differencing cannot be checked: publish one table per group",
            rule))
        return
    missing = np.array([[parsed[i][j][0] in ("missing", "star") for j in count_cols]
                        for i in range(n)]) & ~supp | ~exact_m  # rounded cells: not exact
    eq = Equations(n, len(count_cols), total_rows[0] if total_rows else None,
                    total_cols[0] if total_cols else None,
                    bool(total_cols) and len(count_cols) > 1,
                    np.full(len(count_cols), bool(total_rows) and n > 1))
    unknown = supp | missing
    for i, k in eq.recoverable(supp, unknown):
        row_unknown = unknown[i].sum() if eq.row_eq else 0
        col_unknown = unknown[:, k].sum() if eq.col_eq[k] else 0
        if row_unknown == 1:
            why = "it is the only suppressed cell of a row with a total"
        elif col_unknown == 1:
            why = "it is the only suppressed cell of a column with a total"
        else:
            why = "it can be worked out by combining rows and columns with totals"
        j = count_cols[k]
        ctx.findings.append(_Finding(
            t.file, t.name, i + 1, None if label_col is None else rows[i][label_col], names[j],
            rows[i][j], "differencing", f"differencing risk: {why}", rule))

def _check_identifiers(ctx, t, rule, names, rows, parsed, row_label):
    n = len(rows)
    for j, name in enumerate(names):
        present = [i for i in range(n) if parsed[i][j][0] != "missing"]
        if not present:
            continue
        if _ID_NAME.match(norm_name(name)):
            i = present[0]
            ctx.findings.append(_Finding(
                t.file, t.name, None, None, name, _mask(rows[i][j]), "identifier",
                f"a column of record or person identifiers ({len(present)} values)", rule))
            continue
        hexes, nhs = [], []
        for i in present:
            v = rows[i][j]
            kind, x = parsed[i][j]
            s = str(v).strip()
            if kind == "text" and _HEX.match(s) and re.search(r"[a-fA-F]", s) and re.search(
                    r"\d", s):
                hexes.append(i)
            elif kind == "text" and _NHS_TEXT.match(s) and _valid_nhs_number(
                    re.sub(r"\D", "", s)):
                nhs.append(i)
            elif kind == "num" and x is not None and 1e9 <= x < 1e10 and x % 1 == 0 and (
                    _valid_nhs_number(str(int(x)))):
                nhs.append(i)
        for hits, what in ((hexes, "pseudonymised identifiers (hexadecimal hashes)"),
                           (nhs, "NHS-number-like values (10 digits, valid check digit)")):
            if hits:
                i = hits[0]
                ctx.findings.append(_Finding(
                    t.file, t.name, i + 1, row_label(i), name, _mask(rows[i][j]), "identifier",
                    f"{what} in {len(hits)} cell(s), first at row {i + 1}", rule))

def _check_coordinates(ctx, t, rule, names, rows, parsed):
    n = len(rows)
    numeric_cols = {}
    for j, name in enumerate(names):
        nums = [parsed[i][j][1] for i in range(n) if parsed[i][j][0] == "num"]
        raws = [rows[i][j] for i in range(n) if parsed[i][j][0] == "num"]
        if not nums or any(parsed[i][j][0] == "text" for i in range(n)):
            continue
        numeric_cols[j] = (nums, raws)
        norm = norm_name(name)
        if norm in _COORD_NAMES or _COORD_SUFFIX.search(norm):
            why = _is_record_level(norm, nums, raws)
            if why:
                ctx.findings.append(_Finding(t.file, t.name, None, None, name, raws[0],
                                             "coordinates", f"record-level coordinates: {why}",
                                             rule))
    # unnamed UK longitude / latitude pairs
    def precise(raws):
        return sum(_decimals(r) >= 4 for r in raws) >= 0.8 * len(raws)

    lats = [j for j, (nums, raws) in numeric_cols.items()
            if len(nums) >= 3 and all(49.8 <= v <= 60.9 for v in nums) and precise(raws)]
    lons = [j for j, (nums, raws) in numeric_cols.items()
            if len(nums) >= 3 and all(-8.7 <= v <= 1.8 for v in nums) and precise(raws)]
    if lats and lons:
        for j in (lats[0], lons[0]):
            norm = norm_name(names[j])
            if norm in _COORD_NAMES or _COORD_SUFFIX.search(norm):
                continue  # already reported by name
            ctx.findings.append(_Finding(
                t.file, t.name, None, None, names[j], numeric_cols[j][1][0], "coordinates",
                "record-level coordinates: a pair of columns holding precise UK latitudes and "
                "longitudes", rule))
    pts = t.points
    if pts is not None:
        xs, ys, crs = pts
        geo = bool(crs is not None and getattr(crs, "is_geographic", False))
        unit, lim = (1e-7, 0.001) if geo else (0.01, 50)
        coords = {(float(x), float(y)) for x, y in zip(xs, ys)}
        if len(coords) >= _MANY_DISTINCT and (
                _lattice_step([c[0] for c in coords], unit) < lim
                or _lattice_step([c[1] for c in coords], unit) < lim):
            ctx.findings.append(_Finding(
                t.file, t.name, None, None, "geometry", f"{len(coords)} points", "coordinates",
                f"record-level coordinates: a point layer with {len(coords)} distinct points, "
                "not on a grid", rule))

def _default_rule(rules, config) -> tuple[str, dict[str, str], dict[str, str]]:
    patterns: dict[str, str] = {}
    source_rules: dict[str, str] = {}
    default = None
    if isinstance(rules, str):
        default = check_rule(rules, key="rules")
    elif isinstance(rules, Mapping):
        for pat, r in rules.items():
            patterns[str(pat)] = check_rule(r, key=f"rules.{pat}")
    elif rules is not None:
        raise DisclosureError("rules must be a rule name or a mapping of file pattern -> rule",
                              key="rules")
    if config is not None:
        from ..config import Config, load_config

        cfg = config if isinstance(config, Config) else load_config(config)
        source_rules = {name: source_rule(src) for name, src in cfg.sources.items()}
        if default is None:
            default = cfg.disclosure.default_rule
    return default or "", patterns, source_rules

def check_outputs(
    dir: str | os.PathLike,
    *,
    rules: str | Mapping[str, str] | None = None,
    config: Any = None,
) -> pd.DataFrame:
    """Scan a finished output folder for anything unsafe to publish.

    Reads every CSV/TSV, every sheet of every XLSX, every ``<table>`` of every HTML file and
    of the HTML outputs of executed notebooks, and the layers of GeoPackages, and reports:

    - ``small_count``: an unsuppressed count from 1 to 7 (nhs2018) or 1 to 5 (legacy5),
      each cell under its own rule (the metadata's ``column_rules`` / ``row_rules``); also
      a number followed by a counted noun ("3 victims") in the text of an HTML page or a
      Word document (``table`` "prose", ``row`` the paragraph);
    - ``unrounded``: under nhs2018, a count that is not a multiple of 5 (in a table, or an
      NHS noun such as "352 attendances" in the text);
    - ``differencing``: under legacy5, a suppressed cell that the published totals give
      away (the only ``*`` of a row or column with a total, or a bridge; see :func:`apply`),
      or that a column of the same name published in full in another table of the same
      chapter gives away (its total minus this table's other cells);
    - ``record_level``: a table of one row per event (a column of day-precise dates,
      mostly distinct) or of rows set aside from source files (``line`` and ``reason``);
    - ``figure``: a figure whose chapter sidecar names a source table not in the folder;
    - ``derived``: a rate / interval / percentage shown where its count is ``*``;
    - ``identifier``: a column named like ``record_id`` / ``person_id`` /
      ``crime_reference`` / ``nhs_number``; pseudonyms (16-, 32-, 40- or 64-character
      hexadecimal hashes); NHS-number-like values (10 digits with a valid check digit);
    - ``coordinates``: columns named ``x``/``y``/``easting``/``northing``/``lon``/``lat``...
      with 10 or more distinct values not on a grid (step under 50 m / 0.001 degrees), or
      longitudes/latitudes with 4 or more decimals; unnamed pairs of precise UK latitudes
      and longitudes; point layers of 10 or more distinct points;
    - ``data_file``: a record-level data file (Parquet, Feather, pickle, SQLite, DuckDB...),
      e.g. the data cache, which a public folder must not hold;
    - ``metadata``: a table whose metadata says it was not put under control (restricted
      build), a restricted manifest, unreadable metadata; with ``config``, a table holding
      counts of an NHS source (A&E, ambulance, hospital) under a rule weaker than nhs2018;
    - ``unreadable``: a table file that cannot be read (the checker fails closed).

    Parameters
    ----------
    dir
        The output folder (``outputs/<area>/<FY>``).
    rules
        The rule for tables without metadata: a rule name, or ``{glob: rule}`` matched
        against the file's path in the folder (``"tables/07_*"``) or ``"path::table"``.
    config
        A config (path, dict or :class:`~sna.config.Config`) whose
        ``disclosure.default_rule`` is the default when ``rules`` gives none.

    Returns
    -------
    pandas.DataFrame
        One row per finding: ``file`` (path in the folder), ``table`` (file stem, sheet,
        layer, HTML table id / "Table 4.1" label / "table k"), ``row`` (1-based data row
        below the header; CSV line and Excel row = ``row + 1``; empty for a whole column),
        ``label`` (the row's label), ``column``, ``value`` (as shown; identifiers masked),
        ``check``, ``problem``, ``rule`` (the rule the table was checked under).
        ``attrs["sna"]["check_outputs"]`` holds ``dir``, ``files``, ``tables``,
        ``default_rule`` and ``skipped`` (files not scanned).

    Raises
    ------
    DisclosureError
        The folder does not exist; an unknown rule in ``rules``.

    Notes
    -----
    The rule of each table comes from, in order: ``data-sna-*`` attributes of an HTML
    table or the ``sna`` metadata of a notebook output; the file's ``<stem>.meta.json``;
    the chapter sidecars ``chapters/*.json``; ``manifest.json`` ``disclosure.tables``
    (matched by file, then by "Table N.k" label for HTML copies of a table; a workbook sheet
    copied from a CSV takes the CSV's metadata, found through a ``contents`` sheet with
    ``sheet`` and ``file`` columns or by the sheet being named as the CSV's stem). When that
    metadata names no known rule (a restricted build says "not applied") but lists the
    table's ``sources`` and a ``config`` is given, the sources' configured rules decide
    (nhs2018 if any source uses it); otherwise ``rules``, then ``manifest.json`` ``disclosure.default_rule``, then the config's
    ``disclosure.default_rule``, then ``legacy5``. Count columns are those the metadata
    names plus :func:`guess_count_columns`' guess (so a column the build forgot is still
    checked); metadata ``not_counts`` excludes a column. Tables under ``"none"`` get only
    the identifier and coordinate checks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from sna.disclosure import write_public_table
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_public_table(pd.DataFrame({"area": ["A", "B"], "n": [3, 22]}),
    ...                        folder / "tables" / "by_area.csv", rule="nhs2018", counts=["n"])
    >>> check_outputs(folder).empty
    True
    >>> pd.DataFrame({"area": ["A", "B"], "n": [3, 20]}).to_csv(folder / "tables" / "by_area.csv",
    ...                                                       index=False)
    >>> check_outputs(folder)[["file", "row", "column", "value", "check"]]
                       file  row column value        check
    0  tables/by_area.csv    1      n     3  small_count
    """
    import pandas as pd

    root = Path(dir)
    if not root.is_dir():
        raise DisclosureError(
            "the output folder does not exist (or is not a folder); give the folder "
            "'sna run' wrote, e.g. outputs/<area>/<year>", file=root)
    default, patterns, source_rules = _default_rule(rules, config)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    meta = _MetaIndex(root)
    meta.load(p for p in files if p.suffix.lower() == ".json")
    ctx = _Context(root, default or meta.default_rule or "legacy5", patterns, meta, source_rules)
    ctx.findings.extend(meta.problems)
    if meta.build and meta.build != "public":
        ctx.findings.append(_Finding("manifest.json", None, None, None, "build", meta.build,
                                     "metadata", f"the manifest says this is a {meta.build!r} "
                                     "build, not a public one", None))
    for p in files:
        rel = p.relative_to(root).as_posix()
        suffix = p.suffix.lower()
        if suffix in _DATA_SUFFIXES:
            ctx.files += 1
            ctx.findings.append(_Finding(rel, None, None, None, None, None, "data_file",
                                         "a data file (record-level data or the data cache) "
                                         "cannot be published", None))
            continue
        if suffix == ".docx":  # the Word report and board paper: the counts in their text
            ctx.files += 1
            try:
                _check_prose(ctx, _docx_text(p), rel)
            except Exception as exc:  # fails closed, as for tables
                ctx.findings.append(_Finding(rel, None, None, None, None, None, "unreadable",
                                             f"cannot read the file to check it: {exc}", None))
            continue
        reader = _READERS.get(suffix)
        if reader is None:
            if suffix != ".json":  # metadata, read above
                ctx.skipped.append(rel)
            continue
        ctx.files += 1
        try:
            tables = reader(p, rel)
        except Exception as exc:  # the checker fails closed on anything it cannot read
            ctx.findings.append(_Finding(rel, None, None, None, None, None, "unreadable",
                                         f"cannot read the file to check it: {exc}", None))
            continue
        single = suffix in (".csv", ".tsv")
        for t in tables:
            _check_table(ctx, t, single)
        if suffix in (".html", ".htm"):
            _check_prose(ctx, p.read_text(encoding="utf-8", errors="replace"), rel)
    _check_cross_tables(ctx)
    for prefix, fig in meta.figures:
        for src in fig.get("tables") or []:
            if not (root / (prefix + str(src))).is_file():
                ctx.findings.append(_Finding(
                    prefix + str(fig.get("file")), fig.get("label"), None, None, None, src,
                    "figure", "the figure says it is drawn from a table that is not in the "
                    "publication (so its numbers are not under the tables' control)", None))
    records = [{k: (None if v is None else (v if k == "row" else str(v)))
                for k, v in f.__dict__.items()} for f in ctx.findings]
    df = pd.DataFrame({c: pd.Series([r[c] for r in records], dtype=object)
                       for c in FINDING_COLUMNS})
    df["row"] = df["row"].astype("Int64")
    df.attrs["sna"] = {"check_outputs": {
        "dir": str(root), "files": ctx.files, "tables": ctx.tables,
        "default_rule": ctx.default_rule, "skipped": ctx.skipped,
    }}
    logger.info("check_outputs %s: %d findings in %d tables of %d files", root, len(df),
                ctx.tables, ctx.files)
    return df
