"""Numbers and tables as the report shows them.

The formatting every chapter shares, beneath :class:`sna.chapter.Chapter` and the Word
writer: thousands separators and sensible decimals (:func:`format_number`), CSVs rounded
as the page shows them (:func:`round_as_shown`), display formats per column
(:func:`format_table`) and the HTML of a table (:func:`table_html`). Every name is
re-exported by :mod:`sna.chapter`, where the notebooks import them.
"""
from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "format_number",
    "auto_decimals",
    "round_as_shown",
    "format_table",
    "header_label",
    "table_html",
    "is_missing",
]


def format_number(value: Any, decimals: int | None = None) -> str:
    """Format a number for prose and tables: thousands separators, sensible decimals.

    Integers get separators; floats get ``decimals`` places (default: 0 from 1,000, 1 from
    10, 2 from 1, 3 below). Missing values print as an empty string; strings pass through.

    >>> format_number(12345), format_number(0.37512), format_number(123.456), format_number(None)
    ('12,345', '0.375', '123.5', '')
    >>> format_number(-14.2857, 1)
    '-14.3'
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (hasattr(value, "is_integer") and type(value).__name__.startswith("int")):
        return f"{int(value):,}"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if decimals is None:
        decimals = auto_decimals(x)
    return f"{x:,.{decimals}f}"


def auto_decimals(x: float) -> int:
    """The decimals a number is shown with when no format is given: 0 from 1,000 (and for
    zero), 1 from 10, 2 from 1, 3 below.

    >>> [auto_decimals(v) for v in (16591.0, 37.0019, 0.6299, 1.6583, 0.0)]
    [0, 1, 3, 2, 0]
    """
    a = abs(float(x))
    if a == 0 or a >= 1000:
        return 0
    if a >= 10:
        return 1
    if a >= 1:
        return 2
    return 3


def _shown_decimals(fmt) -> int | None:
    """The decimals a display format shows, as a number stored (a percentage format's value
    is a share: "{:.1%}" shows 0.1234 as 12.3%, i.e. 3 decimals of the share)."""
    if isinstance(fmt, bool):
        return None
    if isinstance(fmt, int):
        return fmt
    if isinstance(fmt, str):
        m = re.search(r"\.(\d+)([f%])", fmt)
        if m:
            return int(m.group(1)) + (2 if m.group(2) == "%" else 0)
        if re.search(r"\{:,?(\.0)?%?\}", fmt) or "{:,}" in fmt or "{:d}" in fmt:
            return 2 if "%" in fmt else 0
    return None


def round_as_shown(df, formats: Mapping[str, Any] | None = None):
    """A copy of ``df`` with every decimal number rounded to the precision the report shows
    it with (:func:`format_table`), so that a CSV or a spreadsheet carries the same numbers
    as the report, not 16 digits.

    A column with a format keeps that format's decimals (a percentage format counts as
    decimals of the share); otherwise each value keeps :func:`auto_decimals` of its size.
    Whole numbers, text, and columns formatted by a function are left as they are.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"pct": [-37.001989030197095], "rr": [0.6299801096980291],
    ...                   "share": [0.12345], "n": [10452]})
    >>> round_as_shown(t, {"share": "{:.1%}"}).iloc[0].tolist()
    [-37.0, 0.63, 0.123, 10452.0]
    """
    import numpy as np
    import pandas as pd

    formats = dict(formats or {})
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if not pd.api.types.is_float_dtype(s.dtype):
            continue
        fixed = _shown_decimals(formats.get(col))
        if callable(formats.get(col)):
            continue
        if fixed is not None:
            out[col] = s.round(fixed)
            continue
        values = s.to_numpy(dtype=float)
        finite = np.isfinite(values)
        rounded = values.copy()
        for i in np.flatnonzero(finite):
            rounded[i] = round(values[i], auto_decimals(values[i]))
        out[col] = pd.Series(rounded, index=s.index, dtype=s.dtype)
    return out


def format_table(df, formats: Mapping[str, Any] | None = None):
    """A copy of ``df`` with every cell formatted as text for display (not for CSV).

    ``formats`` maps a column to a number of decimals, a format string (``"{:.1%}"``) or a
    function of the value.

    >>> import pandas as pd
    >>> format_table(pd.DataFrame({"n": [1200, 3], "rate": [1.23456, 0.5]}),
    ...              {"rate": 1}).values.tolist()
    [['1,200', '1.2'], ['3', '0.5']]
    >>> controlled = pd.DataFrame({"n": [1200, "*"], "rate": [43.0728, "*"]}, dtype=object)
    >>> format_table(controlled, {"rate": 1}).values.tolist()
    [['1,200', '43.1'], ['*', '*']]
    """
    import numpy as np
    import pandas as pd

    formats = dict(formats or {})
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        s = df[col]
        fmt = formats.get(col)
        if callable(fmt):
            out[col] = ["" if is_missing(v) else str(fmt(v)) for v in s]
        elif isinstance(fmt, str):
            out[col] = [("" if is_missing(v) else v if isinstance(v, str) else fmt.format(v)) for v in s]
        elif pd.api.types.is_bool_dtype(s.dtype):
            out[col] = [format_number(v) if not is_missing(v) else "" for v in s]
        elif pd.api.types.is_integer_dtype(s.dtype):
            out[col] = [format_number(int(v)) if not is_missing(v) else "" for v in s]
        elif pd.api.types.is_float_dtype(s.dtype):
            whole = s.dropna()
            if fmt is None and len(whole) and np.all(np.mod(whole.to_numpy(dtype=float), 1) == 0) \
                    and whole.abs().max() < 1e15:
                out[col] = [format_number(int(v)) if not is_missing(v) else "" for v in s]
            else:
                out[col] = [format_number(v, fmt) for v in s]
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            out[col] = [("" if is_missing(v) else pd.Timestamp(v).strftime("%Y-%m-%d")) for v in s]
        else:  # text, or a controlled column: numbers and "*" (sna.disclosure)
            out[col] = [_format_cell(v, fmt) for v in s]
    out.columns = [str(c) for c in df.columns]
    return out


def _format_cell(v, fmt) -> str:
    if v is None or is_missing(v):
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return format_number(v)
    if isinstance(v, int) or (isinstance(v, float) and fmt is None and float(v).is_integer()):
        return format_number(int(v))
    if isinstance(v, float):
        return format_number(v, fmt if isinstance(fmt, int) else None)
    return str(v)


#: Words of the library's column names shown in plain English in report tables.
_HEADER_WORDS = {"lowercl": "lower CI", "uppercl": "upper CI", "pvalue": "p-value",
                 "mcnemar": "McNemar", "lsoa": "LSOA", "imd": "IMD", "dsr": "DSR",
                 "msoa": "MSOA", "csp": "CSP", "ae": "A&E", "spc": "SPC", "ci": "CI"}


def header_label(name: Any) -> str:
    """A column name as a report table shows it: words split on underscores, the library's
    abbreviations spelt out (the CSV keeps the names as they are).

    >>> header_label("representation_lowercl"), header_label("t_pvalue"), header_label("lsoa")
    ('representation lower CI', 't p-value', 'LSOA')
    >>> header_label("rows_read")
    'rows read'
    """
    return " ".join(_HEADER_WORDS.get(w, w) for w in str(name).split("_") if w) or str(name)


def table_html(df, formats: Mapping[str, Any] | None = None) -> str:
    """A table as report HTML: readable headers, numbers right-aligned, text left-aligned.

    Column names are shown with spaces for underscores (so long headers wrap) and the
    library's abbreviations spelt out (:func:`header_label`); the CSV keeps the names as they
    are.

    >>> import pandas as pd
    >>> print(table_html(pd.DataFrame({"area": ["A"], "rows_read": [1200]})))
    <table class="sna-table"><thead><tr><th class="txt">area</th><th class="num">rows read</th></tr></thead><tbody><tr><td class="txt">A</td><td class="num">1,200</td></tr></tbody></table>
    """
    import pandas as pd

    shown = format_table(df, formats)
    numeric = []
    for c in df.columns:
        s = df[c]
        is_num = (pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype))
        if not is_num and s.dtype == object:  # controlled columns: numbers and "*"
            vals = [v for v in s.tolist() if v is not None and not is_missing(v)]
            is_num = bool(vals) and all(isinstance(v, (int, float)) or v == "*" for v in vals)
        numeric.append(is_num)
    head = "".join(
        f'<th class="{"num" if n else "txt"}">{html.escape(header_label(c))}</th>'
        for c, n in zip(df.columns, numeric))
    rows = []
    for r in shown.itertuples(index=False):
        cells = "".join(f'<td class="{"num" if n else "txt"}">{html.escape(str(v))}</td>'
                        for v, n in zip(r, numeric))
        rows.append(f"<tr>{cells}</tr>")
    return (f'<table class="sna-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def is_missing(v) -> bool:
    try:
        import pandas as pd

        r = pd.isna(v)
        return bool(r) if not hasattr(r, "__len__") else False
    except (TypeError, ValueError):
        return False
