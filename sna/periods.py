"""Financial years (1 April - 31 March), baselines and rolling windows.

A financial year is labelled by the calendar year it starts in: ``FinancialYear(2020)`` is
April 2020 - March 2021, written "2020/21".

Examples
--------
>>> from sna.periods import FinancialYear, fy_of
>>> fy = FinancialYear.parse("2020-21")
>>> str(fy), fy.start, fy.end
('2020/21', Timestamp('2020-04-01 00:00:00'), Timestamp('2021-03-31 00:00:00'))
>>> [str(y) for y in fy.baseline(3)]
['2017/18', '2018/19', '2019/20']
>>> fy_of("2021-03")
'2020/21'
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

from .errors import AnalysisInputError

__all__ = [
    "FinancialYear",
    "parse_fy",
    "fy_of",
    "parse_dates",
    "DATE_ORDERS",
    "check_date_format",
    "fy_start_year",
    "months_of",
    "months_by_fy",
    "baseline_years",
    "rolling_12_windows",
    "month_label",
]

_FY_PATTERNS = [
    # 2020/21, 2020-21, FY2020/21, FY 2020-21, 2020/2021, 2020-2021
    re.compile(r"^\s*(?:FY\s*)?(\d{4})\s*[/\-–]\s*(\d{2}|\d{4})\s*$", re.IGNORECASE),
    # 2020, FY2020
    re.compile(r"^\s*(?:FY\s*)?(\d{4})\s*$", re.IGNORECASE),
]


@dataclass(frozen=True, order=True)
class FinancialYear:
    """A UK financial year, April to March, named by the year it starts in."""

    start_year: int

    @classmethod
    def parse(cls, value: "str | int | FinancialYear") -> "FinancialYear":
        """Parse "2020/21", "2020-21", "FY2020/21", "2020/2021", 2020 or a FinancialYear."""
        if isinstance(value, FinancialYear):
            return value
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            year = int(value)
            if not 1900 <= year <= 2200:
                raise AnalysisInputError(f"{value!r} is not a plausible financial year")
            return cls(year)
        if isinstance(value, str):
            for pattern in _FY_PATTERNS:
                m = pattern.match(value)
                if not m:
                    continue
                year = int(m.group(1))
                if m.lastindex == 2:
                    end = m.group(2)
                    end_year = int(end) if len(end) == 4 else (year // 100) * 100 + int(end)
                    if len(end) == 2 and end_year < year:
                        end_year += 100
                    if end_year != year + 1:
                        raise AnalysisInputError(
                            f"financial year {value!r}: the second year must follow the first "
                            f"(e.g. '{year}/{(year + 1) % 100:02d}')"
                        )
                return cls(year)
        raise AnalysisInputError(
            f"cannot read {value!r} as a financial year; write it as '2020/21', '2020-21', "
            "'FY2020/21' or 2020"
        )

    def __str__(self) -> str:
        return f"{self.start_year}/{(self.start_year + 1) % 100:02d}"

    @property
    def label(self) -> str:
        """Label as "2020/21"."""
        return str(self)

    @property
    def slug(self) -> str:
        """Label safe for paths: "2020-21"."""
        return f"{self.start_year}-{(self.start_year + 1) % 100:02d}"

    @property
    def start(self) -> pd.Timestamp:
        return pd.Timestamp(self.start_year, 4, 1)

    @property
    def end(self) -> pd.Timestamp:
        """The last day, 31 March."""
        return pd.Timestamp(self.start_year + 1, 3, 31)

    @property
    def months(self) -> pd.PeriodIndex:
        """The twelve months April..March as a monthly PeriodIndex."""
        return pd.period_range(f"{self.start_year}-04", periods=12, freq="M")

    def baseline(self, k: int = 3) -> list["FinancialYear"]:
        """The ``k`` financial years before this one, oldest first."""
        if k < 1:
            raise AnalysisInputError(f"baseline length must be at least 1, got {k}")
        return [FinancialYear(self.start_year - i) for i in range(k, 0, -1)]

    def previous(self) -> "FinancialYear":
        return FinancialYear(self.start_year - 1)

    def __add__(self, n: int) -> "FinancialYear":
        return FinancialYear(self.start_year + int(n))

    def __sub__(self, n: int) -> "FinancialYear":
        return FinancialYear(self.start_year - int(n))

    def contains(self, when) -> bool:
        return fy_start_year(when) == self.start_year


def parse_fy(value) -> FinancialYear:
    """Shorthand for :meth:`FinancialYear.parse`."""
    return FinancialYear.parse(value)


#: ISO dates and months: 2020-04-01, 2020-04, 2020-04-01T10:00 (read as they are).
_ISO = re.compile(r"^\s*\d{4}-\d{1,2}(-\d{1,2})?([ T].*)?$")
#: Numeric dates with the year last: 01/04/2020, 1.4.20, 01-04-2020 (read day first, as in
#: the UK).
_DAY_FIRST = re.compile(r"^\s*\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2}(\d{2})?([ T].*)?$")


def parse_dates(s: pd.Series) -> pd.Series:
    """Date strings as timestamps, the way a UK user writes them.

    ISO forms (2020-04-01, 2020-04) are read as ISO; numeric dates with the year last
    (01/04/2020) day first; anything else ("1 April 2020", "Apr 2020") by pandas' parser.
    Unreadable values become missing.

    >>> dates = parse_dates(pd.Series(["01/04/2020", "2020-04-01", "2020-05", "5 May 2020"]))
    >>> dates.dt.strftime("%d %b %Y").tolist()
    ['01 Apr 2020', '01 Apr 2020', '01 May 2020', '05 May 2020']
    """
    if len(s) == 1 and type(v := s.iloc[0]) is str:  # one date (a month named in a call)
        return pd.Series([_parse_one(v)], index=s.index, dtype="datetime64[ns]")
    return _parse_series(s)


@functools.lru_cache(maxsize=4096)
def _parse_one(text: str):
    """One date string as :func:`parse_dates` reads it, remembered: the analysis functions
    read the same few months ("2020-04") hundreds of times, and each read of a one-row
    Series costs pandas a few milliseconds."""
    return _parse_series(pd.Series([text])).iloc[0]


def _parse_series(s: pd.Series) -> pd.Series:
    text = s.astype("string")
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    iso = text.str.match(_ISO).fillna(False).astype(bool)
    day_first = text.str.match(_DAY_FIRST).fillna(False).astype(bool) & ~iso
    other = text.notna() & ~iso & ~day_first
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "could not infer format"
        for mask, kw in ((iso, {"format": "ISO8601"}), (day_first, {"dayfirst": True}),
                         (other, {})):
            if mask.any():
                parsed = pd.to_datetime(text[mask].str.strip(), errors="coerce", **kw)
                out.loc[mask] = parsed.astype("datetime64[ns]").to_numpy()
    return out


def fy_start_year(when):
    """The start year of the financial year containing ``when``.

    Accepts a scalar (date string, Timestamp, Period) or a Series / array-like of them,
    and returns an int or an integer Series ("Int64", missing stays missing). Date strings
    are read as a UK user writes them: ISO forms ("2020-04-01", "2020-04") as ISO, numeric
    dates with the year last day first ("01/04/2020" is 1 April 2020), other forms ("1 April
    2020") as pandas reads them.

    >>> fy_start_year("01/04/2020"), fy_start_year("31/03/2020"), fy_start_year("2020-04-01")
    (2020, 2019, 2020)
    """
    if isinstance(when, (pd.Series, pd.Index, np.ndarray, list)):
        s = pd.Series(when)
        if isinstance(s.dtype, pd.PeriodDtype):
            year, month = s.dt.year, s.dt.month
        else:
            if pd.api.types.is_datetime64_any_dtype(s):
                ts = s
            elif s.dropna().map(lambda v: isinstance(v, str)).all():
                ts = parse_dates(s)
            else:
                ts = pd.to_datetime(s, errors="coerce")
            year, month = ts.dt.year, ts.dt.month
        out = year - (month < 4).astype("Int64")
        return out.astype("Int64")
    if isinstance(when, pd.Period):
        year, month = when.year, when.month
    else:
        if isinstance(when, str):
            ts = parse_dates(pd.Series([when])).iloc[0]
            if pd.isna(ts):
                raise AnalysisInputError(f"cannot read {when!r} as a date")
        else:
            ts = pd.Timestamp(when)
        year, month = ts.year, ts.month
    return year - 1 if month < 4 else year


def fy_of(when):
    """Financial-year label ("2020/21") of a date, month or Series of them.

    Date strings are read as :func:`fy_start_year` reads them (UK numeric dates day first).

    >>> fy_of("01/04/2020"), fy_of("2021-03")
    ('2020/21', '2020/21')
    """
    start = fy_start_year(when)
    if isinstance(start, pd.Series):
        labels = start.map(lambda y: None if pd.isna(y) else str(FinancialYear(int(y))))
        return labels.astype("string")
    return str(FinancialYear(int(start)))


def months_by_fy(months) -> dict[str, int]:
    """How many of the given months ("2020-04", Periods, dates) fall in each financial year.

    >>> months_by_fy(["2018-10", "2018-11", "2019-01", "2019-04"])
    {'2018/19': 3, '2019/20': 1}
    """
    labels = fy_of(pd.Series([str(pd.Period(m, "M")) for m in months], dtype="string"))
    return {str(k): int(v) for k, v in labels.value_counts(sort=False).sort_index().items()}


def months_of(years: Iterable) -> pd.PeriodIndex:
    """All months of the given financial years, in order."""
    fys = sorted(FinancialYear.parse(y) for y in years)
    if not fys:
        return pd.PeriodIndex([], freq="M")
    return pd.PeriodIndex(
        [m for fy in fys for m in fy.months], dtype=pd.PeriodDtype("M")
    )


def baseline_years(year, k: int = 3) -> list[FinancialYear]:
    """The ``k`` financial years before ``year``."""
    return FinancialYear.parse(year).baseline(k)


def rolling_12_windows(months: pd.PeriodIndex) -> list[tuple[pd.Period, pd.Period]]:
    """(first, last) month of every complete 12-month window ending in ``months``."""
    months = pd.PeriodIndex(months, freq="M").sort_values()
    return [(m - 11, m) for m in months if (m - 11) >= months.min()]


def month_label(month) -> str:
    """Chart label for a month: "Apr 2020"."""
    return pd.Period(month, freq="M").strftime("%b %Y")


#: The ``date_format`` a source may set (``sources.<name>.date_format``) besides a strptime
#: pattern: how numeric dates such as ``03/04/2020`` are read.
DATE_ORDERS = {
    "dayfirst": "day first, as in the UK (dd/mm/yyyy [hh:mm])",
    "monthfirst": "month first, as in the US (mm/dd/yyyy [hh:mm])",
    "iso": "ISO 8601 (yyyy-mm-dd [hh:mm])",
}


def check_date_format(fmt: str) -> str:
    """A source's ``date_format``, checked: one of :data:`DATE_ORDERS` or a strptime pattern
    with a day, a month and a year (``%d/%m/%Y %H:%M``).

    Examples
    --------
    >>> check_date_format("monthfirst"), check_date_format("%m/%d/%Y")
    ('monthfirst', '%m/%d/%Y')
    >>> check_date_format("mm/dd/yyyy")
    Traceback (most recent call last):
    ...
    ValueError: 'mm/dd/yyyy' is not a date format: use dayfirst, monthfirst, iso, or a strptime pattern such as '%m/%d/%Y' or '%d/%m/%Y %H:%M'
    """
    import datetime as _dt

    if fmt in DATE_ORDERS:
        return fmt
    hint = (f"{fmt!r} is not a date format: use {', '.join(DATE_ORDERS)}, or a strptime pattern "
            "such as '%m/%d/%Y' or '%d/%m/%Y %H:%M'")
    if not isinstance(fmt, str) or not all(d in fmt for d in ("%d", "%m")) or not (
            "%Y" in fmt or "%y" in fmt):
        raise ValueError(hint)
    when = _dt.datetime(2021, 6, 13, 23, 15)
    try:
        back = _dt.datetime.strptime(when.strftime(fmt), fmt)
    except ValueError:
        raise ValueError(hint) from None
    if back.date() != when.date():
        raise ValueError(hint)
    return fmt
