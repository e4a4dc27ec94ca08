"""Helpers the modules of :mod:`sna.rates` share: input checks, labels, the limit columns.

Public names of a private module (see ``tests/test_layers.py``): each module of the package
imports what it needs from here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._validate import as_list as _as_list
from .._validate import check_columns as _check_columns
from ..errors import AnalysisInputError

#: A confidence level, or several (one pair of limit columns each).
Confidence = float | Sequence[float]


def numeric(df: pd.DataFrame, column: str, *, role: str) -> pd.Series:
    """The column as float, refusing text, missing and negative values."""
    s = df[column]
    if s.dtype == bool or not (pd.api.types.is_numeric_dtype(s) or s.dtype == object):
        raise AnalysisInputError(
            f"{role} column {column!r} must hold numbers, found dtype {s.dtype}", column=column
        )
    try:
        values = pd.to_numeric(s, errors="raise").astype("float64")
    except (TypeError, ValueError) as exc:
        raise AnalysisInputError(
            f"{role} column {column!r} must hold numbers ({exc})", column=column
        ) from None
    if values.isna().any():
        first = values.index[values.isna()][0]
        raise AnalysisInputError(
            f"{role} column {column!r} has {int(values.isna().sum())} missing value(s) "
            f"(first at index {first!r}); fill them (0 if there were no events) or drop the rows",
            column=column,
        )
    if np.isinf(values).any():
        raise AnalysisInputError(f"{role} column {column!r} has infinite values", column=column)
    if (values < 0).any():
        first = values.index[values < 0][0]
        raise AnalysisInputError(
            f"{role} column {column!r} has negative values (first at index {first!r}: "
            f"{values[first]:g}); counts and populations cannot be negative",
            column=column,
        )
    return values


def positive(values: pd.Series, column: str, *, role: str) -> None:
    if (values <= 0).any():
        first = values.index[values <= 0][0]
        raise AnalysisInputError(
            f"{role} column {column!r} has zero or negative values (first at index {first!r}); "
            "a rate needs a positive denominator: drop those rows or correct the population",
            column=column,
        )


def level_label(c: float) -> str:
    """0.95 -> '95%', 0.998 -> '99.8%' (as PHEindicatormethods)."""
    return f"{c * 100:.10g}%"


def level_suffix(c: float) -> str:
    """0.95 -> '95_0', 0.998 -> '99_8' (PHEindicatormethods' column suffix)."""
    return f"{c * 100:.1f}".replace(".", "_")


def check_multiplier(multiplier) -> float:
    try:
        m = float(multiplier)
    except (TypeError, ValueError):
        raise AnalysisInputError(f"multiplier {multiplier!r} must be a positive number") from None
    if not m > 0 or not np.isfinite(m):
        raise AnalysisInputError(f"multiplier {multiplier!r} must be a positive number")
    return m


def fmt_mult(m: float) -> str:
    return f"{m:.0f}" if float(m).is_integer() else f"{m:g}"


def aggregate(df: pd.DataFrame, by, columns: list[str]) -> pd.DataFrame:
    by = _as_list(by)
    _check_columns(df, by, what="df")
    return df.groupby(by, dropna=False, sort=True, observed=True)[columns].sum().reset_index()


def add_limits(out, lower_fn, upper_fn, levels, scale) -> None:
    """Add lowercl/uppercl (one level) or lowerXX_Xcl/upperXX_Xcl (several)."""
    if len(levels) == 1:
        out["lowercl"] = lower_fn(levels[0]) * scale
        out["uppercl"] = upper_fn(levels[0]) * scale
    else:
        for c in levels:
            suffix = level_suffix(c)
            out[f"lower{suffix}cl"] = lower_fn(c) * scale
            out[f"upper{suffix}cl"] = upper_fn(c) * scale
