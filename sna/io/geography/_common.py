"""What the geography readers share: finding a column by its name (the LSOA code and its
vintage, names, district codes), the bundled reference files, and reading a published table
(CSV or workbook, with its title rows and thousands separators)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import pandas as pd

from ...errors import InputFormatError

__all__ = [
    "detect_column",
    "detect_lsoa_column",
    "name_column",
    "norm_column",
    "read_csv_any",
    "reference",
    "to_number",
]


_LSOA_CODE_RE = re.compile(r"^[EW]01\d{6}$")


def norm_column(col: str) -> str:
    """A column name folded for matching: lower case, letters and digits only
    (``"LSOA code (2011)"`` -> ``"lsoacode2011"``)."""
    return re.sub(r"[^a-z0-9]", "", str(col).lower())


def detect_lsoa_column(
    columns: Sequence[str], values: "pd.DataFrame | None" = None
) -> tuple[str | None, int | None]:
    """Find the LSOA code column among ``columns`` and the vintage its name says.

    Parameters
    ----------
    columns
        Column names.
    values
        Optionally the data: when no name fits, a text column whose values are LSOA codes
        (``E01``/``W01`` + 6 digits) is taken.

    Returns
    -------
    (column, vintage)
        The column (None when none is found) and 2011, 2021 or None (not said by the name).

    Examples
    --------
    >>> detect_lsoa_column(["OBJECTID", "LSOA21CD", "LSOA21NM"])
    ('LSOA21CD', 2021)
    >>> detect_lsoa_column(["LSOA code (2011)", "LSOA name (2011)"])
    ('LSOA code (2011)', 2011)
    >>> detect_lsoa_column(["lsoa_code", "x"])
    ('lsoa_code', None)
    >>> detect_lsoa_column(["name", "geometry"])
    (None, None)
    """
    ranked: list[tuple[int, str, int | None]] = []
    for col in columns:
        n = norm_column(col)
        if "lsoa" not in n or "name" in n or n.endswith("nm"):
            continue
        vintage = 2021 if re.search(r"lsoa(20)?21|2021", n) else 2011 if re.search(r"lsoa(20)?11|2011", n) else None
        if re.fullmatch(r"lsoa(20)?(11|21)?(cd|code)", n) or re.fullmatch(r"lsoacode(20)?(11|21)?", n):
            ranked.append((0, col, vintage))
        elif "cd" in n or "code" in n:
            ranked.append((1, col, vintage))
        elif n in ("lsoa", "lsoa11", "lsoa21", "lsoa2011", "lsoa2021"):
            ranked.append((2, col, vintage))
    if ranked:
        ranked.sort(key=lambda t: t[0])
        return ranked[0][1], ranked[0][2]
    if values is not None:
        for col in columns:
            if col == "geometry" or col not in values:
                continue
            s = values[col].dropna().astype(str).head(200)
            if len(s) and s.str.match(_LSOA_CODE_RE).mean() >= 0.9:
                return col, None
    return None, None


def detect_column(columns: Sequence[str], patterns: Sequence[str]) -> str | None:
    """The first column whose folded name (:func:`norm_column`) matches a pattern whole, the
    patterns tried in order; None when none does."""
    for pat in patterns:
        rx = re.compile(pat)
        for col in columns:
            if rx.fullmatch(norm_column(col)):
                return col
    return None


def name_column(columns: Sequence[str]) -> str | None:
    """The LSOA name column (``LSOA11NM``, ``lsoa21_name``, ``LSOA name (2011)`` ...), or None."""
    return detect_column(columns, [r"lsoa(20)?(11|21)?(nm|name)", r"lsoaname(20)?(11|21)?", r"lsoa.*name.*"])


def reference(name: str) -> Path:
    """The path of a bundled reference file (``sna/datasets/reference``)."""
    from ...datasets import reference_path

    return reference_path(name)


def _read_workbook(path: Path, what: str) -> pd.DataFrame:
    """The sheet of a workbook (xlsx, xls, ods) that holds an LSOA code column, its header found
    below any title rows (published deprivation and population workbooks have notes sheets and
    titles above the table)."""
    engine = "odf" if path.suffix.lower() == ".ods" else None
    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=str, engine=engine)
    except ImportError:
        raise InputFormatError(f"the {what} file is an OpenDocument spreadsheet, which needs the odfpy "
                               "package: save the sheet as CSV (or .xlsx), or pip install odfpy",
                               file=path) from None
    for frame in sheets.values():
        for i in range(min(len(frame), 20)):
            row = [str(v) for v in frame.iloc[i].tolist() if isinstance(v, str)]
            col, _ = detect_lsoa_column(row)
            if col is not None:
                out = frame.iloc[i + 1:].reset_index(drop=True)
                out.columns = [str(v).strip() if isinstance(v, str) else f"column {j + 1}"
                               for j, v in enumerate(frame.iloc[i].tolist())]
                return out.dropna(how="all")
    return next(iter(sheets.values()), pd.DataFrame()).pipe(
        lambda f: f.iloc[1:].set_axis([str(c) for c in f.iloc[0]], axis=1) if len(f) else f)


def read_csv_any(path: Path, what: str) -> pd.DataFrame:
    """A published table, every column as text: a CSV (optionally gzipped, with or without a
    byte-order mark) or a workbook; an error naming the file (``what`` says which) when it
    cannot be read."""
    try:
        if path.suffix.lower() in (".xlsx", ".xls", ".ods"):
            return _read_workbook(path, what)
        return pd.read_csv(path, dtype=str, encoding="utf-8-sig", thousands=",")
    except FileNotFoundError:
        raise InputFormatError(f"the {what} file was not found", file=path) from None
    except UnicodeDecodeError:
        raise InputFormatError(f"the {what} file is not UTF-8 text; save it as UTF-8", file=path) from None
    except pd.errors.EmptyDataError:
        raise InputFormatError(f"the {what} file is empty", file=path) from None
    except pd.errors.ParserError as exc:
        raise InputFormatError(f"the {what} file cannot be read as CSV: {exc}", file=path) from None


def to_number(s: pd.Series) -> pd.Series:
    """Text to numbers, thousands separators and spaces removed; anything else missing."""
    return pd.to_numeric(s.astype("string").str.replace(",", "", regex=False).str.strip(), errors="coerce")
