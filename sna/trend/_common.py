"""Helpers the modules of :mod:`sna.trend` share: months, counts, financial years, labels.

Public names of a private module (see ``tests/test_layers.py``): each module of the package
imports what it needs from here.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import AnalysisInputError
from ..periods import FinancialYear, fy_start_year, parse_dates
from .._validate import as_list as _as_list
from .._validate import check_columns as _check_columns
from .._validate import check_frame as _check_frame
from .._validate import timestamps as _timestamps


def months(data: pd.DataFrame, date: str) -> pd.Series:
    """The first of the month of each row, as datetime64."""
    return _timestamps(data[date], date).dt.to_period("M").dt.to_timestamp()


def counts(data: pd.DataFrame, count: str | None) -> pd.Series:
    """Each row's count: the ``count`` column when present, else 1 (one row per event)."""
    if count is not None and count in data.columns:
        s = data[count]
        if not pd.api.types.is_numeric_dtype(s) or s.dtype == bool:
            raise AnalysisInputError(
                f"count column {count!r} must hold numbers, found dtype {s.dtype}", column=count
            )
        s = s.astype("float64")
        if s.isna().any():
            raise AnalysisInputError(
                f"count column {count!r} has {int(s.isna().sum())} missing value(s); use 0 for "
                "no events or drop the rows",
                column=count,
            )
        if (s < 0).any():
            first = s.index[s < 0][0]
            raise AnalysisInputError(
                f"count column {count!r} has negative counts (first at index {first!r}); "
                "counts of events cannot be negative",
                column=count,
            )
        return s
    return pd.Series(1.0, index=data.index)


def fy_years(data: pd.DataFrame, fy: str, date: str) -> pd.Series:
    """Financial-year start year of each row, from the ``fy`` label or the ``date`` column."""
    if fy in data.columns:
        labels = data[fy]
        if labels.isna().any():
            raise AnalysisInputError(
                f"column {fy!r} has {int(labels.isna().sum())} missing financial year(s)",
                column=fy,
            )
        parsed = {v: FinancialYear.parse(v).start_year for v in pd.unique(labels)}
        return labels.map(parsed).astype("int64")
    if date in data.columns:
        years = fy_start_year(months(data, date))
        return years.astype("int64").set_axis(data.index)
    raise AnalysisInputError(
        f"data needs a financial-year column {fy!r} or a date column {date!r} (columns are: "
        f"{', '.join(map(str, data.columns))}); pass fy= or date= naming yours"
    )


def label(key, by_cols) -> str:
    if not by_cols:
        return "all"
    return " / ".join(map(str, key if isinstance(key, tuple) else (key,)))


def population_by_year(population, years: list[int], by_cols: list[str], groups: pd.DataFrame):
    """Resolve ``population`` to a frame: group columns, ``_fy``, ``_pop``."""
    if isinstance(population, pd.DataFrame):
        _check_columns(population, ["fy", "population"], what="population")
        pop = population.copy()
        pop["_fy"] = pop["fy"].map(lambda v: FinancialYear.parse(v).start_year)
        keys = [c for c in by_cols if c in pop.columns]
        pop = pop.groupby([*keys, "_fy"], dropna=False, observed=True)["population"].sum()
        pop = pop.rename("_pop").reset_index()
    elif isinstance(population, (Mapping, pd.Series)):
        items = population.items()
        pop = pd.DataFrame(
            [(FinancialYear.parse(k).start_year, float(v)) for k, v in items],
            columns=["_fy", "_pop"],
        )
        keys = []
    elif np.isscalar(population) and not isinstance(population, (str, bool)):
        pop = pd.DataFrame({"_fy": years, "_pop": float(population)})
        keys = []
    else:
        raise AnalysisInputError(
            "population must be a number, a mapping of financial year -> population, or a "
            "DataFrame with columns 'fy' and 'population' (and optionally the by= columns)"
        )
    grid = groups.merge(pd.DataFrame({"_fy": years}), how="cross")
    out = grid.merge(pop, on=[*keys, "_fy"], how="left")
    if out["_pop"].isna().any():
        miss = out[out["_pop"].isna()].iloc[0]
        where = ", ".join(f"{k}={miss[k]!r}" for k in keys)
        raise AnalysisInputError(
            f"population is missing for {FinancialYear(int(miss['_fy']))}"
            + (f" ({where})" if where else "")
            + "; give a population for every year compared"
        )
    if (out["_pop"] <= 0).any():
        raise AnalysisInputError("population must be positive for every year compared")
    return out[[*keys, "_fy", "_pop"]].drop_duplicates(), keys


def month_starts(values, what: str) -> pd.DatetimeIndex:
    """Months ("2020-04", Periods, dates) as first-of-month timestamps."""
    try:
        if isinstance(values, (str, pd.Period, pd.Timestamp)):
            values = [values]
        out = []
        for v in values:
            if isinstance(v, str):
                v = parse_dates(pd.Series([v])).iloc[0]
                if pd.isna(v):
                    raise ValueError("not a date")
            p = v.asfreq("M") if isinstance(v, pd.Period) else pd.Timestamp(v).to_period("M")
            out.append(p.to_timestamp())
        return pd.DatetimeIndex(out)
    except (TypeError, ValueError) as exc:
        raise AnalysisInputError(f"{what}: cannot read the months ({exc}); give months as "
                                 "'2020-04', monthly Periods or dates") from None


def regular(g: pd.DataFrame, label: str) -> None:
    m = g["_m"]
    if m.duplicated().any():
        raise AnalysisInputError(
            f"series {label!r} has more than one row for {m[m.duplicated()].iloc[0]:%Y-%m}; "
            "aggregate first (sna.trend.monthly) or pass by= to separate the series"
        )


def monthly_values(data: pd.DataFrame, value: str, date: str, by) -> tuple[list[str], pd.Series]:
    """The ``by`` columns and the ``value`` column of a monthly table, checked (numbers)."""
    _check_frame(data, "data")
    by_cols = _as_list(by)
    _check_columns(data, [value, date, *by_cols], what="data")
    x = data[value]
    if not pd.api.types.is_numeric_dtype(x):
        raise AnalysisInputError(f"value column {value!r} must hold numbers", column=value)
    return by_cols, x
