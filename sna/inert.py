"""Inert output cells: text that a spreadsheet would run as a formula is neutralised.

A CSV or Excel cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return) is read by Excel, LibreOffice and Google Sheets as a formula: partner text such as
``=HYPERLINK("http://...")`` or ``+SUM(1,2)`` in a table would become a live link or a
calculation in the analyst's spreadsheet ("CSV injection"). Following OWASP's guidance
(*CSV Injection*), every text cell that starts with one of those characters gets a leading
apostrophe in CSV files, and is written as a text cell with Excel's quote prefix in
``tables.xlsx`` (:func:`sna.report.xlsx.write_cell`). Numbers stay numbers: ``-20.5`` (a
number or text that is wholly a number) is left alone.

Every CSV that ``sna`` writes goes through :func:`write_csv`.

Markdown prose is made inert for HTML the same way (:func:`markdown_text`): the chapters fill
names from the config and the data into their sentences (the area, a district, a programme),
so every Markdown paragraph a chapter shows has its ``&`` and ``<`` escaped before it is
rendered, and no tag in a value (``<img src=x onerror=...>``) reaches the report's HTML.

Examples
--------
>>> inert_text('=HYPERLINK("http://example.invalid")')
'\\'=HYPERLINK("http://example.invalid")'
>>> inert_text("+SUM(1,2)"), inert_text("-20.5"), inert_text("Knife crime")
("'+SUM(1,2)", '-20.5', 'Knife crime')
"""

from __future__ import annotations

import os
import re
from typing import Any

__all__ = ["FORMULA_STARTS", "is_formula_like", "inert_text", "inert_frame", "write_csv",
           "uninert_text", "markdown_text"]

#: The first characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_NUMBER = re.compile(r"[-+]?((\d{1,3}(,\d{3})+|\d+)(\.\d*)?|\.\d+)([eE][-+]?\d+)?%?")


def is_formula_like(value: Any) -> bool:
    """Whether ``value`` is text a spreadsheet would read as a formula.

    Text that is wholly a number (``-20.5``, ``+3``, ``-1e-3``, ``-5%``) is not: it is read
    as that number.

    Examples
    --------
    >>> [is_formula_like(v) for v in ["=1+1", "@SUM(A1)", "\\tx", "-20.5", "-2+3", -4, "a=b"]]
    [True, True, True, False, True, False, False]
    """
    if not isinstance(value, str) or not value or not value.startswith(FORMULA_STARTS):
        return False
    return _NUMBER.fullmatch(value.strip()) is None


def inert_text(value: Any) -> Any:
    """``value`` with a leading apostrophe if it is formula-like text; anything else unchanged."""
    return "'" + value if is_formula_like(value) else value


def uninert_text(value: Any) -> Any:
    """Undo :func:`inert_text` (for a workbook written from CSVs, where the cell is made text
    instead)."""
    if isinstance(value, str) and value.startswith("'") and is_formula_like(value[1:]):
        return value[1:]
    return value


def inert_frame(df):
    """A copy of ``df`` with formula-like text neutralised in every text column, the index
    and the column names; numeric columns are untouched.

    Examples
    --------
    >>> import pandas as pd
    >>> t = inert_frame(pd.DataFrame({"call": ["=cmd|' /C calc'!A0", "Assault"], "n": [-3, 4]}))
    >>> t["call"].tolist(), t["n"].tolist()
    (["'=cmd|' /C calc'!A0", 'Assault'], [-3, 4])
    >>> inert_frame(pd.DataFrame({"d": pd.Series(["@x", None], dtype="string[pyarrow]")}))["d"].tolist()
    ["'@x", <NA>]
    """
    import pandas as pd

    out = df.copy()
    for i, col in enumerate(out.columns):
        s = out.iloc[:, i]
        if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
            continue
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        test = s.astype(object) if isinstance(s.dtype, pd.StringDtype) else s  # (Arrow text holds no booleans)
        if test.map(is_formula_like, na_action="ignore").fillna(False).astype(bool).any():
            out.isetitem(i, s.map(inert_text, na_action="ignore"))
    out.columns = _inert_index(out.columns)
    out.index = _inert_index(out.index)
    return out


def _inert_index(index):
    import pandas as pd

    if isinstance(index, pd.MultiIndex):
        return index.set_levels([_inert_index(lvl) for lvl in index.levels])
    if pd.api.types.is_numeric_dtype(index.dtype) or not any(is_formula_like(v) for v in index):
        return index
    return index.map(inert_text)


def write_csv(df, path: "str | os.PathLike[str]", **kwargs) -> None:
    """``df.to_csv(path, **kwargs)`` with formula-like text cells neutralised (:func:`inert_frame`).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> write_csv(pd.DataFrame({"v": ["+SUM(1,2)", "ok"], "n": [-20.5, 1.0]}), p, index=False)
    >>> print(p.read_text())
    v,n
    "'+SUM(1,2)",-20.5
    ok,1.0
    <BLANKLINE>
    """
    inert_frame(df).to_csv(path, **kwargs)


_CODE_SPAN = re.compile(r"(`+)(?:.+?)(?<!`)\1(?!`)", re.S)


def markdown_text(text: str) -> str:
    """Markdown whose ``&`` and ``<`` are written as entities and whose ``[`` is escaped,
    outside code spans: no HTML tag and no link in it (from a config or data value filled
    into a sentence, e.g. ``[x](javascript:...)``) is rendered as HTML or a link.

    Emphasis, lists, headings and ``> quotes`` still work; chapter prose carries no links
    (the report's links are its contents list and the table and figure labels). Code spans
    are left as they are (their content is always shown as text).

    Examples
    --------
    >>> markdown_text("Covers **<img src=x onerror=alert(1)>**; A&E in `a < b`")
    'Covers **&lt;img src=x onerror=alert(1)>**; A&amp;E in `a < b`'
    >>> print(markdown_text("[a link](javascript:alert(1))"))
    \\[a link](javascript:alert(1))
    """
    def esc(s: str) -> str:
        return s.replace("&", "&amp;").replace("<", "&lt;").replace("[", "\\[")

    out, pos = [], 0
    for m in _CODE_SPAN.finditer(text):
        out.append(esc(text[pos:m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)
