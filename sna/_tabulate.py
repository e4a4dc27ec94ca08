"""The building blocks of :mod:`sna.people` and :mod:`sna.interventions`: the "Not known"
vocabulary, age bands and tidy categories, the intervals of counts and shares, and the
tabulation of records by dimensions against a population.

The public ones (:func:`age_bands`, :func:`band_labels`, :func:`clean_category`,
:func:`bame`, :data:`NOT_KNOWN`, :data:`DEFAULT_BANDS` ...) are documented and imported as
:mod:`sna.people`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import AnalysisInputError

__all__ = [
    "Bands", "PopulationLike", "NOT_KNOWN", "OTHER_AGES", "DEFAULT_BANDS",
    "normal_z", "wilson_limits", "poisson_limits", "rate_with_limits",
    "check_bands", "band_labels", "age_bands", "clean_category", "bame",
    "dimensions", "dim_name", "levels_of", "population_tables", "prepare_population",
    "find_population", "tabulate", "has_not_known",
]

#: age bands: (lowest, highest) pairs (``None`` = open-ended) or a list of lower bounds
Bands = Sequence[tuple[int, int | None]] | Sequence[int]

#: one or more population tables
PopulationLike = pd.DataFrame | Sequence[pd.DataFrame]

#: the label of a missing age, sex or ethnicity
NOT_KNOWN = "Not known"

#: the label of an age outside every band (only when the bands leave gaps)
OTHER_AGES = "Other ages"

#: VRU focus bands: (lowest age, highest age), ``None`` = open-ended
DEFAULT_BANDS: tuple[tuple[int, int | None], ...] = (
    (0, 4),
    (5, 9),
    (10, 14),
    (15, 17),
    (18, 24),
    (25, 34),
    (35, 44),
    (45, 54),
    (55, 64),
    (65, None),
)

_MISSING_WORDS = frozenset(
    {
        "",
        "unknown",
        "not known",
        "not stated",
        "not recorded",
        "prefer not to say",
        "nk",
        "n/k",
        "missing",
        "none",
        "null",
        "nan",
        "<na>",
    }
)

_Z_CACHE: dict[float, float] = {}



# --------------------------------------------------------------------------------------
# intervals (thin wrappers over sna.rates: NaN for unknown denominators / counts)
# --------------------------------------------------------------------------------------
def normal_z(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise AnalysisInputError(f"conf_level must be between 0 and 1 (got {conf_level!r})")
    if conf_level not in _Z_CACHE:
        from scipy.stats import norm

        _Z_CACHE[conf_level] = float(norm.ppf(1 - (1 - conf_level) / 2))
    return _Z_CACHE[conf_level]

def wilson_limits(x, n, conf_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score limits of x/n (NaN where n == 0), from :mod:`sna.rates`.

    [2x + z² ∓ z√(z² + 4x(1 − x/n))] / [2(n + z²)] .
    """
    from .rates import wilson_lower, wilson_upper

    normal_z(conf_level)
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    bad = ~(n > 0)
    lower = np.asarray(wilson_lower(x, n, conf_level), dtype=float)
    upper = np.asarray(wilson_upper(x, n, conf_level), dtype=float)
    return np.where(bad, np.nan, lower), np.where(bad, np.nan, upper)

def poisson_limits(o, conf_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Limits of a Poisson count: Byar for O >= 10, exact (chi-squared) below.

    As PHEindicatormethods ``phe_rate``, from :mod:`sna.rates`.
    """
    from .rates import poisson_count_limits

    normal_z(conf_level)
    o = np.asarray(o, dtype=float)
    nan = np.isnan(o)
    lower, upper, _ = poisson_count_limits(np.where(nan, 0.0, o), conf_level)
    return np.where(nan, np.nan, lower), np.where(nan, np.nan, upper)

def rate_with_limits(o, n, per: float, conf_level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crude rate and its Byar / exact limits (NaN where the denominator is 0 or unknown)."""
    o = np.asarray(o, dtype=float)
    n = np.asarray(n, dtype=float)
    lo, hi = poisson_limits(o, conf_level)
    ok = n > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(ok, o / n * per, np.nan)
        lower = np.where(ok, lo / n * per, np.nan)
        upper = np.where(ok, hi / n * per, np.nan)
    return rate, lower, upper


# --------------------------------------------------------------------------------------
# categories
# --------------------------------------------------------------------------------------
def check_bands(bands) -> tuple[tuple[int, int | None], ...]:
    """Bands as (lo, hi) pairs; a flat list of lower bounds is accepted too."""
    try:
        items = list(bands)
    except TypeError:
        raise AnalysisInputError(f"age bands must be a sequence, got {bands!r}") from None
    if not items:
        raise AnalysisInputError("age bands must not be empty")
    if all(isinstance(b, (int, np.integer)) and not isinstance(b, bool) for b in items):
        lows = [int(b) for b in items]
        if lows != sorted(set(lows)):
            raise AnalysisInputError(f"age band lower bounds must increase: {lows}")
        pairs = [(lo, nxt - 1) for lo, nxt in zip(lows, lows[1:])] + [(lows[-1], None)]
    else:
        pairs = []
        for b in items:
            try:
                lo, hi = b
            except (TypeError, ValueError):
                raise AnalysisInputError(
                    f"each age band must be a (lowest, highest) pair, got {b!r}"
                ) from None
            pairs.append((int(lo), None if hi is None else int(hi)))
    prev_hi = -1
    for i, (lo, hi) in enumerate(pairs):
        if lo < 0 or (hi is not None and hi < lo):
            raise AnalysisInputError(f"age band {(lo, hi)!r} is empty or negative")
        if lo <= prev_hi:
            raise AnalysisInputError(f"age bands overlap or are out of order at {(lo, hi)!r}")
        if hi is None and i != len(pairs) - 1:
            raise AnalysisInputError("only the last age band may be open-ended (None)")
        prev_hi = hi if hi is not None else 10**6
    return tuple(pairs)

def _band_label(lo: int, hi: int | None) -> str:
    return f"{lo}+" if hi is None else (f"{lo}" if lo == hi else f"{lo}-{hi}")

def _covers_all(pairs) -> bool:
    if pairs[0][0] != 0 or pairs[-1][1] is not None:
        return False
    return all(a[1] + 1 == b[0] for a, b in zip(pairs, pairs[1:]))

def band_labels(bands: Bands = DEFAULT_BANDS, *, not_known: bool = True) -> list[str]:
    """The ordered category labels :func:`age_bands` produces for ``bands``.

    Parameters
    ----------
    bands
        (lowest, highest) pairs (``None`` = open-ended) or a list of lower bounds.
    not_known
        Include ``"Not known"`` (and ``"Other ages"`` when the bands leave gaps).

    Returns
    -------
    list of str

    Examples
    --------
    >>> band_labels([0, 18, 25])
    ['0-17', '18-24', '25+', 'Not known']
    >>> band_labels([(5, 9), (10, 25)])
    ['5-9', '10-25', 'Other ages', 'Not known']
    """
    pairs = check_bands(bands)
    labels = [_band_label(lo, hi) for lo, hi in pairs]
    if not_known:
        if not _covers_all(pairs):
            labels.append(OTHER_AGES)
        labels.append(NOT_KNOWN)
    return labels

def age_bands(ages: pd.Series | Sequence | np.ndarray, bands: Bands = DEFAULT_BANDS
              ) -> pd.Series:
    """Age bands as an ordered categorical, missing ages as ``"Not known"``.

    Parameters
    ----------
    ages
        Ages in whole years (Series, array or list; nullable). Ages below 0 or above 120,
        and values that are not numbers, count as not known. Fractional ages are floored.
    bands
        (lowest, highest) pairs, ``None`` as the last highest for an open band, or a flat
        list of lower bounds (``[0, 18, 25]`` = 0-17, 18-24, 25+). The default is
        :data:`DEFAULT_BANDS`: 0-4, 5-9, 10-14, 15-17, 18-24, 25-34, 35-44, 45-54, 55-64, 65+.

    Returns
    -------
    pandas.Series
        Ordered categorical named ``age_band`` (index kept from a Series input). Categories
        are the band labels, then ``"Other ages"`` if the bands leave gaps, then
        ``"Not known"``; all categories are present even when unused.

    Examples
    --------
    >>> age_bands([3, 16, 24, 25, None, -1]).tolist()
    ['0-4', '15-17', '18-24', '25-34', 'Not known', 'Not known']
    >>> age_bands([4, 12, 30], bands=[(5, 9), (10, 25)]).tolist()
    ['Other ages', '10-25', 'Other ages']
    """
    pairs = check_bands(bands)
    labels = band_labels(pairs)
    index = ages.index if isinstance(ages, pd.Series) else None
    values = pd.to_numeric(pd.Series(ages, index=index, dtype=object), errors="coerce")
    a = np.floor(values.to_numpy(dtype=float, na_value=np.nan))
    valid = (a >= 0) & (a <= 120)
    out = np.full(len(a), NOT_KNOWN, dtype=object)
    out[valid] = OTHER_AGES if OTHER_AGES in labels else NOT_KNOWN
    for (lo, hi), label in zip(pairs, labels):
        hit = valid & (a >= lo) & ((a <= hi) if hi is not None else True)
        out[hit] = label
    cat = pd.Categorical(out, categories=labels, ordered=True)
    return pd.Series(cat, index=index, name="age_band")

def _tidy_labels(s: pd.Series) -> pd.Series:
    """Labels stripped; missing and 'unknown' words -> ``"Not known"``; as text."""
    text = s.map(lambda v: v.strip() if isinstance(v, str) else v)
    missing = text.isna() | text.map(lambda v: isinstance(v, str) and v.lower() in _MISSING_WORDS)
    return text.where(~missing, NOT_KNOWN).astype(str)

def clean_category(values: pd.Series | Sequence, *, order: Sequence[str] = ()) -> pd.Series:
    """Tidy a sex / ethnicity / level column: missing and 'unknown' words -> ``"Not known"``.

    Parameters
    ----------
    values
        Series (or list) of labels.
    order
        Labels to put first, in this order; other labels follow alphabetically and
        ``"Not known"`` is always last.

    Returns
    -------
    pandas.Series
        Ordered categorical (index kept). Blank, ``Unknown``, ``Not stated``,
        ``Not recorded``, ``Prefer not to say``, ``NK`` (any case) become ``"Not known"``.

    Examples
    --------
    >>> clean_category(["Male", " unknown", None, "Female"]).tolist()
    ['Male', 'Not known', 'Not known', 'Female']
    """
    index = values.index if isinstance(values, pd.Series) else None
    s = pd.Series(values, index=index, dtype=object)
    codes, uniques = pd.factorize(s)  # each distinct label tidied once, not once per record
    if all(type(u) is str for u in uniques):
        labels = np.append(_tidy_labels(pd.Series(uniques, dtype=object)).to_numpy(), NOT_KNOWN)
        text = pd.Series(labels[codes], index=s.index, dtype=object)  # missing (-1): Not known
    else:  # numbers too (1 and 1.0 are one value to factorize, two labels here)
        text = _tidy_labels(s)
    seen = set(text.unique()) - {NOT_KNOWN}
    first = [o for o in order if o in seen]
    cats = list(dict.fromkeys([*first, *sorted(seen - set(first)), NOT_KNOWN]))
    return pd.Series(pd.Categorical(text, categories=cats, ordered=True), index=index,
                     name=getattr(values, "name", None))

def bame(ethnicity: pd.Series | Sequence) -> pd.Series:
    """Collapse ethnic groups to ``White`` / ``BAME`` / ``Not known``.

    Any label starting with "White" is White; every other known label (Asian, Black, Mixed,
    Other ...) is BAME (Black, Asian and minority ethnic), as in the VRU board report.

    Parameters
    ----------
    ethnicity
        Series (or list) of ethnic group labels.

    Returns
    -------
    pandas.Series
        Ordered categorical ``["BAME", "White", "Not known"]`` named ``bame``.

    Examples
    --------
    >>> bame(["White", "Black", "White British", None, "Mixed"]).tolist()
    ['White', 'BAME', 'White', 'Not known', 'BAME']
    """
    clean = clean_category(ethnicity).astype(str)
    out = np.where(clean == NOT_KNOWN, NOT_KNOWN,
                   np.where(clean.str.lower().str.startswith("white"), "White", "BAME"))
    return pd.Series(pd.Categorical(out, categories=["BAME", "White", NOT_KNOWN], ordered=True),
                     index=clean.index, name="bame")


# --------------------------------------------------------------------------------------
# dimensions and population
# --------------------------------------------------------------------------------------
def dimensions(by) -> list[tuple[str, ...]]:
    if isinstance(by, str):
        return [(by,)]
    dims = []
    for item in by:
        if isinstance(item, str):
            dims.append((item,))
        else:
            t = tuple(item)
            if not t or not all(isinstance(v, str) for v in t):
                raise AnalysisInputError(
                    f"'by' items must be column names or tuples of them, got {item!r}")
            dims.append(t)
    if not dims:
        raise AnalysisInputError("'by' must name at least one column")
    return dims

def dim_name(dim: tuple[str, ...]) -> str:
    return "+".join(dim)

def levels_of(series: pd.Series, extra: Iterable = ()) -> list:
    """Levels of a grouping column: categories if categorical, else the observed values."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = list(series.cat.categories)
        more = [v for v in dict.fromkeys(extra) if v not in cats and pd.notna(v)]
        if more:
            cats = [c for c in cats if c != NOT_KNOWN] + sorted(map(str, more)) + (
                [NOT_KNOWN] if NOT_KNOWN in cats else [])
        return cats
    vals = [v for v in dict.fromkeys([*series.dropna().unique(), *extra]) if pd.notna(v)]
    return sorted(vals, key=str)

def population_tables(population) -> list[pd.DataFrame]:
    if population is None:
        return []
    tables = [population] if isinstance(population, pd.DataFrame) else list(population)
    for t in tables:
        if not isinstance(t, pd.DataFrame) or "population" not in t.columns:
            raise AnalysisInputError(
                "population must be a DataFrame (or a list of them) with a 'population' column",
                column="population",
            )
        pop = pd.to_numeric(t["population"], errors="coerce")
        if pop.isna().any() or (pop < 0).any():
            raise AnalysisInputError(
                "population counts must be non-negative numbers", column="population"
            )
    return tables

def prepare_population(table: pd.DataFrame, dim: tuple[str, ...], bands,
                        ages: tuple[int, int] | None = None) -> pd.DataFrame | None:
    """Population summed by the dimension's columns, or None when the table lacks one."""
    t = table
    need = set(dim)
    have = set(t.columns)
    age_ok = "age" in have or "age_band" in have
    if "age_band" in need and not age_ok:
        return None
    if "bame" in need and "bame" not in have and "ethnicity" not in have:
        return None
    if not all(c in have for c in need - {"age_band", "bame"}):
        return None
    work = pd.DataFrame(index=t.index)
    work["population"] = pd.to_numeric(t["population"]).astype(float)
    if ages is not None:
        if "age" not in have:
            return None
        a = pd.to_numeric(t["age"], errors="coerce")
        keep = (a >= ages[0]) & (a <= ages[1])
        work = work.loc[keep]
        t = t.loc[keep]
    for c in dim:
        if c == "age_band":
            if "age" in t.columns:
                work[c] = age_bands(t["age"], bands).astype(str)
            else:
                labels = band_labels(bands)
                found = set(t["age_band"].astype(str))
                unknown = sorted(found - set(labels))
                if unknown:
                    raise AnalysisInputError(
                        f"population age bands {unknown} do not match the analysis bands "
                        f"{labels[:-1]}: pass the same bands, or a population by single year "
                        "of age",
                        column="age_band",
                    )
                work[c] = t["age_band"].astype(str)
        elif c == "bame":
            src = t["bame"] if "bame" in t.columns else bame(t["ethnicity"])
            work[c] = clean_category(src).astype(str)
        else:
            work[c] = clean_category(t[c]).astype(str)
    return work.groupby(list(dim), observed=True)["population"].sum()

def find_population(tables, dim, bands, ages=None):
    for t in tables:
        pop = prepare_population(t, dim, bands, ages)
        if pop is not None:
            return pop
    return None

def tabulate(data: pd.DataFrame, dim: tuple[str, ...], pop: pd.Series | None,
              extra_levels: dict | None = None) -> pd.DataFrame:
    """Counts over the full product of the dimension's levels (zeros kept)."""
    extra_levels = extra_levels or {}
    levels = []
    for c in dim:
        extra = list(extra_levels.get(c, ()))
        if pop is not None:
            idx = pop.index
            extra += list(idx.get_level_values(c) if isinstance(idx, pd.MultiIndex) else idx)
        levels.append([str(v) for v in levels_of(data[c], extra)])
    keys = [data[c].astype(str).rename(c) for c in dim]
    counts = data.groupby(keys).size() if len(data) else pd.Series(dtype="int64")
    if len(dim) == 1:
        full = pd.Index(levels[0], name=dim[0], dtype=object)
        counts.index = pd.Index(counts.index, name=dim[0], dtype=object)
    else:
        full = pd.MultiIndex.from_product(levels, names=list(dim))
    counts = counts.reindex(full, fill_value=0)
    out = counts.rename("n").reset_index()
    for c in dim:
        out[c] = out[c].astype(object)
    if pop is not None:
        p = pop.copy()
        if len(dim) == 1:
            p.index = pd.Index(p.index, name=dim[0], dtype=object)
        out = out.merge(p.rename("population").reset_index(), on=list(dim), how="left")
    return out

def has_not_known(labels) -> np.ndarray:
    """True where a group label (or a ' / '-joined cross label) contains "Not known"."""
    return np.array([NOT_KNOWN in str(v).split(" / ") for v in labels], dtype=bool)
