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
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from ._log import logger, record
from ._tabulate import (  # the shared building blocks, under this module's former names
    DEFAULT_BANDS,
    NOT_KNOWN,
    OTHER_AGES,
    Bands,
    PopulationLike,
    age_bands,
    band_labels,
    bame,
    clean_category,
)
from ._tabulate import dim_name as _dim_name
from ._tabulate import dimensions as _dimensions
from ._tabulate import find_population as _find_population
from ._tabulate import has_not_known as _has_not_known
from ._tabulate import normal_z as _z
from ._tabulate import population_tables as _population_tables
from ._tabulate import rate_with_limits as _rate
from ._tabulate import tabulate as _tabulate
from ._tabulate import wilson_limits as _wilson
from .errors import AnalysisInputError


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

_SEX_ORDER = ("Female", "Male", "Other")
_LEVEL_ORDER = ("universal", "secondary", "tertiary")


# --------------------------------------------------------------------------------------
# intervals (thin wrappers over sna.rates: NaN for unknown denominators / counts)
# --------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------
# categories
# --------------------------------------------------------------------------------------


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
