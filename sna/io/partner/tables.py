"""Reading partner tables: CSV, gzipped CSV or Excel, every value kept as text, each row with
its ``file`` and ``line`` (:func:`read_table`); mapping their columns (:func:`apply_mapping`);
recognising a source's files for ``sna init`` (:func:`detect_source`).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io

import numpy as np
import pandas as pd

from ...errors import ConfigError, InputFormatError
from .._files import InputFile, csv_error_cause, undecodable_hint
from .fields import detect_format, propose_mapping
from .values import STRING_DTYPE

__all__ = [
    "TABLE_PATTERNS",
    "read_table",
    "apply_mapping",
    "header_of",
    "detect_source",
]


#: File-name patterns read from a folder for partner sources.
TABLE_PATTERNS = ("*.csv", "*.csv.gz", "*.xlsx", "*.txt", "*.tsv")

# --------------------------------------------------------------------------------------------
# reading a table
# --------------------------------------------------------------------------------------------
def _physical_lines(text: str, nrows: int) -> np.ndarray:
    """Physical line (header = 1) at which each of the ``nrows`` records starts."""
    n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if n_lines == nrows + 1 and "\n\n" not in text:
        return np.arange(2, nrows + 2, dtype=np.int64)
    reader = csv.reader(io.StringIO(text, newline=""))
    starts: list[int] = []
    prev = 0
    for i, row in enumerate(reader):
        start = prev + 1
        prev = reader.line_num
        if i == 0 or not row or not any(c.strip() for c in row):
            continue
        starts.append(start)
    return np.asarray(starts[:nrows], dtype=np.int64)

def _decode(data: bytes, encoding: str, name: str) -> str:
    enc = encoding.lower().replace("_", "-")
    if enc in ("utf-8", "utf8"):
        enc = "utf-8-sig"
    try:
        return data.decode(enc)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputFormatError(
            f"the file is not {encoding} text (byte {data[exc.start]:#04x} cannot be decoded); "
            + undecodable_hint(data),
            file=name, line=line,
        ) from None
    except LookupError:
        raise ConfigError(f"unknown text encoding {encoding!r}", key="encoding") from None

def _diagnose(text: str, name: str, ncols: int, sep: str, msg: str) -> InputFormatError:
    """Find the line where a CSV that pyarrow could not parse goes wrong."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    last = 0
    n_lines = text.rstrip("\r\n").count("\n") + 1
    try:
        for row in reader:
            start = last + 1
            last = reader.line_num
            if not row:
                continue
            if len(row) != ncols:
                at_end = reader.line_num >= n_lines
                hint = (" - the last line is incomplete: the file looks truncated" if at_end
                        else " - the row is damaged; fix or remove it")
                return InputFormatError(f"expected {ncols} fields as in the header, found {len(row)}{hint}",
                                        file=name, line=start)
    except csv.Error as exc:
        return InputFormatError(f"the CSV cannot be parsed ({exc}): {csv_error_cause(exc)}",
                                file=name, line=last + 1)
    return InputFormatError(f"the CSV cannot be parsed: {msg}", file=name)

def _read_csv_text(text: str, name: str, sep: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if not text.strip():
        raise InputFormatError("the file is empty: a table needs at least a header line", file=name)
    first = text.split("\n", 1)[0].rstrip("\r")
    header = [h.strip() for h in next(csv.reader([first], delimiter=sep))]
    if len(set(header)) != len(header) or "" in header:
        dup = sorted({h for h in header if header.count(h) > 1})
        what = (f"repeats column name(s) {', '.join(map(repr, dup))}" if dup
                else "has a column without a name")
        raise InputFormatError(f"the header {what}: give each column its own name", file=name, line=1)
    if "line" in header or "file" in header:
        header = [f"{h} (source)" if h in ("line", "file") else h for h in header]
    data = text.encode("utf-8")
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                 strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        raise _diagnose(text, name, len(header), sep, str(exc)) from None
    import pyarrow.compute as pc

    cols = {}
    for c in header:
        arr = pc.utf8_trim_whitespace(table[c])
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
        cols[c] = pd.Series(pd.array(arr, dtype=STRING_DTYPE))
    out = pd.DataFrame(cols)
    out["line"] = _physical_lines(text, len(out))[: len(out)]
    return out

def _sheets_with_data(wb) -> list[str]:
    """The sheets holding a table: a row of values below another (a header and a row)."""
    out = []
    for ws in wb.worksheets:
        rows = 0
        for row in ws.iter_rows(values_only=True):
            if any(v is not None and str(v).strip() for v in row):
                rows += 1
                if rows >= 2:
                    out.append(ws.title)
                    break
    return out


def _check_header(ws, name: str) -> None:
    """A header row without merged or blank cells over columns holding data."""
    from openpyxl.utils import get_column_letter

    for rng in getattr(ws, "merged_cells", None) and ws.merged_cells.ranges or ():
        if rng.min_row <= 1 <= rng.max_row and rng.max_col > rng.min_col:
            raise InputFormatError(
                f"sheet {ws.title!r}: the header cells {rng.coord} are merged, so one column would "
                f"have no name and be dropped; unmerge them and give every column its own name",
                file=name, line=1, column=rng.coord.split(":")[0])
    header = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
    for i in range(ws.max_column):
        h = header[i] if i < len(header) else None
        if h is not None and str(h).strip():
            continue
        col = [r[0] for r in ws.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1, values_only=True)]
        if any(v is not None and str(v).strip() for v in col):
            cell = f"{get_column_letter(i + 1)}1"
            raise InputFormatError(
                f"sheet {ws.title!r}: the header cell {cell} is blank but its column holds data; "
                "name the column (or delete it) so that no value is dropped",
                file=name, line=1, column=cell)


def _read_excel(f: InputFile, sheet: str | int | None) -> pd.DataFrame:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(f.read_bytes()), data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, openpyxl errors
        raise InputFormatError(f"this is not a readable Excel (.xlsx) workbook: {exc}",
                               file=f.name) from None
    if sheet is None:
        data = _sheets_with_data(wb)
        if len(data) > 1:
            raise InputFormatError(
                f"the workbook has data on {len(data)} sheets ({', '.join(repr(d) for d in data)}) "
                "and sna reads one table per file: set the source's 'sheet' in sna.yml to the one "
                "to read (or save each sheet as its own file)",
                file=f.name, key="sheet")
        sheet = data[0] if data else 0
    try:
        ws = wb[sheet] if isinstance(sheet, str) else wb.worksheets[sheet]
    except (KeyError, IndexError):
        raise InputFormatError(
            f"cannot read the Excel sheet {sheet!r}: the workbook's sheets are "
            f"{', '.join(repr(n) for n in wb.sheetnames)}", file=f.name, key="sheet") from None
    _check_header(ws, f.name)
    try:
        raw = pd.read_excel(wb, sheet_name=ws.title, header=None, dtype=object, engine="openpyxl")
    except ValueError as exc:
        raise InputFormatError(f"cannot read the Excel sheet {sheet!r}: {exc}", file=f.name,
                               key="sheet") from None
    if raw.empty:
        raise InputFormatError("the sheet is empty: a table needs at least a header row", file=f.name)
    header = [("" if pd.isna(h) else str(h).strip()) for h in raw.iloc[0].tolist()]
    keep = [i for i, h in enumerate(header) if h]
    body = raw.iloc[1:, keep].copy()
    body.columns = [header[i] for i in keep]
    body["line"] = np.arange(2, len(raw) + 1, dtype=np.int64)
    empty = body.drop(columns="line").isna().all(axis=1)
    body = body[~empty].reset_index(drop=True)
    body = body.astype(object).where(body.notna(), None)
    body.attrs["excel"] = True
    return body

def read_table(f: InputFile, *, encoding: str = "utf-8", sheet: str | int | None = None) -> pd.DataFrame:
    """Read one CSV, gzipped CSV or Excel table, values kept as text.

    Parameters
    ----------
    f
        The input file (see :func:`sna.io.expand_paths`).
    encoding
        Text encoding of a CSV (a UTF-8 byte-order mark is accepted).
    sheet
        Excel sheet name or index (the first sheet by default).

    Returns
    -------
    pandas.DataFrame
        The file's own columns (CSV: ``string`` dtype, stripped, ``<NA>`` for blanks; Excel:
        object dtype, values as the cells hold them: text, numbers, datetimes), plus ``file`` and
        ``line`` (1 = the header). ``attrs["excel"]`` is True for a workbook.

    Raises
    ------
    InputFormatError
        Empty file, undecodable text (with the line), a truncated or damaged row (with the
        line), repeated header names, an unreadable workbook.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sna.io._files import InputFile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("Ref,Age\\nA1,23\\nA2,\\n")
    >>> read_table(InputFile(str(p), p))[["Ref", "Age", "line"]].values.tolist()
    [['A1', '23', 2], ['A2', <NA>, 3]]
    """
    lower = f.basename.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        df = _read_excel(f, sheet)
    elif lower.endswith(".xls"):
        raise InputFormatError("old Excel .xls workbooks are not read: save the sheet as .xlsx or CSV",
                               file=f.name)
    else:
        data = f.read_bytes()
        if lower.endswith(".gz"):
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as exc:
                raise InputFormatError(f"the gzip file cannot be decompressed ({exc}); it may be "
                                       "truncated", file=f.name) from None
        text = _decode(data, encoding, f.name)
        first = text.split("\n", 1)[0]
        sep = "\t" if (lower.endswith((".tsv", ".tsv.gz")) or (first.count("\t") > first.count(","))) else ","
        df = _read_csv_text(text, f.name, sep)
    df.insert(len(df.columns) - 1, "file", f.name)
    df["line"] = df["line"].astype("int64")
    return df

def apply_mapping(df: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    """Keep only the mapped columns, renamed to canonical names (plus ``file`` and ``line``).

    Columns not in the mapping are dropped, so an unmapped identifier column never travels
    further.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Ref": ["A"], "Secret": ["x"], "file": ["f"], "line": [2]})
    >>> apply_mapping(df, {"record_id": "Ref"}).columns.tolist()
    ['record_id', 'file', 'line']
    """
    out = pd.DataFrame({k: df[v] for k, v in mapping.items()}, index=df.index)
    out["file"] = df["file"]
    out["line"] = df["line"]
    out.attrs = dict(df.attrs)
    return out

def header_of(f: InputFile, *, encoding: str = "utf-8", sheet: str | int | None = None) -> list[str]:
    """The header of a table file (first line of a CSV, first row of a sheet).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sna.io._files import InputFile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("\\ufeffRef, HO Code\\nA,8N\\n", encoding="utf-8")
    >>> header_of(InputFile(str(p), p))
    ['Ref', 'HO Code']
    """
    lower = f.basename.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        df = _read_excel(f, sheet)
        return [c for c in df.columns if c not in ("line",)]
    data = f.read_bytes()
    if lower.endswith(".gz"):
        with gzip.open(io.BytesIO(data)) as fh:
            data = fh.read(65536)
    first = data[:65536].split(b"\n", 1)[0].lstrip(codecs.BOM_UTF8).decode(encoding, errors="replace")
    sep = "\t" if first.count("\t") > first.count(",") else ","
    return [h.strip() for h in next(csv.reader([first.rstrip("\r")], delimiter=sep), [])]

def detect_source(path, format: str, *, encoding: str = "utf-8") -> dict | None:
    """Propose a source config for ``path`` if its files look like ``format`` (for ``sna init``).

    Parameters
    ----------
    path
        A file, folder, glob or zip archive of partner tables.
    format
        The partner format to test.

    Returns
    -------
    dict or None
        ``{"format": format, "columns": <proposed mapping>}`` when every table's header
        belongs to ``format`` (:func:`detect_format`), else None. A field found under
        different names in different files is left out of the mapping (each file then finds
        it by its common spellings).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "calls.csv"
    >>> _ = p.write_text("Incident Number,Call Date,Chief Complaint,LSOA\\n")
    >>> detect_source(p, "ambulance")["columns"]["call_category"]
    'Chief Complaint'
    >>> detect_source(p, "ecds") is None
    True
    """
    from .._files import expand_paths

    try:
        files = expand_paths(path, patterns=TABLE_PATTERNS, what=f"{format} data")
    except InputFormatError:
        return None
    proposals = []
    for f in files[:24]:
        try:
            header = header_of(f, encoding=encoding)
        except (InputFormatError, OSError, ValueError):
            return None
        if detect_format(header) != format:
            return None
        proposals.append(propose_mapping(header, format))
    if not proposals:
        return None
    # a field whose column is named differently in some files is left to the common spellings
    columns = {k: v for k, v in proposals[0].items() if all(p.get(k) == v for p in proposals[1:])}
    return {"format": format, "columns": columns}
