"""Checks of the inputs of the analysis functions, shared by :mod:`sna.rates`,
:mod:`sna.spc`, :mod:`sna.trend` and :mod:`sna.plot`: one vocabulary of clear
:class:`~sna.errors.AnalysisInputError` messages that name the column and say what to do.

>>> import pandas as pd
>>> try:
...     check_columns(pd.DataFrame({"n": [1]}), "pop", what="df")
... except AnalysisInputError as exc:
...     print(exc.column)
pop
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .errors import AnalysisInputError
from .periods import parse_dates

__all__ = ["check_frame", "check_columns", "as_list", "confidences", "timestamps"]


def check_frame(df, what: str = "df") -> None:
    """Refuse anything but a pandas DataFrame."""
    if not isinstance(df, pd.DataFrame):
        raise AnalysisInputError(
            f"{what} must be a pandas DataFrame, got {type(df).__name__}"
        )


def check_columns(df: pd.DataFrame, columns, *, what: str = "df") -> None:
    """Refuse a frame without one of ``columns`` (a name or a list; None is skipped)."""
    cols = [c for c in as_list(columns) if c is not None]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise AnalysisInputError(
            f"{what} has no column {missing[0]!r} (columns are: "
            f"{', '.join(map(str, df.columns))}); pass the name of the column that holds it",
            column=str(missing[0]),
        )


def as_list(value) -> list:
    """``value`` as a list: None -> [], a name -> [name], a list, tuple or Index -> its items."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, pd.Index)):
        return [value]
    return list(value)


def confidences(confidence: float | Sequence[float]) -> list[float]:
    """Confidence levels (one or a list, each in [0.5, 1), none repeated) as floats."""
    levels = [confidence] if np.isscalar(confidence) else list(confidence)
    if not levels:
        raise AnalysisInputError("confidence must be a level such as 0.95 or a list of levels")
    out = []
    for c in levels:
        try:
            c = float(c)
        except (TypeError, ValueError):
            raise AnalysisInputError(
                f"confidence {c!r} is not a number; use 0.95, 0.998 or [0.95, 0.998]"
            ) from None
        if not 0.5 <= c < 1:
            raise AnalysisInputError(
                f"confidence {c!r} must be between 0.5 and 1 (e.g. 0.95 or 0.998); "
                "percentages such as 95 are not accepted"
            )
        out.append(c)
    if len(set(out)) != len(out):
        raise AnalysisInputError(f"confidence levels repeat: {levels!r}")
    return out


def _may_hold_text(dtype) -> bool:
    """Whether a column of this dtype can hold strings: not a datetime, timedelta, number or
    boolean column (asking each value of a datetime column would box every one of them as a
    Timestamp: a third of a second for the demo's 300,000 incidents)."""
    return not (pd.api.types.is_datetime64_any_dtype(dtype)
                or pd.api.types.is_timedelta64_dtype(dtype)
                or pd.api.types.is_numeric_dtype(dtype)
                or pd.api.types.is_bool_dtype(dtype))


def timestamps(s: pd.Series, column: str) -> pd.Series:
    """A date column (dates, month labels or monthly Periods) as timestamps; refuses
    unreadable and missing dates. Strings are read as a UK user writes them
    (:func:`sna.periods.parse_dates`: ISO as ISO, 01/04/2020 as 1 April 2020)."""
    if isinstance(s.dtype, pd.PeriodDtype):
        return s.dt.to_timestamp()
    if len(s) and _may_hold_text(s.dtype) and s.dropna().map(lambda v: isinstance(v, str)).all():
        t = parse_dates(s)
        bad = t.isna() & s.notna()
        if bad.any():
            raise AnalysisInputError(
                f"date column {column!r} cannot be read as dates (first: {s[bad].iloc[0]!r}); "
                "use dates, months ('2020-04') or a monthly Period column", column=column)
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "could not infer format"
                t = pd.to_datetime(s, errors="raise")
        except (TypeError, ValueError) as exc:
            raise AnalysisInputError(
                f"date column {column!r} cannot be read as dates ({exc}); use dates, months "
                "('2020-04') or a monthly Period column",
                column=column,
            ) from None
    if t.isna().any():
        raise AnalysisInputError(
            f"date column {column!r} has {int(t.isna().sum())} missing value(s); drop those rows",
            column=column,
        )
    return t
