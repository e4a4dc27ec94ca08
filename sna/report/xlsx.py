"""``tables.xlsx`` to the government's standard for releasing statistics in spreadsheets.

The Analysis Function's guidance (*Releasing statistics in spreadsheets*, and gptables,
which implements it) asks for a workbook a screen reader and a machine can both read:

- a **cover** sheet (what the tables are, where they come from, when and how they were
  made), a **contents** sheet (one row per table sheet, linked) and a **notes** sheet;
- **one table per sheet**, its title in cell A1, a line saying the sheet holds one table, the
  source, then the table: a single header row, frozen so it stays in view;
- **numbers stored as numbers** (never as text), rounded to the precision the report shows
  and given a number format (thousands separators, the decimals shown; shares as
  percentages); no merged cells, no blank header, no colour carrying meaning;
- each table marked as an Excel table (a named range of header and rows).

:func:`write_tables_xlsx` writes it from a run folder's ``tables/*.csv`` and the chapters'
sidecars. Every cell is written by one function, :func:`write_cell`, so that a check on
what a cell may hold applies to the whole workbook.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["HEADER_ROW", "SHEET_PREAMBLE", "write_cell", "write_tables_xlsx"]

#: The row of a table sheet's header (title, "one table" line and source above it).
HEADER_ROW = 4
#: What the first rows of a table sheet say, by row.
SHEET_PREAMBLE = ("title", "this worksheet contains one table", "source")
_SPECIAL_SHEETS = ("Cover", "Contents", "Notes")
_TITLE_FONT = {"bold": True, "size": 14}


def write_cell(ws, row: int, column: int, value: Any, *, number_format: str | None = None,
               bold: bool = False, size: float | None = None, wrap: bool = False,
               link: str | None = None):
    """Write one cell: the only place the workbook writes a value.

    Numbers (int, float, numpy numbers) are stored as numbers, NaN as an empty cell, text as
    text. ``link`` makes the cell a link inside the workbook (``"#'Sheet'!A1"``).

    Text is never a formula: text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return (:func:`sna.inert.is_formula_like`; OWASP's CSV-injection guidance) is
    stored as a text cell with Excel's quote prefix, so that neither opening nor editing the
    cell runs it. The workbook has no formulas.
    """
    from openpyxl.styles import Alignment, Font

    from ..inert import is_formula_like

    if value is None or (isinstance(value, float) and math.isnan(value)):
        value = None
    elif hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    cell = ws.cell(row=row, column=column)
    cell.value = value
    if isinstance(value, str) and (cell.data_type == "f" or is_formula_like(value)):
        cell.data_type = "s"
        cell.quotePrefix = True
    if number_format and isinstance(value, (int, float)) and not isinstance(value, bool):
        cell.number_format = number_format
    if bold or size:
        cell.font = Font(bold=bold, size=size or 11, underline="single" if link else None,
                         color="0563C1" if link else None)
    elif link:
        cell.font = Font(underline="single", color="0563C1")
    if wrap:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    if link:
        cell.hyperlink = link
    return cell


def _number(v: Any) -> Any:
    """A CSV cell as Excel should hold it: '35' -> 35, '2.5' -> 2.5; text unchanged (a cell the
    CSV writer neutralised with an apostrophe loses it: :func:`write_cell` makes it text)."""
    from ..inert import uninert_text

    if isinstance(v, str):
        v = uninert_text(v)
        t = v.strip()
        if re.fullmatch(r"-?\d+", t):
            return int(t)
        if re.fullmatch(r"-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?", t):
            return float(t)
        if t.lower() in ("true", "false"):
            return t.lower() == "true"
    return v


def _decimals(values: Sequence[float]) -> int:
    """The decimals a column's numbers carry (at most 4), from their shortest form."""
    most = 0
    for v in values:
        if isinstance(v, float) and math.isfinite(v) and not v.is_integer():
            text = repr(v)
            if "e" in text:
                return 4
            most = max(most, len(text.split(".")[1]))
    return min(most, 4)


def _format_of(name: str, values: list) -> str | None:
    """The number format of a column: shares as percentages, else thousands separators and
    the decimals the values carry."""
    nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not nums:
        return None
    d = _decimals(nums)
    share = re.search(r"(^|_)(share|proportion)($|_)", name) and all(
        -1.0 <= v <= 1.0 for v in nums)
    if share:
        return "0" + ("." + "0" * max(d - 2, 1)) + "%"
    return "#,##0" + ("." + "0" * d if d else "")


def _sheet_name(stem: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]\:\*\?\/\\']", "_", stem)[:31]
    name, k = base, 2
    while name.lower() in used or name in _SPECIAL_SHEETS:
        suffix = f"~{k}"
        name = base[: 31 - len(suffix)] + suffix
        k += 1
    used.add(name.lower())
    return name


def _widths(ws, rows: Sequence[Sequence[Any]]) -> None:
    from openpyxl.utils import get_column_letter

    ncol = max((len(r) for r in rows), default=0)
    for j in range(ncol):
        longest = max((len(f"{r[j]:,}" if isinstance(r[j], (int, float))
                           and not isinstance(r[j], bool) else str(r[j] or ""))
                       for r in rows if j < len(r)), default=8)
        ws.column_dimensions[get_column_letter(j + 1)].width = min(max(longest + 2, 10), 60)



def _source_words(sources: Sequence[str]) -> str:
    if not sources:
        return "Reference data and the assessment's own records (no counts of people)."
    return "Source: " + ", ".join(sources) + "."


def write_tables_xlsx(out: str | os.PathLike, *, info: Mapping[str, Any] | None = None,
                      source_words: Mapping[str, str] | None = None) -> Path | None:
    """Write every ``tables/*.csv`` of a run folder into ``tables.xlsx``, to the standard.

    Parameters
    ----------
    out
        The run folder (``outputs/<area>/<FY>``).
    info
        ``area``, ``year``, ``build``, ``synthetic``; default from the folder's manifest.
    source_words
        Plain words for the config's source names in the source lines (e.g.
        ``{"ecds": "A&E assault attendances"}``).

    Returns
    -------
    pathlib.Path or None
        ``<out>/tables.xlsx`` (None, and no file, when there is no table). Sheets: Cover,
        Contents, Notes, then one per table in file order. In a public build
        ``tables.meta.json`` lists every sheet for the output checker, with the row of each
        table's header (:data:`HEADER_ROW`).
    """
    from openpyxl import Workbook

    from ..chapter import read_sidecars, run_info

    out = Path(out)
    csvs = sorted((out / "tables").glob("*.csv"))
    path = out / "tables.xlsx"
    meta_path = out / "tables.meta.json"
    if not csvs:
        path.unlink(missing_ok=True)
        meta_path.unlink(missing_ok=True)
        return None
    info = {**run_info(out), **dict(info or {})}
    words = dict(source_words or {})
    about = {}
    for side in read_sidecars(out).values():
        for t in side.get("tables", []):
            about[Path(t["file"]).name] = t
    public = info["build"] == "public"

    wb = Workbook()
    cover = wb.active
    cover.title = "Cover"
    contents = wb.create_sheet("Contents")
    notes = wb.create_sheet("Notes")
    used: set[str] = set()
    records, listing = [], []
    for csv in csvs:
        name = _sheet_name(csv.stem, used)
        t = about.get(csv.name, {})
        _table_sheet(wb.create_sheet(name), csv, t, [words.get(s, s) for s in t.get("sources", [])],
                     public)
        listing.append((name, t.get("label", ""), t.get("caption", ""), f"tables/{csv.name}",
                        t.get("disclosure", "")))
        meta = csv.with_name(csv.stem + ".meta.json")
        if meta.exists():
            rec = json.loads(meta.read_text(encoding="utf-8"))
            rec.update({"table": name, "file": f"tables/{csv.name}", "header_row": HEADER_ROW})
            records.append(rec)
    _cover_sheet(cover, info, public)
    _contents_sheet(contents, listing)
    _notes_sheet(notes, _note_rows(public, info["synthetic"]))

    tmp = path.with_suffix(".xlsx.tmp")
    wb.save(str(tmp))
    tmp.replace(path)
    _write_meta(meta_path, records)
    return path


def _table_sheet(ws, csv: Path, t: Mapping[str, Any], sources: Sequence[str],
                 public: bool) -> None:
    """One table's sheet: title, the "one table" line and the source (with the disclosure
    rule of a public build) above the table, its header at :data:`HEADER_ROW`, frozen; the
    numbers formatted; an Excel table over header and rows when the header allows one."""
    import pandas as pd
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    label, caption = t.get("label", ""), t.get("caption", "")
    try:
        df = pd.read_csv(csv, dtype=object, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        df = pd.DataFrame()
    header = [str(c) for c in df.columns]
    rows = [[_number(v) if not (isinstance(v, float) and math.isnan(v)) else None
             for v in r] for r in df.itertuples(index=False, name=None)]
    title = f"{label}: {caption}" if label else (caption or csv.stem)
    write_cell(ws, 1, 1, title, **_TITLE_FONT)
    write_cell(ws, 2, 1, "This worksheet contains one table. Notes are on the Notes "
                         "sheet ([note 1], [note 2]"
                         + (", [note 3]" if public else "") + ").")
    write_cell(ws, 3, 1, _source_words(sources)
               + (f" Disclosure control: {t['disclosure']}." if public and t.get(
                   "disclosure") else ""))
    for j, h in enumerate(header, start=1):
        write_cell(ws, HEADER_ROW, j, h, bold=True)
    formats = [_format_of(h, [r[j] for r in rows]) for j, h in enumerate(header)]
    for i, r in enumerate(rows, start=HEADER_ROW + 1):
        for j, v in enumerate(r, start=1):
            write_cell(ws, i, j, v, number_format=formats[j - 1])
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)
    _widths(ws, [header, *rows])
    ws.column_dimensions["A"].width = max(ws.column_dimensions["A"].width, 12)
    if header and rows and len(set(header)) == len(header) and all(header):
        ref = f"A{HEADER_ROW}:{get_column_letter(len(header))}{HEADER_ROW + len(rows)}"
        tab = Table(displayName=re.sub(r"\W", "_", f"table_{csv.stem}")[:250], ref=ref)
        tab.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=False)
        ws.add_table(tab)


def _note_rows(public: bool, synthetic: bool) -> list[tuple[str, str]]:
    """The Notes sheet's notes: rounding and empty cells; withheld values (public build);
    synthetic data."""
    rows = [
        ("[note 1]", "Numbers are rounded to the precision shown in the report; totals may "
                     "differ slightly from the sum of rounded parts."),
        ("[note 2]", "An empty cell: no value (the data cannot give it), not zero."),
    ]
    if public:
        rows.append(("[note 3]", "A * marks a value withheld by statistical disclosure "
                     "control (the rule is named in the contents, for each table)."))
    if synthetic:
        rows.append((f"[note {len(rows) + 1}]",
                     "Synthetic data: every number is made from the bundled synthetic "
                     "demo dataset and describes no real people or places."))
    return rows


def _cover_sheet(cover, info: Mapping[str, Any], public: bool) -> None:
    """The Cover sheet: what the tables are, the build, when and how they were made."""
    from .. import __version__

    write_cell(cover, 1, 1, f"Serious violence needs assessment: tables for {info['area']}, "
                            f"{info['year']}", **_TITLE_FONT)
    lines = [
        ("About these tables", None),
        ("Every table of the assessment's report, one a sheet, in the order of the report. "
         "The Contents sheet lists them with links; the Notes sheet explains the notes the "
         "tables refer to.", None),
        ("Build", "Public: under statistical disclosure control." if public else
         "Restricted: full detail for partner agencies; not for publication."),
    ]
    if info["synthetic"]:
        lines.append(("Synthetic data", "Made from the bundled synthetic demo dataset: no "
                      "number describes real people or places."))
    lines += [("Produced", f"{_dt.date.today():%d %B %Y} with sna {__version__}; each "
                           "table is also a CSV file in the folder tables/."),
              ("Contact", "The analyst named in the needs assessment.")]
    r = 3
    for head, text in lines:
        write_cell(cover, r, 1, head, bold=True, size=12)
        if text:
            write_cell(cover, r + 1, 1, text, wrap=True)
            r += 1
        r += 2 if head != "About these tables" else 1
    cover.column_dimensions["A"].width = 100


def _contents_sheet(contents, listing: Sequence[tuple[str, str, str, str, str]]) -> None:
    """The Contents sheet: one linked row per table sheet (sheet, label, caption, CSV file,
    disclosure rule)."""
    write_cell(contents, 1, 1, "Contents", **_TITLE_FONT)
    write_cell(contents, 2, 1, "This worksheet contains one table. Select a sheet name to "
                               "go to it.")
    for j, h in enumerate(["Sheet", "Table", "Title", "File", "Disclosure control"], start=1):
        write_cell(contents, 3, j, h, bold=True)
    for i, (name, label, caption, file, rule) in enumerate(listing, start=4):
        write_cell(contents, i, 1, name, link=f"#'{name}'!A1")
        for j, v in enumerate([label, caption, file, rule], start=2):
            write_cell(contents, i, j, v, wrap=j == 3)
    contents.freeze_panes = "A4"
    for col, width in zip("ABCDE", (34, 11, 90, 40, 30), strict=True):
        contents.column_dimensions[col].width = width


def _notes_sheet(notes, note_rows: Sequence[tuple[str, str]]) -> None:
    """The Notes sheet: one row per note (number, text)."""
    write_cell(notes, 1, 1, "Notes", **_TITLE_FONT)
    write_cell(notes, 2, 1, "This worksheet contains one table.")
    write_cell(notes, 3, 1, "Note number", bold=True)
    write_cell(notes, 3, 2, "Note text", bold=True)
    for i, (num, text) in enumerate(note_rows, start=4):
        write_cell(notes, i, 1, num)
        write_cell(notes, i, 2, text, wrap=True)
    notes.freeze_panes = "A4"
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["B"].width = 100


def _write_meta(meta_path: Path, records: list[dict]) -> None:
    """``tables.meta.json`` for the output checker (a public build's tables have records):
    the Cover, Contents and Notes sheets, then every table sheet; removed when no table
    has a record."""
    if not records:
        meta_path.unlink(missing_ok=True)
        return
    specials = [{"table": s, "rule": "none", "counts": [], "derived": {}, "total_rows": [],
                 "total_columns": [], "header_row": 3} for s in _SPECIAL_SHEETS]
    meta_path.write_text(json.dumps({"file": "tables.xlsx", "tables": specials + records},
                                    indent=2), encoding="utf-8")
