"""Parsing partner values: dates and times, ages, numbers, yes/no flags, sex, ethnic group,
LSOA codes and offence codes, with the unknown-value tokens (:data:`NA_TOKENS`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ...periods import DATE_ORDERS, check_date_format

__all__ = [
    "NA_TOKENS",
    "ETHNIC_GROUPS",
    "parse_flag",
    "parse_sex",
    "parse_ethnicity",
    "parse_age",
    "parse_float",
    "parse_lsoa",
    "parse_dates",
    "DATE_ORDERS",
    "AmbiguousDates",
    "check_date_format",
    "parse_times",
    "parse_code",
    "combine_date_time",
    "month_start",
]


# --------------------------------------------------------------------------------------------
# parsing values: unknown stays unknown, nothing is guessed
# --------------------------------------------------------------------------------------------
#: Values read as "unknown" in any column (compared upper-cased, spaces collapsed).
NA_TOKENS = frozenset({
    "", "NA", "N/A", "N.A.", "NULL", "NONE", "NAN", "NAT", "UNKNOWN", "NOT KNOWN", "NK", "N/K",
    "U", "UNK", "-", "--", "?", "NOT STATED", "NOT RECORDED", "NOT SPECIFIED", "REFUSED",
    "PREFER NOT TO SAY", "NOT GIVEN", "Z", "99", "X99",
})

_NA_NUMERIC = NA_TOKENS - {"99"}  # 99 is an age

STRING_DTYPE = pd.StringDtype("pyarrow")

def _is_text(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.StringDtype)

def as_text(values: pd.Series) -> pd.Series:
    """Values as text (``string`` dtype): white space collapsed and stripped, blanks missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if _is_text(values):
        s = values.astype(STRING_DTYPE)
    else:
        obj = values.astype(object)
        s = _map_unique(obj.where(values.notna()), lambda v: str(v)).astype(STRING_DTYPE)
    arr = pa.array(s.array)  # arrow-backed: RE2 in C, not Python's re
    arr = pc.utf8_trim_whitespace(pc.replace_substring_regex(arr, r"\s+", " "))
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    return pd.Series(pd.array(arr, dtype=STRING_DTYPE), index=values.index)

def is_na_token(t: pd.Series, tokens=NA_TOKENS) -> pd.Series:
    return (t.isna() | t.str.upper().isin(tokens)).fillna(True).astype(bool)

def _map_unique(values: pd.Series, fn) -> pd.Series:
    """Apply ``fn`` once per distinct value (values repeat a lot in these files)."""
    uniq = pd.unique(values.dropna().to_numpy(dtype=object))
    lut = {u: fn(u) for u in uniq}
    return values.map(lut, na_action="ignore")

_YES = {"Y", "YES", "TRUE", "T", "1", "1.0", "FLAG", "FLAGGED", "KNIFE", "DA", "DOMESTIC"}

_NO = {"N", "NO", "FALSE", "F", "0", "0.0", "NOT FLAGGED"}

def parse_flag(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Yes/no flags as nullable booleans.

    Y / Yes / True / T / 1 -> True; N / No / False / F / 0 -> False; blank and "unknown"-type
    values -> ``<NA>`` (a blank flag is not read as "no").

    Returns
    -------
    (flags, unrecognised)
        ``boolean`` Series, and a bool mask of values that were neither (also ``<NA>``).

    Examples
    --------
    >>> import pandas as pd
    >>> flags, bad = parse_flag(pd.Series(["Y", "n", None, "Unknown", "maybe", True]))
    >>> flags.tolist(), bad.tolist()
    ([True, False, <NA>, <NA>, <NA>, True], [False, False, False, False, True, False])
    """
    t = as_text(values)
    up = t.str.upper()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[up.isin(_YES)] = True
    out[up.isin(_NO)] = False
    bad = out.isna() & ~is_na_token(t)
    return out, bad.astype(bool)

_SEX = {
    "M": "Male", "MALE": "Male", "MAN": "Male", "BOY": "Male", "1": "Male",
    "F": "Female", "FEMALE": "Female", "WOMAN": "Female", "GIRL": "Female", "2": "Female",
    "O": "Other", "OTHER": "Other", "I": "Other", "INDETERMINATE": "Other",
    "NON-BINARY": "Other", "NON BINARY": "Other", "NONBINARY": "Other",
}

def parse_sex(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Sex as ``Male`` / ``Female`` / ``Other`` / ``<NA>``.

    NHS codes 1 / 2 (0, 9 and X: not known / not specified) and police M / F / U are
    recognised.

    Examples
    --------
    >>> import pandas as pd
    >>> sex, bad = parse_sex(pd.Series(["M", "female", "U", "2", "?", "robot"]))
    >>> sex.tolist(), bad.tolist()
    (['Male', 'Female', <NA>, 'Female', <NA>, <NA>], [False, False, False, False, False, True])
    """
    t = as_text(values)
    up = t.str.upper()
    out = up.map(_SEX).astype("string")
    na = is_na_token(t) | up.isin({"0", "9", "X"})
    bad = out.isna() & ~na
    return out, bad.astype(bool)

#: Ethnic groups (ONS 5+1, 2011 census grouping).
ETHNIC_GROUPS = ("White", "Mixed", "Asian", "Black", "Other")

_ETH_CODES = {
    # NHS Data Dictionary ethnic category (16+1)
    "A": "White", "B": "White", "C": "White", "D": "Mixed", "E": "Mixed", "F": "Mixed", "G": "Mixed",
    "H": "Asian", "J": "Asian", "K": "Asian", "L": "Asian", "M": "Black", "N": "Black", "P": "Black",
    "R": "Asian", "S": "Other",
    # police self-defined ethnicity (18+1)
    "W1": "White", "W2": "White", "W3": "White", "W4": "White", "W9": "White",
    "M1": "Mixed", "M2": "Mixed", "M3": "Mixed", "M9": "Mixed",
    "A1": "Asian", "A2": "Asian", "A3": "Asian", "A4": "Asian", "A9": "Asian",
    "B1": "Black", "B2": "Black", "B9": "Black", "O1": "Other", "O2": "Other", "O9": "Other",
    # police officer-observed ethnicity (IC codes)
    "IC1": "White", "IC2": "White", "IC3": "Black", "IC4": "Asian", "IC5": "Asian", "IC6": "Other",
}

_ETH_NA = {"NS", "IC0", "IC9", "99", "Z", "NOT STATED", "NOT KNOWN", "UNKNOWN", "PREFER NOT TO SAY"}

def _ethnic_group(text: str) -> str | None:
    up = text.upper().strip()
    if up in _ETH_CODES:
        return _ETH_CODES[up]
    code = re.match(r"^([A-Z]{1,2}\d{0,2})\s*[-:–)]\s*", up)
    if code and code.group(1) in _ETH_CODES:
        return _ETH_CODES[code.group(1)]
    low = up.lower()
    if "mixed" in low or "multiple" in low or re.search(r"white and (black|asian)", low):
        return "Mixed"
    if "white" in low or "gypsy" in low or "traveller" in low or "roma" in low or "irish" in low:
        return "White"
    if "black" in low or "african" in low or "caribbean" in low:
        return "Black"
    if any(w in low for w in ("asian", "indian", "pakistani", "bangladeshi", "chinese")):
        return "Asian"
    if "arab" in low or "other" in low:
        return "Other"
    return None

def parse_ethnicity(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Ethnicity as an ONS 5+1 group (``White``, ``Mixed``, ``Asian``, ``Black``, ``Other``).

    Recognises NHS 16+1 letter codes (A-S, Z not stated), police self-defined codes (W1 ...
    O9, NS), police IC codes (IC1-IC6, IC0 unknown), and text ("Black or Black British -
    African"). "Not stated" / "Not known" -> ``<NA>``. Chinese is counted in *Asian* (2011
    census grouping).

    Examples
    --------
    >>> import pandas as pd
    >>> eth, bad = parse_ethnicity(pd.Series(["A", "W1 - White British", "IC3",
    ...     "Mixed - White and Black Caribbean", "Z", "Martian"]))
    >>> eth.tolist(), bad.tolist()[-1]
    (['White', 'White', 'Black', 'Mixed', <NA>, <NA>], True)
    """
    t = as_text(values)
    up = t.str.upper()
    na = is_na_token(t) | up.isin(_ETH_NA)
    out = _map_unique(t.where(~na), _ethnic_group).astype("string")
    bad = out.isna() & ~na
    return out, bad.astype(bool)

def _number(v) -> float | None:
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return float(v)
    s = str(v).strip().replace(",", "").replace("£", "").replace(" ", "")
    try:
        return float(s)
    except ValueError:
        return None

def parse_float(values: pd.Series, *, na_tokens=_NA_NUMERIC) -> tuple[pd.Series, pd.Series]:
    """Numbers (thousands separators and £ signs allowed) as ``Float64``.

    Examples
    --------
    >>> import pandas as pd
    >>> num, bad = parse_float(pd.Series(["1,234.5", "£20", None, "abc"]))
    >>> num.tolist(), bad.tolist()
    ([1234.5, 20.0, <NA>, <NA>], [False, False, False, True])
    """
    t = as_text(values)
    na = (t.isna() | t.str.upper().isin(na_tokens)).fillna(True).astype(bool)
    if _is_text(values) or values.dtype == object and not len(values):
        import pyarrow as pa
        import pyarrow.compute as pc

        clean = pc.replace_substring_regex(pa.array(t.where(~na).array), r"[,£ ]", "")
        num = pd.to_numeric(pd.Series(pd.array(clean, dtype=STRING_DTYPE), index=t.index).astype(object),
                            errors="coerce").astype("float64")
    else:
        obj = values.astype(object).where(~na)
        num = _map_unique(obj, _number).astype("float64")
    out = pd.Series(pd.array(num.to_numpy(dtype="float64"), dtype="Float64"), index=values.index)
    out = out.mask(num.isna().to_numpy())
    bad = out.isna() & ~na
    return out, bad.astype(bool)

def parse_age(values: pd.Series, *, max_age: int = 120) -> tuple[pd.Series, pd.Series]:
    """Ages in whole years (``Int64``); impossible ages are flagged, never corrected.

    Decimal ages are floored ("23.0" -> 23, "16.5" -> 16). A value that is not a number (and
    not an "unknown" token), is negative, or is above ``max_age`` is flagged as bad: the row
    is set aside with reason ``bad_age``.

    Returns
    -------
    (ages, bad)
        ``Int64`` Series (``<NA>`` for unknown or bad) and the bad mask.

    Examples
    --------
    >>> import pandas as pd
    >>> age, bad = parse_age(pd.Series(["23", "16.5", None, "Unknown", "250", "-1", "twelve"]))
    >>> age.tolist(), bad.tolist()
    ([23, 16, <NA>, <NA>, <NA>, <NA>, <NA>], [False, False, False, False, True, True, True])
    """
    num, bad = parse_float(values)
    out_of_range = num.notna() & ((num < 0) | (num > max_age))
    bad = bad | out_of_range.fillna(False).astype(bool)
    age = np.floor(num.where(~bad)).astype("Int64")
    return age, bad.astype(bool)

_LSOA_RE = re.compile(r"^[EW]0[0-9]{7}$")

def parse_lsoa(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """LSOA codes (``E01...`` / ``W01...``), upper-cased; anything else flagged.

    Examples
    --------
    >>> import pandas as pd
    >>> lsoa, bad = parse_lsoa(pd.Series([" e01013810", "Nottingham 018A", None]))
    >>> lsoa.tolist(), bad.tolist()
    (['E01013810', <NA>, <NA>], [False, True, False])
    """
    t = as_text(values)
    up = t.str.upper().str.replace(" ", "", regex=False)
    na = is_na_token(t)
    ok = up.str.match(_LSOA_RE.pattern).fillna(False).astype(bool)
    out = up.where(ok).astype("string")
    bad = ~ok & ~na
    return out, bad.astype(bool)

# date formats tried in order: (format, precision)
_DATE_FORMATS = (
    ("%d/%m/%Y %H:%M", "minute"), ("%d/%m/%Y %H:%M:%S", "minute"),
    ("%Y-%m-%d %H:%M:%S", "minute"), ("%Y-%m-%dT%H:%M:%S", "minute"), ("%Y-%m-%d %H:%M", "minute"),
    ("%Y-%m-%dT%H:%M", "minute"), ("%d-%m-%Y %H:%M", "minute"), ("%d/%m/%y %H:%M", "minute"),
    ("%d-%b-%Y %H:%M", "minute"), ("%d %b %Y %H:%M", "minute"), ("%d.%m.%Y %H:%M", "minute"),
    ("%Y-%m-%d %H:%M:%S.%f", "minute"), ("%Y-%m-%dT%H:%M:%S.%f", "minute"),
    ("%d/%m/%Y", "day"), ("%Y-%m-%d", "day"), ("%d-%m-%Y", "day"), ("%d.%m.%Y", "day"),
    ("%d/%m/%y", "day"), ("%d-%b-%Y", "day"), ("%d %b %Y", "day"), ("%d-%b-%y", "day"),
    ("%d %B %Y", "day"), ("%Y%m%d", "day"),
    ("%Y-%m", "month"), ("%m/%Y", "month"), ("%b-%Y", "month"), ("%b %Y", "month"),
    ("%B %Y", "month"), ("%b-%y", "month"),
)

_EARLIEST = pd.Timestamp("1990-01-01")

# numeric dates whose order of day and month the value alone may not tell: 03/04/2020 14:05
_NUMERIC_DATE = (r"^(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{4}|\d{2})"
                 r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?)?$")
# an Excel serial day number written as text (1990-01-01 is 32874; 2064 is 60000)
_SERIAL_TEXT = r"^\d{5}(?:\.\d+)?$"
_SERIAL_RANGE = (32874, 60000)
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


class AmbiguousDates(ValueError):
    """A date column whose order of day and month cannot be told from its values (every value
    reads both ways), or that mixes both orders. ``kind`` is ``ambiguous`` or ``mixed``;
    ``examples`` holds values as written."""

    def __init__(self, kind: str, examples: list[str]) -> None:
        self.kind = kind
        self.examples = examples
        if kind == "mixed":
            text = (f"it mixes day-first and month-first dates ({examples[0]!r} is only a date "
                    f"day first, {examples[1]!r} only month first)")
        else:
            text = (f"every value reads both as day-first and as month-first (e.g. "
                    f"{examples[0]!r}), so the order of day and month cannot be told")
        super().__init__(text)


def _numeric_dates(text: pd.Series, order: str) -> pd.Series:
    """Numeric dates (``_NUMERIC_DATE``) read day first or month first (NaT where impossible)."""
    parts = text.str.extract(_NUMERIC_DATE)
    a, b = pd.to_numeric(parts["a"]), pd.to_numeric(parts["b"])
    y = pd.to_numeric(parts["y"])
    short = parts["y"].str.len() == 2
    y = y.where(~short, np.where(y < 69, 2000 + y, 1900 + y))  # as strptime's %y
    day, month = (a, b) if order == "dayfirst" else (b, a)
    frame = pd.DataFrame({"year": y, "month": month, "day": day,
                          "hour": pd.to_numeric(parts["H"]).fillna(0),
                          "minute": pd.to_numeric(parts["M"]).fillna(0),
                          "second": pd.to_numeric(parts["S"]).fillna(0)})
    ok = frame.notna().all(axis=1) & frame["hour"].between(0, 23) & frame["minute"].between(0, 59)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if ok.any():
        out[ok] = pd.to_datetime(frame[ok].astype("int64"), errors="coerce")
    return out


def _date_order(text: pd.Series, date_format: str | None) -> str | None:
    """The order of day and month of a column's numeric dates (distinct values): from
    ``date_format`` when set, else from the values themselves. None when there are none.

    Raises
    ------
    AmbiguousDates
        Every value reads both ways (day and month both 12 or less, and different), or some
        values are dates only day first and others only month first.
    """
    if date_format in ("dayfirst", "monthfirst"):
        return date_format
    if text.empty:
        return None
    d = _numeric_dates(text, "dayfirst")
    m = _numeric_dates(text, "monthfirst")
    d_only, m_only = d.notna() & m.isna(), m.notna() & d.isna()
    if d_only.any() and m_only.any():
        raise AmbiguousDates("mixed", [text[d_only].iloc[0], text[m_only].iloc[0]])
    if d_only.any():
        return "dayfirst"
    if m_only.any():
        return "monthfirst"
    both = d.notna() & m.notna() & (d != m)
    if both.any():
        raise AmbiguousDates("ambiguous", [text[both].iloc[0]])
    return "dayfirst"  # day and month equal everywhere (01/01/2020): both orders agree


def parse_dates(values: pd.Series, *, date_format: str | None = None
                ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Dates (and times) as written in partner files, read by column, with the precision
    actually known.

    The order of day and month of numeric dates (``03/04/2020``) is decided for the whole
    column from all its values, never value by value: day first when some value is a date
    only day first (``13/06/2020``), month first when some value is one only month first
    (``06/13/2020``). A column whose every value reads both ways, or that mixes both orders,
    raises :class:`AmbiguousDates` unless ``date_format`` says which (``dayfirst``,
    ``monthfirst``, ``iso``, or a strptime pattern). ISO (``2020-06-13``,
    ``2020-06-13T23:15:00``), month names (``13 Jun 2020``) and month-only values
    (``2020-06``, ``Jun 2020``) are read as such. Excel cells holding a date are datetimes: a
    cell at exactly midnight is read as a date without a time (precision ``day``); a written
    ``00:00`` in text is a real time. Excel serial day numbers (a number, or a number as text,
    e.g. ``43995``) are converted.

    Returns
    -------
    (dates, precision, bad)
        ``datetime64[ns]`` (NaT where missing or bad; month-only values on the 1st), precision
        ``minute`` / ``day`` / ``month`` (``<NA>`` where no date), and the mask of values that
        are not dates or are implausible (before 1990 or in the future). ``dates.attrs``
        holds ``date_order`` (``dayfirst`` / ``monthfirst`` / None) and ``serials`` (how many
        Excel serial numbers were converted, with an example).

    Examples
    --------
    >>> import pandas as pd
    >>> d, p, bad = parse_dates(pd.Series(["13/06/2020 23:15", "2020-06-13", "Jun 2020",
    ...                                    None, "31/02/2020", "01/01/1900"]))
    >>> [str(x) for x in d], p.tolist(), bad.tolist()
    (['2020-06-13 23:15:00', '2020-06-13 00:00:00', '2020-06-01 00:00:00', 'NaT', 'NaT', 'NaT'], ['minute', 'day', 'month', <NA>, <NA>, <NA>], [False, False, False, False, True, True])
    >>> d, p, bad = parse_dates(pd.Series(["06/13/2020", "04/03/2020", "43995"]))
    >>> [str(x.date()) for x in d], d.attrs["date_order"], d.attrs["serials"][0]
    (['2020-06-13', '2020-04-03', '2020-06-13'], 'monthfirst', 1)
    >>> parse_dates(pd.Series(["04/03/2020", "05/03/2020"]))
    Traceback (most recent call last):
    ...
    sna.io.partner.values.AmbiguousDates: every value reads both as day-first and as month-first (e.g. '04/03/2020'), so the order of day and month cannot be told
    """
    import datetime as _dt

    if date_format is not None:
        check_date_format(date_format)
    obj = values if _is_text(values) else values.astype(object).where(values.notna(), None)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    prec = pd.Series(pd.NA, index=values.index, dtype="string")
    serial_n, serial_eg = 0, None
    if _is_text(values):
        is_dt = pd.Series(False, index=values.index)
        is_num = pd.Series(False, index=values.index)
    else:
        is_dt = obj.map(lambda v: isinstance(v, (_dt.datetime, _dt.date, pd.Timestamp)), na_action="ignore")
        is_dt = is_dt.fillna(False).astype(bool)
        is_num = obj.map(lambda v: isinstance(v, (int, float, np.integer, np.floating))
                         and not isinstance(v, (bool, np.bool_)), na_action="ignore")
        is_num = is_num.fillna(False).astype(bool)
    if is_dt.any():
        ts = pd.to_datetime(obj[is_dt].map(pd.Timestamp), errors="coerce")
        out[is_dt] = ts
        midnight = (ts == ts.dt.normalize())
        prec[is_dt] = np.where(midnight, "day", "minute")
    t = as_text(obj.where(~is_dt & ~is_num) if (is_dt.any() or is_num.any()) else obj)
    na = is_na_token(t)
    # Excel serial day numbers: number cells, and numbers as text in the serial range
    serial = pd.Series(np.nan, index=values.index)
    if is_num.any():
        serial[is_num] = obj[is_num].astype(float)
    as_serial = t.str.match(_SERIAL_TEXT).fillna(False).astype(bool) & ~na
    if as_serial.any():
        serial[as_serial] = pd.to_numeric(t[as_serial]).astype(float)
    in_range = serial.between(*_SERIAL_RANGE)
    if in_range.any():
        days = serial[in_range]
        out[in_range] = (_EXCEL_EPOCH + pd.to_timedelta((days * 86400).round(), unit="s")).astype("datetime64[ns]")
        prec[in_range] = np.where(days == np.floor(days), "day", "minute")
        serial_n = int(in_range.sum())
        first = in_range[in_range].index[0]
        serial_eg = (str(values[first]), str(out[first]))
    na = na & ~is_num
    todo = t.where(~na & ~as_serial).dropna().astype(object)
    order = None
    if len(todo):
        uniq = pd.Series(pd.unique(todo.to_numpy(dtype=object)))
        got = pd.Series(pd.NaT, index=uniq.index, dtype="datetime64[ns]")
        gp = pd.Series(pd.NA, index=uniq.index, dtype="string")
        remaining = uniq
        if date_format is not None and date_format not in DATE_ORDERS:  # a strptime pattern
            parsed = pd.to_datetime(remaining, format=date_format, errors="coerce")
            hit = parsed.notna()
            got[hit] = parsed[hit]
            gp[hit] = "minute" if any(c in date_format for c in ("%H", "%M")) else "day"
            remaining = remaining[~hit]
        numeric = remaining.str.match(_NUMERIC_DATE).fillna(False).astype(bool)
        if numeric.any() and date_format != "iso":
            nums = remaining[numeric]
            order = _date_order(nums, date_format if date_format in DATE_ORDERS else None)
            parsed = _numeric_dates(nums, order)
            hit = parsed.notna()
            got[hit[hit].index] = parsed[hit]
            gp[hit[hit].index] = np.where(nums[hit].str.contains(":"), "minute", "day")
            remaining = remaining[~numeric]  # (the impossible ones are bad dates)
        for fmt, p in _DATE_FORMATS:
            if remaining.empty:
                break
            if fmt.startswith(("%d/%m", "%d-%m", "%d.%m")):  # numeric: decided above, by column
                continue
            parsed = pd.to_datetime(remaining, format=fmt, errors="coerce")
            hit = parsed.notna()
            if hit.any():
                got[hit[hit].index] = parsed[hit]
                gp[hit[hit].index] = p
                remaining = remaining[~hit]
        if not remaining.empty:  # ISO 8601 with time zones etc.
            iso = remaining[remaining.str.match(r"^\d{4}-\d{2}-\d{2}[T ]")]
            if not iso.empty:
                parsed = pd.to_datetime(iso, format="ISO8601", errors="coerce", utc=True)
                parsed = parsed.dt.tz_convert("Europe/London").dt.tz_localize(None)
                hit = parsed.notna()
                got[hit[hit].index] = parsed[hit]
                gp[hit[hit].index] = "minute"
        lut_d = dict(zip(uniq, got))
        lut_p = dict(zip(uniq, gp))
        out[todo.index] = pd.to_datetime(todo.map(lut_d)).astype("datetime64[ns]")
        prec[todo.index] = todo.map(lut_p).astype("string")
    now = pd.Timestamp.now().normalize() + pd.Timedelta(days=1)
    implausible = out.notna() & ((out < _EARLIEST) | (out > now))
    bad = (out.isna() & ~na & ~(is_dt & out.notna())) | implausible
    bad = (bad & obj.notna()).fillna(False)
    out[implausible] = pd.NaT
    prec[out.isna()] = pd.NA
    out.attrs = {"date_order": order, "serials": (serial_n, serial_eg)}
    return out, prec, bad.astype(bool)

def parse_times(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Times of day (``23:15``, ``23:15:00``, ``2315``, Excel times) as Timedeltas.

    Returns
    -------
    (times, bad)
        ``timedelta64[ns]`` since midnight (NaT where missing or bad) and the bad mask.

    Examples
    --------
    >>> import pandas as pd
    >>> t, bad = parse_times(pd.Series(["23:15", "0745", "7:05:30", None, "25:61"]))
    >>> [str(x) for x in t], bad.tolist()
    (['0 days 23:15:00', '0 days 07:45:00', '0 days 07:05:30', 'NaT', 'NaT'], [False, False, False, False, True])
    """
    import datetime as _dt

    def one(v):
        if isinstance(v, _dt.datetime):
            v = v.time()
        if isinstance(v, _dt.time):
            return pd.Timedelta(hours=v.hour, minutes=v.minute, seconds=v.second)
        if isinstance(v, (float, np.floating)) and 0 <= v < 1:  # Excel fraction of a day
            return pd.Timedelta(seconds=round(float(v) * 86400))
        s = str(v).strip()
        m = re.match(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$", s) or re.match(r"^(\d{2})(\d{2})$", s)
        if not m:
            return None
        h, mi = int(m.group(1)), int(m.group(2))
        sec = int(m.group(3)) if m.lastindex and m.lastindex >= 3 and m.group(3) else 0
        if h > 23 or mi > 59 or sec > 59:
            return None
        return pd.Timedelta(hours=h, minutes=mi, seconds=sec)

    t = as_text(values)
    na = is_na_token(t).fillna(True).astype(bool)
    obj = (t if _is_text(values) else values.astype(object)).where(~na)
    got = _map_unique(obj.astype(object), one)
    out = pd.Series(pd.NaT, index=values.index, dtype="timedelta64[ns]")
    hit = got.notna()
    if hit.any():
        out[hit] = pd.to_timedelta(got[hit])
    bad = out.isna() & ~na
    return out, bad.astype(bool)

def parse_code(values: pd.Series) -> pd.Series:
    """Codes as upper-case text without spaces (``" 8n "`` -> ``"8N"``).

    Examples
    --------
    >>> import pandas as pd
    >>> parse_code(pd.Series([" 8n ", "105 A", None, "unknown"])).tolist()
    ['8N', '105A', <NA>, <NA>]
    """
    t = as_text(values)
    na = is_na_token(t, NA_TOKENS - {"99", "Z", "U"})
    return t.str.upper().str.replace(" ", "", regex=False).where(~na).astype("string")

def combine_date_time(
    date: pd.Series, precision: pd.Series, time: "pd.Series | None" = None
) -> tuple[pd.Series, pd.Series]:
    """Add a separate time column to a date column, upgrading the precision to ``minute``.

    A time is used only where the date is known to the day (a date that already carries a
    time keeps it); a missing time leaves the precision as it was.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.Series(pd.to_datetime(["2020-06-13", "2020-06-14", "2020-06-01"]))
    >>> p = pd.Series(["day", "day", "month"], dtype="string")
    >>> t = pd.Series(pd.to_timedelta(["23:15:00", None, "10:00:00"]))
    >>> out, prec = combine_date_time(d, p, t)
    >>> [str(x) for x in out], prec.tolist()
    (['2020-06-13 23:15:00', '2020-06-14 00:00:00', '2020-06-01 00:00:00'], ['minute', 'day', 'month'])
    """
    out = date.copy()
    prec = precision.astype("string").copy()
    if time is None:
        return out, prec
    use = (prec == "day").fillna(False) & time.notna()
    out[use] = date[use].dt.normalize() + time[use]
    prec[use] = "minute"
    return out, prec

def month_start(dates: pd.Series) -> pd.Series:
    """First day of the month of each date (``datetime64[ns]``).

    Examples
    --------
    >>> import pandas as pd
    >>> [str(d) for d in month_start(pd.Series(pd.to_datetime(["2020-06-13 23:15", None])))]
    ['2020-06-01 00:00:00', 'NaT']
    """
    return dates.dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]")
