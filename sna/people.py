"""People: victims, offenders and patients by age, sex and ethnicity, against the population.

The questions of a needs assessment's *people* chapter: who is harmed, who offends, who is
treated; how each group's rate compares with a reference group (disproportionality); how
many people come back (repeat victims and offenders); and the under-25 focus of the VRU
success measures.

Every function takes the canonical incidents table (see :mod:`sna.schemas`) and, where a
rate is wanted, a population table, and returns a new tidy DataFrame. Missing age, sex or
ethnicity is never dropped: it becomes the category ``"Not known"``, so reported counts
always add up to the rows analysed.

Roles select the columns of a person:

- ``victim``: police rows (not health, not data.police.uk); columns ``age``, ``sex``,
  ``ethnicity``; id ``person_id``.
- ``offender``: the same rows as ``victim``; columns ``offender_age``, ``offender_sex`` and
  ``offender_ethnicity`` (not a canonical column: where a source does not carry it, offender
  ethnicity is "Not known" for every row, and the result says so in ``attrs["sna"]``); id
  ``offender_id``.
- ``patient``: health rows (ambulance, ecds); columns ``age``, ``sex``, ``ethnicity``; id
  ``person_id``.

Rows are chosen by ``source_format`` when the table has that column (data.police.uk rows
carry no person attributes by design and are left out, with their count recorded); a table
without ``source_format`` is used whole.

Examples
--------
>>> import pandas as pd
>>> from sna.people import profile
>>> inc = pd.DataFrame({"age": [15, 17, 22, None], "sex": ["Male", "Male", "Female", None]})
>>> p = profile(inc, by=["sex"])
>>> p[["group", "n", "share"]]
       group  n  share
0     Female  1   0.25
1       Male  2   0.50
2  Not known  1   0.25
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from ._log import logger, record
from .errors import AnalysisInputError

#: age bands: (lowest, highest) pairs (``None`` = open-ended) or a list of lower bounds
Bands = Sequence[tuple[int, int | None]] | Sequence[int]
#: one or more population tables
PopulationLike = pd.DataFrame | Sequence[pd.DataFrame]

__all__ = [
    "Bands",
    "PopulationLike",
    "NOT_KNOWN",
    "OTHER_AGES",
    "DEFAULT_BANDS",
    "AGE_BANDS_SNA",
    "HEALTH_FORMATS",
    "ROLES",
    "age_bands",
    "band_labels",
    "clean_category",
    "bame",
    "person_table",
    "profile",
    "under_25",
    "rate_ratios",
    "representation",
    "disproportionality",
    "repeats",
    "repeat_distribution",
]

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
#: the coarse bands of a typical SNA people chapter: under 18, 18-24, 25+
AGE_BANDS_SNA: tuple[tuple[int, int | None], ...] = ((0, 17), (18, 24), (25, None))

#: source formats of health data (patients, not victims)
HEALTH_FORMATS = frozenset({"ambulance", "ecds"})
#: source formats that carry no person attributes at all
NO_PERSON_FORMATS = frozenset({"police_uk"})

#: role -> columns of the incidents table
ROLES: dict[str, dict[str, str]] = {
    "victim": {"age": "age", "sex": "sex", "ethnicity": "ethnicity", "id": "person_id"},
    "offender": {
        "age": "offender_age",
        "sex": "offender_sex",
        "ethnicity": "offender_ethnicity",
        "id": "offender_id",
    },
    "patient": {"age": "age", "sex": "sex", "ethnicity": "ethnicity", "id": "person_id"},
}

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
_SEX_ORDER = ("Female", "Male", "Other")
_LEVEL_ORDER = ("universal", "secondary", "tertiary")
_Z_CACHE: dict[float, float] = {}


# --------------------------------------------------------------------------------------
# intervals (thin wrappers over sna.rates: NaN for unknown denominators / counts)
# --------------------------------------------------------------------------------------
def _z(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise AnalysisInputError(f"conf_level must be between 0 and 1 (got {conf_level!r})")
    if conf_level not in _Z_CACHE:
        from scipy.stats import norm

        _Z_CACHE[conf_level] = float(norm.ppf(1 - (1 - conf_level) / 2))
    return _Z_CACHE[conf_level]


def _wilson(x, n, conf_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score limits of x/n (NaN where n == 0), from :mod:`sna.rates`.

    [2x + z² ∓ z√(z² + 4x(1 − x/n))] / [2(n + z²)] .
    """
    from .rates import wilson_lower, wilson_upper

    _z(conf_level)
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    bad = ~(n > 0)
    lower = np.asarray(wilson_lower(x, n, conf_level), dtype=float)
    upper = np.asarray(wilson_upper(x, n, conf_level), dtype=float)
    return np.where(bad, np.nan, lower), np.where(bad, np.nan, upper)


def _poisson_limits(o, conf_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Limits of a Poisson count: Byar for O >= 10, exact (chi-squared) below.

    As PHEindicatormethods ``phe_rate``, from :mod:`sna.rates`.
    """
    from .rates import poisson_count_limits

    _z(conf_level)
    o = np.asarray(o, dtype=float)
    nan = np.isnan(o)
    lower, upper, _ = poisson_count_limits(np.where(nan, 0.0, o), conf_level)
    return np.where(nan, np.nan, lower), np.where(nan, np.nan, upper)


def _rate(o, n, per: float, conf_level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crude rate and its Byar / exact limits (NaN where the denominator is 0 or unknown)."""
    o = np.asarray(o, dtype=float)
    n = np.asarray(n, dtype=float)
    lo, hi = _poisson_limits(o, conf_level)
    ok = n > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(ok, o / n * per, np.nan)
        lower = np.where(ok, lo / n * per, np.nan)
        upper = np.where(ok, hi / n * per, np.nan)
    return rate, lower, upper


# --------------------------------------------------------------------------------------
# categories
# --------------------------------------------------------------------------------------
def _check_bands(bands) -> tuple[tuple[int, int | None], ...]:
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
    pairs = _check_bands(bands)
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
    pairs = _check_bands(bands)
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
    text = s.map(lambda v: v.strip() if isinstance(v, str) else v)
    missing = text.isna() | text.map(lambda v: isinstance(v, str) and v.lower() in _MISSING_WORDS)
    text = text.where(~missing, NOT_KNOWN).astype(str)
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
# person tables
# --------------------------------------------------------------------------------------
def _check_role(role: str) -> dict[str, str]:
    if role not in ROLES:
        raise AnalysisInputError(f"role must be one of {sorted(ROLES)} (got {role!r})")
    return ROLES[role]


def _select_rows(incidents: pd.DataFrame, role: str) -> tuple[pd.DataFrame, dict]:
    """Rows of the role (by source_format), and a note of what was left out."""
    note: dict = {"rows_in": int(len(incidents))}
    if "source_format" not in incidents.columns or len(incidents) == 0:
        note["rows_used"] = int(len(incidents))
        return incidents, note
    fmt = incidents["source_format"].astype("string").str.lower()
    if role == "patient":
        keep = fmt.isin(HEALTH_FORMATS).fillna(False)
    else:
        keep = (~fmt.isin(HEALTH_FORMATS | NO_PERSON_FORMATS)).fillna(True)
    left_out = fmt[~keep].value_counts(dropna=False)
    note["rows_used"] = int(keep.sum())
    note["rows_left_out"] = {str(k): int(v) for k, v in left_out.items()}
    if int(keep.sum()) == 0:
        present = sorted(str(v) for v in fmt.dropna().unique())
        hint = (
            "data.police.uk rows carry no victim or offender attributes: a people analysis "
            "needs a force extract or health data"
            if set(present) <= NO_PERSON_FORMATS
            else "use role='patient' for health sources and 'victim'/'offender' for police "
            "extracts"
        )
        raise AnalysisInputError(
            f"no rows for role {role!r}: the incidents hold only source formats {present}; "
            f"{hint}",
            column="source_format",
        )
    return incidents.loc[keep.to_numpy()], note


def person_table(incidents: pd.DataFrame, *, role: str = "victim",
                 bands: Bands = DEFAULT_BANDS) -> pd.DataFrame:
    """One row per analysed record with the role's person attributes under common names.

    Parameters
    ----------
    incidents
        Canonical incidents table (only the role's columns are needed).
    role
        ``"victim"``, ``"offender"`` or ``"patient"`` (see the module notes).
    bands
        Age bands for the ``age_band`` column.

    Returns
    -------
    pandas.DataFrame
        Index kept from the selected rows; columns ``age`` (float, NaN unknown),
        ``age_band``, ``sex``, ``ethnicity``, ``bame`` (ordered categoricals with
        ``"Not known"``), ``id`` (string, <NA> unknown), plus ``lsoa``, ``district``,
        ``partnership``, ``fy`` when the incidents have them. ``attrs["sna"]["rows"]`` says
        how many rows were used and left out; ``attrs["sna"]["missing_columns"]`` lists
        role columns the table lacks (treated as all not known).

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"offender_age": [19, None], "offender_sex": ["Male", None]})
    >>> person_table(inc, role="offender")[["age_band", "sex", "ethnicity"]]
        age_band        sex  ethnicity
    0      18-24       Male  Not known
    1  Not known  Not known  Not known
    """
    cols = _check_role(role)
    if not isinstance(incidents, pd.DataFrame):
        raise AnalysisInputError("incidents must be a pandas DataFrame")
    rows, note = _select_rows(incidents, role)
    missing = [cols[k] for k in ("age", "sex", "ethnicity") if cols[k] not in rows.columns]
    idx = rows.index

    def col(name):
        if name in rows.columns:
            return rows[name]
        return pd.Series(pd.NA, index=idx, dtype=object)

    age = pd.to_numeric(col(cols["age"]).astype(object), errors="coerce").astype(float)
    out = pd.DataFrame(index=idx)
    out["age"] = age.where((age >= 0) & (age <= 120))
    out["age_band"] = age_bands(age, bands)
    out["sex"] = clean_category(col(cols["sex"]), order=_SEX_ORDER)
    out["ethnicity"] = clean_category(col(cols["ethnicity"]))
    out["bame"] = bame(out["ethnicity"])
    out["id"] = (col(cols["id"]).astype("string") if cols["id"] in rows.columns
                 else pd.Series(pd.NA, index=idx, dtype="string"))
    for extra in ("lsoa", "district", "partnership", "fy"):
        if extra in rows.columns:
            out[extra] = rows[extra]
    implausible = int((age.notna() & out["age"].isna()).sum())
    record(out, "rows", note)
    if missing:
        record(out, "missing_columns", missing)
    if implausible:
        record(out, "implausible_ages", implausible)
    return out


# --------------------------------------------------------------------------------------
# dimensions and population
# --------------------------------------------------------------------------------------
def _dimensions(by) -> list[tuple[str, ...]]:
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


def _dim_name(dim: tuple[str, ...]) -> str:
    return "+".join(dim)


def _levels(series: pd.Series, extra: Iterable = ()) -> list:
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


def _population_tables(population) -> list[pd.DataFrame]:
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


def _prepare_population(table: pd.DataFrame, dim: tuple[str, ...], bands,
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


def _find_population(tables, dim, bands, ages=None):
    for t in tables:
        pop = _prepare_population(t, dim, bands, ages)
        if pop is not None:
            return pop
    return None


def _tabulate(data: pd.DataFrame, dim: tuple[str, ...], pop: pd.Series | None,
              extra_levels: dict | None = None) -> pd.DataFrame:
    """Counts over the full product of the dimension's levels (zeros kept)."""
    extra_levels = extra_levels or {}
    levels = []
    for c in dim:
        extra = list(extra_levels.get(c, ()))
        if pop is not None:
            idx = pop.index
            extra += list(idx.get_level_values(c) if isinstance(idx, pd.MultiIndex) else idx)
        levels.append([str(v) for v in _levels(data[c], extra)])
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


def _has_not_known(labels) -> np.ndarray:
    """True where a group label (or a ' / '-joined cross label) contains "Not known"."""
    return np.array([NOT_KNOWN in str(v).split(" / ") for v in labels], dtype=bool)


def _add_columns(data: pd.DataFrame, source: pd.DataFrame, dims) -> pd.DataFrame:
    """Grouping columns beyond age/sex/ethnicity, tidied ("Not known" for missing)."""
    for dim in dims:
        for c in dim:
            if c in ("age_band", "sex", "ethnicity", "bame"):
                continue
            if c in data.columns:
                data[c] = clean_category(data[c])
            elif c in source.columns:
                data[c] = clean_category(source.loc[data.index, c])
            else:
                raise AnalysisInputError(
                    f"cannot break down by {c!r}: the table has no such column "
                    "(use age_band, sex, ethnicity, bame or a column of the table)",
                    column=c,
                )
    return data


def _label(row: pd.Series, dim: tuple[str, ...]) -> str:
    return " / ".join(str(row[c]) for c in dim)


# --------------------------------------------------------------------------------------
# profile
# --------------------------------------------------------------------------------------
def profile(
    incidents: pd.DataFrame,
    *,
    role: Literal["victim", "offender", "patient"] = "victim",
    by: str | Sequence[str | Sequence[str]] = ("age_band", "sex", "ethnicity"),
    population: PopulationLike | None = None,
    per: float = 1_000,
    bands: Bands = DEFAULT_BANDS,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Victims, offenders or patients by age band, sex and ethnicity, with shares and rates.

    Parameters
    ----------
    incidents
        Canonical incidents table. Not modified.
    role
        ``"victim"``, ``"offender"`` or ``"patient"``: which rows and columns describe the
        person (see the module notes).
    by
        A list of dimensions: each string item is a one-way breakdown, each tuple item a
        cross-tabulation (``by=[("age_band", "sex")]`` for a pyramid; note that
        ``by=("age_band", "sex")`` is two one-way breakdowns). Columns: ``age_band``, ``sex``,
        ``ethnicity``, ``bame`` (White / BAME), or any column of the incidents table
        (``partnership``, ``district``, ``fy`` ...).
    population
        Denominators: a DataFrame with a ``population`` column and any of ``age`` (single
        year, e.g. the long ``lsoa, age, population`` table) or ``age_band`` (already
        banded with the same ``bands``), ``sex``, ``ethnicity``, ``district``,
        ``partnership``; or a list of such tables (for each dimension the first table that
        has all its columns is used). It must cover the same area as the incidents.
    per
        Rates per this many people (default 1,000).
    bands
        Age bands (see :func:`age_bands`).
    conf_level
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per group of each dimension (all levels, zero counts kept, ``"Not known"``
        always present), with columns:

        ``dimension``  the dimension (``"age_band"`` or ``"age_band+sex"``);
        ``group``  the group's label (values joined by ``" / "``);
        one column per variable used in ``by`` (empty where not part of the dimension);
        ``n``  records; within each dimension they add up to the rows analysed;
        ``share``, ``share_lowercl``, ``share_uppercl``  n / all rows analysed (Wilson);
        ``population``, ``rate``, ``rate_lowercl``, ``rate_uppercl``  rate per ``per``
        (Byar, exact below 10 events); NaN for ``"Not known"`` and where no population
        table covers the dimension (the reason is in ``attrs["sna"]["rates"]``).

        ``attrs["sna"]`` also holds ``rows`` (used / left out by source format),
        ``role``, ``bands`` and ``under_25`` (see :func:`under_25`).

    Notes
    -----
    Shares use every analysed row as the denominator, including ``"Not known"``; a share
    among known values is ``n / (total - n_not_known)``. Rates are crude rates with Byar's
    interval as PHEindicatormethods ``phe_rate``: for O >= 10,
    O_L = O(1 - 1/(9O) - z/(3√O))³, O_U = (O+1)(1 - 1/(9(O+1)) + z/(3√(O+1)))³; below 10 the
    exact Poisson limits χ²(α/2; 2O)/2 and χ²(1-α/2; 2O+2)/2. Wilson E.B. (1927) for shares.

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"age": [16, 16, 20, None], "sex": ["Male", "Male", "Female", "Male"]})
    >>> pop = pd.DataFrame({"age": [16, 20, 30], "population": [1000, 2000, 5000]})
    >>> p = profile(inc, by="age_band", population=pop)
    >>> p.loc[p.n > 0, ["group", "n", "population", "rate"]]
            group  n  population  rate
    3       15-17  2      1000.0   2.0
    4       18-24  1      2000.0   0.5
    10  Not known  1         NaN   NaN
    >>> int(p["n"].sum())
    4
    """
    incidents = incidents.reset_index(drop=True)  # a new frame: the caller's is not touched
    data = person_table(incidents, role=role, bands=bands)
    dims = _dimensions(by)
    data = _add_columns(data, incidents, dims)
    tables = _population_tables(population)
    total = len(data)
    all_vars = list(dict.fromkeys(c for dim in dims for c in dim))
    parts = []
    rate_notes: dict[str, str] = {}
    for dim in dims:
        pop = _find_population(tables, dim, bands) if tables else None
        if tables and pop is None:
            rate_notes[_dim_name(dim)] = (
                f"no population table has all of {list(dim)}: rates not computed"
            )
        elif pop is not None:
            rate_notes[_dim_name(dim)] = "rates per population"
        t = _tabulate(data, dim, pop)
        t.insert(0, "dimension", _dim_name(dim))
        t.insert(1, "group", t.apply(_label, axis=1, dim=dim) if len(t) else [])
        parts.append(t)
    out = pd.concat(parts, ignore_index=True)
    for c in all_vars:
        if c not in out.columns:
            out[c] = pd.NA
    if "population" not in out.columns:
        out["population"] = np.nan
    out["population"] = out["population"].astype(float)
    out["n"] = out["n"].astype("int64")
    out = out[["dimension", "group", *all_vars, "n", "population"]]
    out["share"] = out["n"] / total if total else np.nan
    out["share_lowercl"], out["share_uppercl"] = _wilson(out["n"], np.full(len(out), total),
                                                         conf_level)
    out.loc[_has_not_known(out["group"]), "population"] = np.nan
    out["rate"], out["rate_lowercl"], out["rate_uppercl"] = _rate(
        out["n"], out["population"], per, conf_level
    )
    out = out[["dimension", "group", *all_vars, "n", "share", "share_lowercl", "share_uppercl",
               "population", "rate", "rate_lowercl", "rate_uppercl"]]
    for key, value in data.attrs.get("sna", {}).items():
        record(out, key, value)
    record(out, "role", role)
    record(out, "bands", band_labels(bands, not_known=False))
    record(out, "per", per)
    record(out, "conf_level", conf_level)
    if rate_notes:
        record(out, "rates", rate_notes)
    u = under_25(data, population=tables or None, per=per, conf_level=conf_level,
                 _prepared=True)
    record(out, "under_25", u.to_dict("records")[0])
    return out


def under_25(
    incidents: pd.DataFrame,
    *,
    role: Literal["victim", "offender", "patient"] = "victim",
    population: PopulationLike | None = None,
    per: float = 1_000,
    age_limit: int = 25,
    conf_level: float = 0.95,
    _prepared: bool = False,
) -> pd.DataFrame:
    """The under-25 share and rate (the VRU success measures' focus).

    Parameters
    ----------
    incidents
        Canonical incidents table. Not modified.
    role
        ``"victim"``, ``"offender"`` or ``"patient"``.
    population
        Population with an ``age`` column (single year; the ages below ``age_limit`` are
        summed) or an ``age_band`` column whose bands end at ``age_limit - 1`` (e.g. the
        default bands); or a list of tables. Optional.
    per
        Rate per this many people.
    age_limit
        "Under" this age: 25 counts ages 0-24.
    conf_level
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row: ``n`` (records with age < limit), ``n_known_age``, ``n_total``,
        ``share``, ``share_lowercl``, ``share_uppercl`` (of all records, Wilson),
        ``share_known``, ``share_known_lowercl``, ``share_known_uppercl`` (of records with a
        known age), ``population``, ``rate``, ``rate_lowercl``, ``rate_uppercl`` (Byar; NaN
        without a usable population).

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"age": [16, 19, 30, None]})
    >>> u = under_25(inc, population=pd.DataFrame({"age": [10, 40], "population": [400, 600]}))
    >>> u[["n", "n_known_age", "n_total", "share", "share_known", "population", "rate"]]
       n  n_known_age  n_total  share  share_known  population  rate
    0  2            3        4    0.5     0.666667       400.0   5.0
    """
    data = incidents if _prepared else person_table(incidents, role=role)
    age = data["age"]
    n = int((age < age_limit).sum())
    known = int(age.notna().sum())
    total = int(len(data))
    row: dict = {"n": n, "n_known_age": known, "n_total": total}
    lo, hi = _wilson([n], [total], conf_level)
    row.update(share=n / total if total else np.nan, share_lowercl=lo[0], share_uppercl=hi[0])
    lo, hi = _wilson([n], [known], conf_level)
    row.update(share_known=n / known if known else np.nan, share_known_lowercl=lo[0],
               share_known_uppercl=hi[0])
    popn = np.nan
    for t in _population_tables(population):
        if "age" in t.columns:
            a = pd.to_numeric(t["age"], errors="coerce")
            popn = float(pd.to_numeric(t["population"])[a < age_limit].sum())
            break
        if "age_band" in t.columns:
            lows = t["age_band"].astype(str).str.extract(r"^(\d+)")[0].astype(float)
            highs = t["age_band"].astype(str).str.extract(r"-(\d+)$")[0].astype(float)
            below = highs < age_limit
            crossing = (lows < age_limit) & ~below
            if crossing.any():
                continue  # bands do not align at the limit
            popn = float(pd.to_numeric(t["population"])[below].sum())
            break
    r, rl, ru = _rate([n], [popn], per, conf_level)
    row.update(population=popn, rate=r[0], rate_lowercl=rl[0], rate_uppercl=ru[0])
    out = pd.DataFrame([row])
    record(out, "age_limit", age_limit)
    return out


# --------------------------------------------------------------------------------------
# disproportionality
# --------------------------------------------------------------------------------------
def rate_ratios(
    table: pd.DataFrame,
    *,
    group: str = "group",
    n: str = "n",
    population: str = "population",
    reference: str | None = None,
    method: Literal["exact", "log"] = "exact",
    per: float = 1_000,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Rate ratio of each group against a reference group, with intervals and a p-value.

    Parameters
    ----------
    table
        One row per group with a count column and a population column (e.g. one dimension
        of :func:`profile`). Not modified.
    group
        Column naming the groups.
    n, population
        Count and denominator columns.
    reference
        Reference group; default the group with the largest population (recorded in
        ``attrs["sna"]["reference"]``). ``"Not known"`` is never a reference.
    method
        ``"exact"`` (conditional binomial: O_i | O_i + O_r ~ Binomial(O_i + O_r, π), with
        Clopper-Pearson limits for π mapped to RR = π/(1-π) · n_r/n_i; works with zero
        counts) or ``"log"`` (RR · exp(±z √(1/O_i + 1/O_r)); NaN when a count is 0).
    per
        Rate per this many people (for the ``rate`` columns).
    conf_level
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        The input columns plus ``rate``, ``rate_lowercl``, ``rate_uppercl`` (Byar),
        ``rate_ratio``, ``rate_ratio_lowercl``, ``rate_ratio_uppercl``, ``pvalue`` (exact
        two-sided conditional binomial test of RR = 1), ``reference`` (bool). Groups without
        a population (``"Not known"``) have NaN ratios.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"group": ["A", "B"], "n": [30, 10], "population": [1000, 1000]})
    >>> r = rate_ratios(t, reference="B", method="log")
    >>> r[["group", "rate_ratio", "rate_ratio_lowercl", "rate_ratio_uppercl"]].round(4)
      group  rate_ratio  rate_ratio_lowercl  rate_ratio_uppercl
    0     A         3.0              1.4666              6.1367
    1     B         1.0              1.0000              1.0000
    """
    from scipy.stats import beta, binomtest

    for c in (group, n, population):
        if c not in table.columns:
            raise AnalysisInputError(f"table has no column {c!r}", column=c)
    if method not in ("exact", "log"):
        raise AnalysisInputError(f"method must be 'exact' or 'log' (got {method!r})")
    out = table.copy()
    o = pd.to_numeric(out[n]).to_numpy(dtype=float)
    pop = pd.to_numeric(out[population]).to_numpy(dtype=float, na_value=np.nan)
    if (o < 0).any():
        raise AnalysisInputError("counts must be non-negative", column=n)
    usable = (pop > 0) & ~_has_not_known(out[group])
    if not usable.any():
        raise AnalysisInputError(
            "no group has a population: rate ratios need a population for each group",
            column=population,
        )
    labels = out[group].astype(str).to_numpy()
    if reference is None:
        ref_i = int(np.nanargmax(np.where(usable, pop, -1)))
    else:
        hits = np.flatnonzero((labels == str(reference)) & usable)
        if not len(hits):
            raise AnalysisInputError(
                f"reference group {reference!r} not found (or has no population); groups: "
                f"{[str(v) for v in labels[usable]]}",
                column=group,
            )
        ref_i = int(hits[0])
    o_r, n_r = o[ref_i], pop[ref_i]
    out["rate"], out["rate_lowercl"], out["rate_uppercl"] = _rate(o, pop, per, conf_level)
    rr = np.full(len(out), np.nan)
    lo = np.full(len(out), np.nan)
    hi = np.full(len(out), np.nan)
    pv = np.full(len(out), np.nan)
    z = _z(conf_level)
    alpha = 1 - conf_level
    for i in range(len(out)):
        if not usable[i]:
            continue
        if i == ref_i:
            rr[i], lo[i], hi[i], pv[i] = 1.0, 1.0, 1.0, 1.0
            continue
        oi, ni = o[i], pop[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            rr[i] = (oi / ni) / (o_r / n_r) if o_r > 0 else (np.inf if oi > 0 else np.nan)
        total = oi + o_r
        if total > 0:
            pv[i] = binomtest(int(oi), int(total), ni / (ni + n_r)).pvalue
        if method == "log":
            if oi > 0 and o_r > 0:
                se = math.sqrt(1 / oi + 1 / o_r)
                lo[i], hi[i] = rr[i] * math.exp(-z * se), rr[i] * math.exp(z * se)
        elif total > 0:
            p_l = beta.ppf(alpha / 2, oi, total - oi + 1) if oi > 0 else 0.0
            p_u = beta.ppf(1 - alpha / 2, oi + 1, total - oi) if oi < total else 1.0
            k = n_r / ni
            lo[i] = p_l / (1 - p_l) * k
            hi[i] = p_u / (1 - p_u) * k if p_u < 1 else np.inf
    out["rate_ratio"], out["rate_ratio_lowercl"], out["rate_ratio_uppercl"] = rr, lo, hi
    out["pvalue"] = pv
    out["reference"] = np.arange(len(out)) == ref_i
    record(out, "reference", str(labels[ref_i]))
    record(out, "rate_ratio_method", method)
    return out


def representation(
    counts: pd.Series,
    reference: pd.Series,
    *,
    reference_fixed: bool = True,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Representation index: a group's share of a cohort ÷ its share of a reference.

    Parameters
    ----------
    counts
        Counts of the cohort (victims, participants ...) indexed by group.
    reference
        Counts of the reference (residents, or the at-risk cohort) indexed by the same
        groups.
    reference_fixed
        True when the reference is a population count known without sampling error (the
        interval then comes from the Wilson interval of the cohort share alone). False when
        the reference is itself a sample (e.g. participants against the at-risk cohort):
        Katz's log interval for a ratio of two independent proportions,
        log RI ± z √(1/a - 1/A + 1/b - 1/B), with 0.5 added to the four cells when one is 0.
    conf_level
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Indexed by group (union of both indexes): ``n``, ``share``, ``reference_n``,
        ``reference_share``, ``representation``, ``representation_lowercl``,
        ``representation_uppercl``. Shares are among groups known on both sides: the
        ``"Not known"`` group is kept with its count and NaN shares. 1 = represented in
        proportion; below 1 under-represented.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.Series({"City": 30, "County": 20})
    >>> r = pd.Series({"City": 300_000, "County": 700_000})
    >>> representation(c, r)[["share", "reference_share", "representation"]]
            share  reference_share  representation
    City      0.6              0.3        2.000000
    County    0.4              0.7        0.571429
    """
    z = _z(conf_level)
    idx = list(dict.fromkeys([*counts.index, *reference.index]))
    a_all = pd.to_numeric(counts.reindex(idx).fillna(0)).astype(float)
    b_all = pd.to_numeric(reference.reindex(idx).fillna(0)).astype(float)
    if (a_all < 0).any() or (b_all < 0).any():
        raise AnalysisInputError("representation needs non-negative counts")
    known = ~_has_not_known(idx)
    A = a_all[known].sum()
    B = b_all[known].sum()
    out = pd.DataFrame(index=pd.Index(idx, name=counts.index.name or reference.index.name))
    out["n"] = a_all
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share"] = np.where(known, a_all / A if A else np.nan, np.nan)
        out["reference_n"] = b_all
        out["reference_share"] = np.where(known, b_all / B if B else np.nan, np.nan)
        ri = out["share"] / out["reference_share"]
        if reference_fixed:
            lo, hi = _wilson(a_all, np.full(len(idx), A), conf_level)
            lo = lo / out["reference_share"]
            hi = hi / out["reference_share"]
        else:
            a, b = a_all.to_numpy(), b_all.to_numpy()
            c, d = A - a, B - b
            zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
            a2, b2 = np.where(zero, a + 0.5, a), np.where(zero, b + 0.5, b)
            c2, d2 = np.where(zero, c + 0.5, c), np.where(zero, d + 0.5, d)
            ri_adj = (a2 / (a2 + c2)) / (b2 / (b2 + d2))
            se = np.sqrt(1 / a2 - 1 / (a2 + c2) + 1 / b2 - 1 / (b2 + d2))
            lo = ri_adj * np.exp(-z * se)
            hi = ri_adj * np.exp(z * se)
    ok = known & (out["reference_share"] > 0).to_numpy()
    out["representation"] = np.where(ok, ri, np.nan)
    out["representation_lowercl"] = np.where(ok, lo, np.nan)
    out["representation_uppercl"] = np.where(ok, hi, np.nan)
    record(out, "representation_interval", "wilson" if reference_fixed else "katz-log")
    return out


def disproportionality(
    incidents: pd.DataFrame,
    population: PopulationLike,
    *,
    by: str | Sequence[str] = "ethnicity",
    role: Literal["victim", "offender", "patient"] = "victim",
    reference: str | None = None,
    method: Literal["exact", "log"] = "exact",
    per: float = 1_000,
    bands: Bands = DEFAULT_BANDS,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Rate ratios against a reference group and representation indexes, for one dimension.

    Parameters
    ----------
    incidents
        Canonical incidents table. Not modified.
    population
        Population with the dimension's columns (see :func:`profile`).
    by
        One variable (``"ethnicity"``, ``"bame"``, ``"age_band"``, ``"sex"``, ``"district"``
        ...) or a tuple for a cross (``("age_band", "sex")``).
    role
        ``"victim"``, ``"offender"`` or ``"patient"``.
    reference
        Reference group label (for a cross, the labels joined by ``" / "``); default the
        group with the largest population.
    method
        Rate-ratio interval: ``"exact"`` or ``"log"`` (see :func:`rate_ratios`).
    per, bands, conf_level
        As :func:`profile`.

    Returns
    -------
    pandas.DataFrame
        One row per group: the :func:`profile` columns, then ``rate_ratio``,
        ``rate_ratio_lowercl``, ``rate_ratio_uppercl``, ``pvalue``, ``reference`` (bool),
        ``representation``, ``representation_lowercl``, ``representation_uppercl``
        (share of the records with a known value ÷ share of the population; Wilson
        interval; population treated as fixed), ``known_share`` and ``population_share``.

    Notes
    -----
    Both measures exclude ``"Not known"``: the representation index is computed among
    records whose group is known, so it is unbiased only if the unknowns are spread like the
    knowns (the share of unknowns is in ``attrs["sna"]["not_known"]``; say so in the text).

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"ethnicity": ["Black"] * 6 + ["White"] * 12 + [None] * 2})
    >>> pop = pd.DataFrame({"ethnicity": ["Black", "White"], "population": [1000, 9000]})
    >>> d = disproportionality(inc, pop, by="ethnicity", method="log")
    >>> d[["group", "n", "rate", "rate_ratio", "representation"]].round(3)
           group   n   rate  rate_ratio  representation
    0      Black   6  6.000         4.5           3.333
    1      White  12  1.333         1.0           0.741
    2  Not known   2    NaN         NaN             NaN
    """
    if population is None:
        raise AnalysisInputError("disproportionality needs a population table")
    dim = (by,) if isinstance(by, str) else tuple(by)
    prof = profile(incidents, role=role, by=[dim], population=population, per=per,
                   bands=bands, conf_level=conf_level)
    if prof["population"].isna().all():
        raise AnalysisInputError(
            f"no population table has all of {list(dim)}: a disproportionality analysis by "
            f"{_dim_name(dim)} needs residents by {_dim_name(dim)}",
            column=_dim_name(dim),
        )
    rr = rate_ratios(prof, reference=reference, method=method, per=per,
                     conf_level=conf_level)
    counts = prof.set_index("group")["n"]
    pops = prof.set_index("group")["population"].fillna(0)
    rep = representation(counts, pops, reference_fixed=True, conf_level=conf_level)
    rr["known_share"] = rep["share"].to_numpy()
    rr["population_share"] = rep["reference_share"].to_numpy()
    for c in ("representation", "representation_lowercl", "representation_uppercl"):
        rr[c] = rep[c].to_numpy()
    nk = int(prof.loc[_has_not_known(prof["group"]), "n"].sum())
    meta = dict(prof.attrs.get("sna", {}))
    meta.update(rr.attrs.get("sna", {}))
    for key, value in meta.items():
        record(rr, key, value)
    total = int(prof["n"].sum())
    record(rr, "not_known", {"n": nk, "share": nk / total if total else float("nan")})
    return rr


# --------------------------------------------------------------------------------------
# repeats
# --------------------------------------------------------------------------------------
def repeats(
    incidents: pd.DataFrame,
    *,
    role: Literal["victim", "offender", "patient"] = "victim",
    id_col: str | None = None,
    by: str | Sequence[str] | None = None,
    min_incidents: int = 2,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Repeat victims / offenders / patients: people with ``min_incidents`` or more records.

    Parameters
    ----------
    incidents
        Canonical incidents table. Not modified.
    role
        ``"victim"``, ``"offender"`` or ``"patient"``.
    id_col
        Column of the pseudonymised person id; default ``person_id`` (victim, patient) or
        ``offender_id`` (offender).
    by
        Optional grouping columns (``"fy"``, ``"partnership"`` ...); a person is counted
        in each group separately.
    min_incidents
        Records that make a person a repeat (default 2).
    conf_level
        Confidence level of the Wilson intervals.

    Returns
    -------
    pandas.DataFrame
        One row (per group): ``incidents`` (records analysed), ``linked`` (records with an
        id), ``unlinked``, ``people`` (distinct ids), ``repeat_people``,
        ``repeat_incidents`` (records of repeat people), ``repeat_people_share``
        (+ ``_lowercl``/``_uppercl``, of people), ``repeat_incident_share``
        (+ intervals, of linked records), ``max_per_person``, ``mean_per_person``.

    Notes
    -----
    Records without an id cannot be linked: they are counted in ``unlinked`` and in no
    share. The Wilson interval of ``repeat_incident_share`` treats records as independent,
    which they are not (records cluster in people): read it as a lower bound on the
    uncertainty.

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"person_id": ["a", "a", "a", "b", "c", "c", None]})
    >>> r = repeats(inc)
    >>> r[["incidents", "linked", "people", "repeat_people", "repeat_incidents"]]
       incidents  linked  people  repeat_people  repeat_incidents
    0          7       6       3              2                 5
    >>> round(float(r["repeat_incident_share"].iloc[0]), 4)  # 5 of 6 linked records
    0.8333
    """
    cols = _check_role(role)
    id_col = id_col or cols["id"]
    if id_col not in incidents.columns:
        raise AnalysisInputError(
            f"no id column {id_col!r}: repeat {role}s need a pseudonymised person id "
            "(set id_col, or map the source's id column in the config)",
            column=id_col,
        )
    if min_incidents < 2:
        raise AnalysisInputError(f"min_incidents must be at least 2 (got {min_incidents})")
    rows, note = _select_rows(incidents, role)
    keys = [] if by is None else ([by] if isinstance(by, str) else list(by))
    for k in keys:
        if k not in rows.columns:
            raise AnalysisInputError(f"no column {k!r} to group by", column=k)
    work = pd.DataFrame({"id": rows[id_col].astype("string")}, index=rows.index)
    for k in keys:
        work[k] = rows[k].astype(object).where(rows[k].notna(), NOT_KNOWN)
    groups = work.groupby(keys, sort=True, dropna=False) if keys else [((), work)]
    records = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        ids = g["id"].dropna()
        per_person = ids.value_counts()
        rep = per_person[per_person >= min_incidents]
        row = dict(zip(keys, key))
        row.update(
            incidents=len(g),
            linked=len(ids),
            unlinked=len(g) - len(ids),
            people=len(per_person),
            repeat_people=len(rep),
            repeat_incidents=int(rep.sum()),
            max_per_person=int(per_person.max()) if len(per_person) else 0,
            mean_per_person=float(per_person.mean()) if len(per_person) else np.nan,
        )
        records.append(row)
    out = pd.DataFrame(records, columns=[*keys, "incidents", "linked", "unlinked", "people",
                                         "repeat_people", "repeat_incidents",
                                         "max_per_person", "mean_per_person"])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["repeat_people_share"] = np.where(out["people"] > 0,
                                              out["repeat_people"] / out["people"], np.nan)
        out["repeat_incident_share"] = np.where(out["linked"] > 0,
                                                out["repeat_incidents"] / out["linked"], np.nan)
    out["repeat_people_share_lowercl"], out["repeat_people_share_uppercl"] = _wilson(
        out["repeat_people"], out["people"], conf_level)
    out["repeat_incident_share_lowercl"], out["repeat_incident_share_uppercl"] = _wilson(
        out["repeat_incidents"], out["linked"], conf_level)
    order = [*keys, "incidents", "linked", "unlinked", "people", "repeat_people",
             "repeat_incidents", "repeat_people_share", "repeat_people_share_lowercl",
             "repeat_people_share_uppercl", "repeat_incident_share",
             "repeat_incident_share_lowercl", "repeat_incident_share_uppercl",
             "max_per_person", "mean_per_person"]
    out = out[order]
    record(out, "rows", note)
    record(out, "role", role)
    record(out, "id_col", id_col)
    record(out, "min_incidents", min_incidents)
    if len(out) and out["linked"].sum() == 0:
        logger.warning("repeats: no record has a %s, so no one can be linked", id_col)
    return out


def repeat_distribution(
    incidents: pd.DataFrame,
    *,
    role: Literal["victim", "offender", "patient"] = "victim",
    id_col: str | None = None,
    top: int = 5,
) -> pd.DataFrame:
    """How many people have 1, 2, ... or at least ``top`` records (people with an id only).

    Parameters
    ----------
    incidents
        Canonical incidents table. Not modified.
    role, id_col
        As :func:`repeats`.
    top
        The last row collects people with ``top`` or more records.

    Returns
    -------
    pandas.DataFrame
        Columns ``records_per_person`` (``"1"``, ``"2"`` ... ``"5+"``), ``people``,
        ``incidents``, ``incident_share``.

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"person_id": ["a", "a", "a", "b", "c", "c"]})
    >>> repeat_distribution(inc, top=3)
      records_per_person  people  incidents  incident_share
    0                  1       1          1        0.166667
    1                  2       1          2        0.333333
    2                 3+       1          3        0.500000
    """
    cols = _check_role(role)
    id_col = id_col or cols["id"]
    if id_col not in incidents.columns:
        raise AnalysisInputError(f"no id column {id_col!r}", column=id_col)
    if top < 2:
        raise AnalysisInputError(f"top must be at least 2 (got {top})")
    rows, _ = _select_rows(incidents, role)
    per_person = rows[id_col].astype("string").dropna().value_counts()
    labels = [str(k) for k in range(1, top)] + [f"{top}+"]
    k = per_person.clip(upper=top)
    people = [int((k == i).sum()) for i in range(1, top + 1)]
    inc = [int(per_person[k == i].sum()) for i in range(1, top + 1)]
    total = sum(inc)
    out = pd.DataFrame({"records_per_person": labels, "people": people, "incidents": inc})
    out["incident_share"] = out["incidents"] / total if total else np.nan
    record(out, "id_col", id_col)
    return out
