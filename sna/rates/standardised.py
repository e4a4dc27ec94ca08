"""Directly standardised rates (Dobson's method), the European Standard Population 2013 built in.

- :func:`dsr` -- directly standardised rate with Dobson's interval, as PHEindicatormethods
  ``calculate_dsr``;
- :data:`ESP2013` and :func:`esp2013_band` -- the standard population and the band of an age.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from .._log import record
from .._validate import as_list as _as_list
from .._validate import check_columns as _check_columns
from .._validate import check_frame as _check_frame
from .._validate import confidences as _confidences
from ..errors import AnalysisInputError
from ._common import Confidence
from ._common import add_limits as _add_limits
from ._common import check_multiplier as _check_multiplier
from ._common import fmt_mult as _fmt_mult
from ._common import level_label as _level_label
from ._common import numeric as _numeric
from .intervals import poisson_count_limits

__all__ = ["ESP2013", "esp2013_band", "dsr", "DSR_MIN_COUNT", "EMPTY_BANDS"]

#: European Standard Population 2013: 19 age bands, 0-4 ... 85-89 and 90+ (sum 100,000).
ESP2013: pd.Series = pd.Series(
    [5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500, 5000,
     4000, 2500, 1500, 1000],
    index=pd.Index([f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"], name="age_band"),
    name="esp2013",
    dtype="int64",
)


#: Events below which a directly standardised rate is not shown.
DSR_MIN_COUNT = 10


def esp2013_band(age) -> pd.Series:
    """The ESP2013 band ("0-4" ... "85-89", "90+") of single years of age.

    Missing or negative ages give a missing band.

    >>> esp2013_band([0, 4, 5, 89, 90, 104]).tolist()
    ['0-4', '0-4', '5-9', '85-89', '90+', '90+']
    """
    a = pd.to_numeric(pd.Series(age), errors="coerce")
    lower = (np.floor(a.clip(upper=90) / 5) * 5).where(a >= 0)
    labels = {float(lo): lab for lo, lab in zip(range(0, 95, 5), ESP2013.index)}
    labels[90.0] = "90+"
    out = lower.map(labels)
    return pd.Series(pd.Categorical(out, categories=list(ESP2013.index), ordered=True),
                     index=pd.Series(age).index, name="age_band")


def _standard_weights(standard, age_values) -> pd.Series:
    if standard is None:
        return ESP2013.astype(float)
    if isinstance(standard, pd.Series):
        w = standard.astype(float)
    elif isinstance(standard, dict):
        w = pd.Series(standard, dtype=float)
    else:
        try:
            values = np.asarray(standard, dtype=float)
        except (TypeError, ValueError):
            raise AnalysisInputError(
                "standard must be None (ESP2013), a Series or dict of band -> weight, a "
                "sequence of weights or the name of a weight column"
            ) from None
        w = pd.Series(values)
        if len(w) == len(ESP2013):  # weights in ESP2013 band order
            w.index = ESP2013.index
        elif age_values is not None:
            raise AnalysisInputError(
                f"standard has {len(w)} unlabelled weights but age= names a band column; "
                "give the standard as a Series indexed by the band labels"
            )
    if w.isna().any() or (w < 0).any() or w.sum() <= 0:
        raise AnalysisInputError(
            "standard population weights must be non-negative numbers with a positive total"
        )
    return w


def _band_labels(work, age, weights, standard, by_cols, numerator, denominator, notes):
    """Each row's band label (single years of age are summed into ESP2013 bands first)."""
    band = work[age]
    labels = weights.index.astype(str)
    band_str = band.astype("string")
    if not band_str.isin(labels).all() and pd.api.types.is_numeric_dtype(band):
        if standard is not None and not weights.index.equals(ESP2013.index):
            raise AnalysisInputError(
                f"column {age!r} holds ages but the standard has bands "
                f"{list(labels)[:3]}...; pass band labels matching the standard",
                column=age,
            )
        if band.isna().any() or (band < 0).any():
            raise AnalysisInputError(f"column {age!r} has missing or negative ages", column=age)
        work["_band"] = esp2013_band(band).astype(str)
        notes["ages_banded"] = "single years of age summed into ESP2013 bands"
        work = work.groupby([*by_cols, "_band"], dropna=False, observed=True)[
            [numerator, denominator]].sum().reset_index()
        band_str = work["_band"]
    unknown = sorted(set(band_str.dropna()) - set(labels))
    if unknown or band_str.isna().any():
        raise AnalysisInputError(
            f"column {age!r} has band(s) not in the standard population: "
            f"{unknown[:5] or ['<missing>']}; the standard's bands are {', '.join(labels)}",
            column=age,
        )
    work["_key"] = band_str.astype(str).to_numpy()
    return work


def _dsr_weights(work, df, *, age, by_cols, standard, std_col, numerator, denominator, notes):
    """``work`` with ``_w``, each row's standard-population weight."""
    if std_col is not None:
        work["_w"] = _numeric(df, std_col, role="standard population")
        return work
    weights = _standard_weights(standard, age)
    groups = (lambda w: w.groupby(by_cols, dropna=False, observed=True) if by_cols
              else [(None, w)])
    if age is not None:
        work = _band_labels(work, age, weights, standard, by_cols, numerator, denominator, notes)
        labels = weights.index.astype(str)
        w_map = pd.Series(weights.to_numpy(), index=labels)
        # every unit must have every band (missing bands make the rate wrong silently)
        for key, g in groups(work):
            if g["_key"].duplicated().any():
                dup = g["_key"][g["_key"].duplicated()].iloc[0]
                raise AnalysisInputError(
                    f"band {dup!r} appears twice for unit {key!r}; give one row per band "
                    "(or single years of age)", column=age)
            missing = sorted(set(labels[w_map.to_numpy() > 0]) - set(g["_key"]))
            if missing:
                raise AnalysisInputError(
                    f"unit {key!r} has no row for band(s) {missing[:5]}; add them with "
                    "their population (0 events if none)", column=age)
        work["_w"] = work["_key"].map(w_map).to_numpy()
        return work
    k = len(weights)
    sizes = (work.groupby(by_cols, dropna=False, observed=True).size() if by_cols
             else pd.Series([len(work)]))
    if (sizes != k).any():
        raise AnalysisInputError(
            f"each unit needs exactly {k} rows, one per band of the standard in order "
            f"(found {sorted(set(sizes.tolist()))}); or pass age= naming the band column")
    pos = (work.groupby(by_cols, dropna=False, observed=True).cumcount() if by_cols
           else pd.Series(range(len(work)), index=work.index))
    work["_w"] = weights.to_numpy()[pos.to_numpy()]
    return work


#: What :func:`dsr` does with a unit that has an age band with no population.
EMPTY_BANDS = ("no value", "renormalise")


def _dsr_sums(work, *, numerator, denominator, by_cols, empty_bands, age):
    """Per unit: counts, population, weighted rate and variance sums, and empty bands."""
    o_i, n_i, w_i = work[numerator], work[denominator], work["_w"]
    bad = (o_i > 0) & (n_i <= 0)
    if bad.any():
        raise AnalysisInputError(
            f"{int(bad.sum())} band(s) have events but zero population in {denominator!r}; "
            "correct the population or the age of those events", column=denominator)
    empty = ((n_i <= 0) & (w_i > 0)).to_numpy()
    safe_n = n_i.where(~empty, 1.0)
    work = work.assign(
        _num=np.where(empty, 0.0, o_i / safe_n * w_i),
        _var=np.where(empty, 0.0, o_i * w_i**2 / safe_n**2),
        _w=np.where(empty & (empty_bands == "renormalise"), 0.0, w_i),
        _empty=empty,
        _label=(work["_key"] if "_key" in work else work.index.astype(str)).where(empty, ""))
    agg = {"total_count": (numerator, "sum"), "total_pop": (denominator, "sum"),
           "_num": ("_num", "sum"), "_var": ("_var", "sum"), "_w": ("_w", "sum"),
           "_empty": ("_empty", "sum"),
           "_bands": ("_label", lambda s: ", ".join(v for v in s if v))}
    if by_cols:
        return work.groupby(by_cols, dropna=False, observed=True, sort=True).agg(
            **agg).reset_index()
    return pd.DataFrame({k: [work[c].agg(f)] for k, (c, f) in agg.items()})


def dsr(
    df: pd.DataFrame,
    numerator: str,
    denominator: str,
    *,
    age: str | None = None,
    by: str | Sequence[str] | None = None,
    standard: pd.Series | Sequence[float] | dict | str | None = None,
    confidence: Confidence = 0.95,
    multiplier: float = 100_000,
    empty_bands: Literal["no value", "renormalise"] = "no value",
) -> pd.DataFrame:
    """Directly standardised rate with Dobson's confidence interval.

    Parameters
    ----------
    df
        One row per age band (per group): events and population. Not modified.
    numerator, denominator
        Columns with the events and the population of each band.
    age
        Column naming each row's band. Its values are either labels of the ``standard``
        (for the default ESP2013: "0-4" ... "85-89", "90+") or single years of age, which are
        first summed into ESP2013 bands (see :func:`esp2013_band`). Without ``age`` each
        group's rows must be in the order of the standard and as many.
    by
        Column(s) identifying the units (areas, years); one output row per unit.
    standard
        The standard population: None for :data:`ESP2013`; a Series indexed by band label;
        a dict band -> weight; a sequence of weights in band order; or the name of a column
        of ``df`` holding each row's weight.
    confidence
        0.95 (default), 0.998 or a list of levels (see :func:`crude_rate`).
    multiplier
        Rate per this many people (default 100,000).
    empty_bands
        A unit with an age band of the standard that has no population: "no value"
        (default, as PHEindicatormethods, which requires every denominator to be above
        zero) gives it no rate and says why in ``note``; "renormalise" leaves the band out
        and standardises to the remaining bands' weights (stated in ``note``).

    Returns
    -------
    pandas.DataFrame
        One row per unit: the ``by`` columns, ``total_count``, ``total_pop``, ``value``,
        ``lowercl``, ``uppercl``, ``confidence``, ``statistic`` ("dsr per 100000"),
        ``method`` ("Dobson") and ``note``. When fewer than 10 events, or (by default) an
        age band has no population, the value and limits are NaN and ``note`` says why.

    Raises
    ------
    AnalysisInputError
        Missing columns, negative counts or populations, events in a band with no
        population, a band label not in the standard, or a unit whose bands do not match
        the standard.

    Notes
    -----
    Dobson et al. (1991), *Statistics in Medicine* 10:457-462:
    ``DSR = Σ(Oᵢ/nᵢ·wᵢ)/Σwᵢ × m``, ``var = Σ(Oᵢ·wᵢ²/nᵢ²)/(Σwᵢ)²``, limits
    ``DSR + √(var/O)·(O_L − O)`` and ``DSR + √(var/O)·(O_U − O)`` with ``O = ΣOᵢ`` and
    Byar's ``O_L``, ``O_U`` (exact below 10 events, never shown there), as
    PHEindicatormethods ``calculate_dsr``. A band with no population has no rate: counting
    it as a zero rate with its full weight would pull the DSR down, so (as PHE) the unit
    gets no value, or with ``empty_bands="renormalise"`` the band's weight is dropped and
    the remaining weights renormalised. A band with events but no population is an error.

    Examples
    --------
    >>> import pandas as pd
    >>> from sna.rates import ESP2013, dsr
    >>> df = pd.DataFrame({"band": ESP2013.index, "n": [3] * 19, "pop": [5000] * 19})
    >>> dsr(df, "n", "pop", age="band")[["total_count", "value", "lowercl", "uppercl"]].round(1)
       total_count  value  lowercl  uppercl
    0           57   60.0     44.7     78.7
    """
    _check_frame(df)
    by_cols = _as_list(by)
    std_col = standard if isinstance(standard, str) else None
    _check_columns(df, [numerator, denominator, age, *by_cols, std_col])
    levels = _confidences(confidence)
    m = _check_multiplier(multiplier)
    if empty_bands not in EMPTY_BANDS:
        raise AnalysisInputError(
            f"empty_bands must be 'no value' or 'renormalise', got {empty_bands!r}")
    cols = [c for c in dict.fromkeys([*by_cols, age, numerator, denominator, std_col]) if c]
    work = df[cols].copy()
    work[numerator] = _numeric(df, numerator, role="numerator")
    work[denominator] = _numeric(df, denominator, role="denominator")
    notes: dict[str, object] = {}
    work = _dsr_weights(work, df, age=age, by_cols=by_cols, standard=standard,
                        std_col=std_col, numerator=numerator, denominator=denominator,
                        notes=notes)
    out = _dsr_sums(work, numerator=numerator, denominator=denominator, by_cols=by_cols,
                    empty_bands=empty_bands, age=age)
    if out["_empty"].sum():
        notes["empty_bands"] = int(out["_empty"].sum())
    shown = _dsr_values(out, levels, m, empty_bands)
    out = out.drop(columns=["_num", "_var", "_w", "_empty", "_bands"])
    if pd.api.types.is_float_dtype(out["total_count"]) and (out["total_count"] % 1 == 0).all():
        out["total_count"] = out["total_count"].astype("int64")
    out["confidence"] = ", ".join(_level_label(c) for c in levels)
    out["statistic"] = f"dsr per {_fmt_mult(m)}"
    out["method"] = "Dobson"
    out.attrs = {}
    record(out, "dsr", {
        "numerator": numerator, "denominator": denominator, "age": age,
        "by": by_cols or None,
        "standard": std_col or ("ESP2013" if standard is None else "user-supplied"),
        "confidence": levels, "multiplier": m, "min_events": DSR_MIN_COUNT,
        "method": "Dobson et al. 1991 with Byar's limits (exact below 10 events)",
        "empty_bands_rule": empty_bands,
        "suppressed_units": int((~shown).sum()), **notes})
    return out


def _dsr_values(out: pd.DataFrame, levels, m: float, empty_bands: str) -> np.ndarray:
    """Add ``value``, the limits and ``note``; return which units are shown."""
    O = out["total_count"].to_numpy(dtype=float)
    W = out["_w"].to_numpy(dtype=float)
    has_empty = out["_empty"].to_numpy() > 0
    blocked = has_empty & (empty_bands == "no value")
    shown = (O >= DSR_MIN_COUNT) & ~blocked & (W > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = out["_num"].to_numpy() / W
        f = np.sqrt(out["_var"].to_numpy() / W**2 / O)
    out["value"] = np.where(shown, value * m, np.nan)

    def lower(c):
        return np.where(shown, value + f * (poisson_count_limits(O, c)[0] - O), np.nan)

    def upper(c):
        return np.where(shown, value + f * (poisson_count_limits(O, c)[1] - O), np.nan)

    _add_limits(out, lower, upper, levels, m)
    bands = out["_bands"].to_numpy()
    note = np.where(O >= DSR_MIN_COUNT, "", f"not shown: fewer than {DSR_MIN_COUNT} events")
    note = np.where(blocked, [f"not calculated: no population in band(s) {b}" for b in bands],
                    note)
    renorm = has_empty & (empty_bands == "renormalise") & shown
    note = np.where(renorm, [f"standardised without band(s) {b} (no population); weights "
                             "renormalised" for b in bands], note)
    out["note"] = note
    return shown
