"""Interventions: who was reached, against the at-risk cohort; what changed; at what cost.

The board report's questions: how many children and young people (aged 5-25) were
supported, by how many interventions, at which prevention level (universal, secondary,
tertiary); whether the County is reached as well as the City; how well BAME communities are
reached; what outcomes changed; what each participant cost.

Functions take the canonical **participants** table (one row per person per intervention:
``person_id, intervention, provider, level, referral_date, start_date, end_date, fy, age, sex,
ethnicity, home_lsoa, district, partnership, outcome_start, outcome_end, offending_before,
offending_after``) and the **interventions** table (``intervention, provider, level,
funding_stream, cost, fy``), and return new tidy DataFrames. Missing values become
``"Not known"`` groups, never dropped rows.

Examples
--------
>>> import pandas as pd
>>> from sna.interventions import summary
>>> parts = pd.DataFrame({"intervention": ["A", "A", "B"], "age": [12, 30, None],
...                       "person_id": ["p1", "p2", "p3"]})
>>> summary(parts)[["interventions", "participants", "participants_in_ages"]]
   interventions  participants  participants_in_ages
0              2             3                     1
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from ._log import logger, record
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
from .people import (
    DEFAULT_BANDS,
    NOT_KNOWN,
    Bands,
    PopulationLike,
    age_bands,
    bame,
    clean_category,
    person_table,
    representation,
)

__all__ = [
    "LEVELS",
    "COHORT_AGES",
    "REACH_BY",
    "clean_level",
    "participant_table",
    "at_risk_cohort",
    "summary",
    "reach",
    "outcomes",
    "costs",
]

#: prevention levels, in order
LEVELS: tuple[str, ...] = ("universal", "secondary", "tertiary")
#: the VRU's at-risk cohort: children and young people aged 5 to 25 (inclusive)
COHORT_AGES: tuple[int, int] = (5, 25)
#: the default breakdowns of :func:`reach`
REACH_BY: tuple[str, ...] = (
    "intervention",
    "level",
    "partnership",
    "district",
    "age_band",
    "sex",
    "ethnicity",
    "bame",
)
_PERSON_DIMS = ("age_band", "sex", "ethnicity", "bame")
_TRUE = frozenset({"true", "yes", "y", "1", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "f"})


# --------------------------------------------------------------------------------------
# preparing tables
# --------------------------------------------------------------------------------------
def clean_level(values: pd.Series | Sequence) -> pd.Series:
    """Prevention levels as an ordered categorical: universal < secondary < tertiary.

    Case and wording are forgiven: "Universal", "primary prevention" -> universal;
    "Secondary" -> secondary; "TERTIARY" -> tertiary; missing -> ``"Not known"``; other
    labels are kept (lower case) after the three levels.

    Parameters
    ----------
    values
        Series (or list) of level labels.

    Returns
    -------
    pandas.Series
        Ordered categorical named ``level`` (index kept).

    Examples
    --------
    >>> clean_level(["Universal", "secondary prevention", None, "Primary"]).tolist()
    ['universal', 'secondary', 'Not known', 'universal']
    """
    index = values.index if isinstance(values, pd.Series) else None
    s = clean_category(values).astype(str)

    def norm(v: str) -> str:
        if v == NOT_KNOWN:
            return v
        low = v.lower()
        for word, level in (("universal", "universal"), ("primary", "universal"),
                            ("secondary", "secondary"), ("tertiary", "tertiary")):
            if word in low:
                return level
        return low

    out = s.map(norm)
    others = sorted(set(out) - set(LEVELS) - {NOT_KNOWN})
    cats = [*LEVELS, *others, NOT_KNOWN]
    return pd.Series(pd.Categorical(out, categories=cats, ordered=True), index=index,
                     name="level")


def _fy_label(fy) -> str:
    from .periods import FinancialYear

    return str(FinancialYear.parse(fy))


def _filter_fy(df: pd.DataFrame, fy, what: str) -> pd.DataFrame:
    if fy is None:
        return df
    if "fy" not in df.columns:
        raise AnalysisInputError(f"cannot select a financial year: the {what} table has no "
                                 "'fy' column", column="fy")
    label = _fy_label(fy)
    return df.loc[(df["fy"].astype("string") == label).fillna(False).to_numpy()]


def participant_table(participants: pd.DataFrame, *, bands: Bands = DEFAULT_BANDS,
                      ages: tuple[int, int] = COHORT_AGES) -> pd.DataFrame:
    """Participants with tidy grouping columns (a new table; the input is not changed).

    Parameters
    ----------
    participants
        Canonical participants table.
    bands
        Age bands for ``age_band``.
    ages
        (youngest, oldest) ages of the at-risk cohort, inclusive; sets ``in_ages``.

    Returns
    -------
    pandas.DataFrame
        Index kept; ``age`` (float), ``age_band``, ``sex``, ``ethnicity``, ``bame``,
        ``level`` (see :func:`clean_level`), ``intervention``, ``provider``, ``district``,
        ``partnership`` (ordered categoricals with ``"Not known"``), ``in_ages`` (bool: the
        age is known and within ``ages``), and ``person_id``, ``fy`` when present.

    Examples
    --------
    >>> import pandas as pd
    >>> t = participant_table(pd.DataFrame({"age": [4, 5, 25, None], "level": ["Tertiary"] * 4}))
    >>> t[["age_band", "level", "in_ages"]]
        age_band     level  in_ages
    0        0-4  tertiary    False
    1        5-9  tertiary     True
    2      25-34  tertiary     True
    3  Not known  tertiary    False
    """
    if not isinstance(participants, pd.DataFrame):
        raise AnalysisInputError("participants must be a pandas DataFrame")
    lo, hi = ages
    if lo > hi:
        raise AnalysisInputError(f"ages must be (youngest, oldest), got {ages!r}")
    base = person_table(participants, role="victim", bands=bands)  # same column names
    out = pd.DataFrame(index=participants.index)
    for c in ("age", "age_band", "sex", "ethnicity", "bame"):
        out[c] = base[c]
    idx = participants.index

    def col(name):
        return participants[name] if name in participants.columns else pd.Series(
            pd.NA, index=idx, dtype=object)

    out["level"] = clean_level(col("level"))
    for c in ("intervention", "provider", "district", "partnership"):
        out[c] = clean_category(col(c))
    out["in_ages"] = (out["age"] >= lo) & (out["age"] <= hi)
    for c in ("person_id", "fy"):
        if c in participants.columns:
            out[c] = participants[c].astype("string")
    return out


def at_risk_cohort(
    incidents: pd.DataFrame,
    *,
    ages: tuple[int, int] = COHORT_AGES,
    roles: Sequence[Literal["victim", "offender", "patient"]] = ("victim", "offender"),
    fy: str | int | None = None,
    serious_only: bool = True,
    dedupe: bool = True,
    bands: Bands = DEFAULT_BANDS,
) -> pd.DataFrame:
    """The at-risk cohort: young victims and suspects of serious violence.

    Parameters
    ----------
    incidents
        Canonical incidents table (police extract rows for victims and suspects; add
        ``"patient"`` to ``roles`` to include A&E / ambulance patients). Not modified.
    ages
        (youngest, oldest) ages, inclusive; default 5-25 as the VRU's cohort. Records with
        an unknown age are not in the cohort (their count is in ``attrs["sna"]``).
    roles
        Which people: ``"victim"`` (``age``...), ``"offender"`` (``offender_age``...),
        ``"patient"``.
    fy
        Financial year to keep (``"2020/21"``); all years if None.
    serious_only
        Keep only ``serious_violence`` records (unknown counts as not serious).
    dedupe
        Count each pseudonymised person once per role (and year): a person with an id is
        kept at their first record; records without an id count once each.
    bands
        Age bands for ``age_band``.

    Returns
    -------
    pandas.DataFrame
        One row per cohort member: ``role``, ``id``, ``age``, ``age_band``, ``sex``,
        ``ethnicity``, ``bame``, and ``lsoa``, ``district``, ``partnership``, ``fy`` where
        the incidents have them (the place of the incident: the home area of a victim or
        suspect is not in police data).

    Notes
    -----
    A person who is both victim and suspect is counted once in each role (victim and
    suspect ids are not linkable). Suspect ethnicity is only known where the source has an
    ``offender_ethnicity`` column.

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"serious_violence": [True, True, False, True],
    ...                     "age": [16, 16, 17, 40], "person_id": ["a", "a", "b", "c"],
    ...                     "offender_age": [19, None, 18, 22]})
    >>> at_risk_cohort(inc)[["role", "id", "age"]]
           role    id   age
    0    victim     a  16.0
    1  offender  <NA>  19.0
    2  offender  <NA>  22.0
    """
    if not isinstance(incidents, pd.DataFrame):
        raise AnalysisInputError("incidents must be a pandas DataFrame")
    inc = _filter_fy(incidents, fy, "incidents").reset_index(drop=True)
    note: dict = {"ages": list(ages), "roles": list(roles), "serious_only": serious_only}
    if serious_only:
        if "serious_violence" not in inc.columns:
            raise AnalysisInputError(
                "the incidents have no 'serious_violence' column: classify them first, or "
                "pass serious_only=False",
                column="serious_violence",
            )
        sv = inc["serious_violence"].astype("boolean")
        note["serious_unknown"] = int(sv.isna().sum())
        inc = inc.loc[sv.fillna(False).to_numpy()]
    parts = []
    for role in roles:
        try:
            people = person_table(inc, role=role, bands=bands)
        except AnalysisInputError:
            if len(inc) == 0:
                raise
            note[f"{role}_rows"] = 0
            continue
        known = people["age"].notna()
        keep = known & (people["age"] >= ages[0]) & (people["age"] <= ages[1])
        note[f"{role}_age_not_known"] = int((~known).sum())
        people = people.loc[keep.to_numpy()].copy()
        if dedupe and len(people):
            if "date" in inc.columns:
                people = people.assign(_d=inc.loc[people.index, "date"]).sort_values(
                    "_d", kind="stable").drop(columns="_d")
            keys = ["id", "fy"] if "fy" in people.columns else ["id"]
            has_id = people["id"].notna()
            first = ~people.duplicated(subset=keys) | ~has_id
            note[f"{role}_repeat_records_dropped"] = int((~first).sum())
            people = people.loc[first.to_numpy()].sort_index(kind="stable")
        people.insert(0, "role", role)
        note[f"{role}_members"] = int(len(people))
        parts.append(people)
    if parts:
        out = pd.concat(parts, ignore_index=True)
    else:
        out = pd.DataFrame(columns=["role", "age", "age_band", "sex", "ethnicity", "bame", "id"])
    out.attrs = {}
    record(out, "cohort", note)
    return out


# --------------------------------------------------------------------------------------
# summary and reach
# --------------------------------------------------------------------------------------
def summary(
    participants: pd.DataFrame,
    interventions: pd.DataFrame | None = None,
    *,
    fy: str | int | None = None,
    ages: tuple[int, int] = COHORT_AGES,
) -> pd.DataFrame:
    """The headline: interventions, participants and people, with the 5-25 count.

    Parameters
    ----------
    participants
        Canonical participants table. Not modified.
    interventions
        Canonical interventions table (optional): interventions commissioned but without
        participants still count.
    fy
        Financial year to keep; all years if None.
    ages
        The cohort ages (inclusive).

    Returns
    -------
    pandas.DataFrame
        One row: ``fy`` (or ``"all"``), ``interventions``, ``participants`` (rows: one per
        person per intervention), ``participants_in_ages``, ``participants_outside_ages``,
        ``participants_age_not_known`` (the three add up to ``participants``), ``people``
        and ``people_in_ages`` (distinct ``person_id``; NaN without ids), and
        ``universal``, ``secondary``, ``tertiary`` (participants in ages by level).

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"intervention": ["A", "A", "B"], "age": [12, 30, 15],
    ...                   "level": ["universal", "universal", "tertiary"]})
    >>> summary(p)[["participants_in_ages", "participants_outside_ages", "universal", "tertiary"]]
       participants_in_ages  participants_outside_ages  universal  tertiary
    0                     2                          1          1         1
    """
    parts = participant_table(_filter_fy(participants, fy, "participants"), ages=ages)
    names = set(parts["intervention"].astype(str)) - {NOT_KNOWN}
    if interventions is not None and "intervention" in interventions.columns:
        iv = _filter_fy(interventions, fy, "interventions")
        names |= set(clean_category(iv["intervention"]).astype(str)) - {NOT_KNOWN}
    known_age = parts["age"].notna()
    row = {
        "fy": _fy_label(fy) if fy is not None else "all",
        "interventions": len(names),
        "participants": int(len(parts)),
        "participants_in_ages": int(parts["in_ages"].sum()),
        "participants_outside_ages": int((known_age & ~parts["in_ages"]).sum()),
        "participants_age_not_known": int((~known_age).sum()),
    }
    if "person_id" in parts.columns:
        ids = parts["person_id"]
        row["people"] = int(ids.dropna().nunique())
        row["people_in_ages"] = int(ids[parts["in_ages"]].dropna().nunique())
    else:
        row["people"] = row["people_in_ages"] = np.nan
    for level in LEVELS:
        row[level] = int((parts["in_ages"] & (parts["level"].astype(str) == level)).sum())
    out = pd.DataFrame([row])
    record(out, "ages", list(ages))
    return out


def reach(
    participants: pd.DataFrame,
    *,
    by: str | Sequence[str | Sequence[str]] = REACH_BY,
    cohort: pd.DataFrame | None = None,
    population: PopulationLike | None = None,
    fy: str | int | None = None,
    ages: tuple[int, int] = COHORT_AGES,
    bands: Bands = DEFAULT_BANDS,
    per: float = 1_000,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Participants by intervention, level, area, age, sex and ethnicity, against the cohort.

    Parameters
    ----------
    participants
        Canonical participants table. Not modified.
    by
        Dimensions (see :func:`sna.people.profile`): each string a one-way breakdown, a
        tuple a cross (``("partnership", "level")`` for the reach-by-level chart).
        Default: intervention, level, partnership, district, age_band, sex, ethnicity, bame.
    cohort
        The at-risk cohort to compare with, e.g. :func:`at_risk_cohort` of the same area
        and year; any table with ``age``, ``sex``, ``ethnicity``, ``district``,
        ``partnership`` columns. Optional.
    population
        Residents with an ``age`` column (single year) and the dimension's columns (e.g.
        the long population table merged with the geography for ``district`` and
        ``partnership``): gives participants per ``per`` residents of the cohort ages.
        Optional.
    fy
        Financial year of the participants (and of the cohort, if it has ``fy``).
    ages
        (youngest, oldest) cohort ages, inclusive (default 5-25).
    bands, per, conf_level
        Age bands, rate multiplier, confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per group of each dimension (zero counts and ``"Not known"`` kept):
        ``dimension``, ``group``, one column per variable, then

        ``n``  participants (all ages; adds up to the participants within each dimension);
        ``share``, ``share_lowercl``, ``share_uppercl``  of all participants (Wilson);
        ``n_in_ages``  participants aged within ``ages``;
        ``in_ages_share``  their share among participants in ages of known group;
        ``cohort_n``, ``cohort_share``  the cohort (NaN where the cohort has no such
        variable, e.g. intervention or level);
        ``representation``, ``representation_lowercl``, ``representation_uppercl``
        share of participants in ages ÷ share of the cohort, among known groups (Katz log
        interval; both are samples): below 1 = under-reached;
        ``population``, ``rate``, ``rate_lowercl``, ``rate_uppercl``  participants in ages
        per ``per`` residents of those ages (Byar), where the population allows.

    Notes
    -----
    **Only participants aged within** ``ages`` **(5-25) count toward the comparison with the
    cohort and the population**: participants of other ages or of unknown age are in ``n``
    but not in ``n_in_ages`` (their counts are in ``attrs["sna"]["participants"]``). The
    cohort's area is where the incident happened, the participants' area is their home:
    read the area comparison as "reach relative to where the violence is".

    Examples
    --------
    >>> import pandas as pd
    >>> parts = pd.DataFrame({"partnership": ["City"] * 6 + ["County"] * 2,
    ...                       "age": [15] * 8})
    >>> cohort = pd.DataFrame({"partnership": ["City"] * 50 + ["County"] * 50,
    ...                        "age": [17] * 100})
    >>> r = reach(parts, by="partnership", cohort=cohort)
    >>> r[["group", "n", "cohort_n", "representation"]]
           group  n  cohort_n  representation
    0       City  6      50.0             1.5
    1     County  2      50.0             0.5
    2  Not known  0       0.0             NaN
    """
    participants = _filter_fy(participants, fy, "participants").reset_index(drop=True)
    parts = participant_table(participants, bands=bands, ages=ages)
    dims = _dimensions(by)
    for dim in dims:
        for c in dim:
            if c not in parts.columns:
                if c in participants.columns:
                    parts[c] = clean_category(participants.loc[parts.index, c])
                else:
                    raise AnalysisInputError(
                        f"cannot break down by {c!r}: the participants table has no such "
                        "column", column=c)
    coh = None
    if cohort is not None:
        coh_src = cohort
        if fy is not None and "fy" in cohort.columns:
            coh_src = _filter_fy(cohort, fy, "cohort")
        coh = _cohort_table(coh_src, ages, bands)
    tables = _population_tables(population)
    in_ages = parts.loc[parts["in_ages"].to_numpy()]
    total = len(parts)
    all_vars = list(dict.fromkeys(c for dim in dims for c in dim))
    rows = []
    notes: dict = {}
    for dim in dims:
        rows.append(_reach_by(dim, parts, in_ages, coh, tables, bands, ages, conf_level, notes))
    out = pd.concat(rows, ignore_index=True)
    for c in all_vars:
        if c not in out.columns:
            out[c] = pd.NA
    for c in ("in_ages_share", "cohort_n", "cohort_share", "representation",
              "representation_lowercl",
              "representation_uppercl", "population"):
        if c not in out.columns:
            out[c] = np.nan
    out["population"] = out["population"].astype(float)
    out.loc[_has_not_known(out["group"]), "population"] = np.nan
    out["share"] = out["n"] / total if total else np.nan
    out["share_lowercl"], out["share_uppercl"] = _wilson(out["n"], np.full(len(out), total),
                                                         conf_level)
    out["rate"], out["rate_lowercl"], out["rate_uppercl"] = _rate(
        out["n_in_ages"], out["population"], per, conf_level)
    out = out[["dimension", "group", *all_vars, "n", "share", "share_lowercl", "share_uppercl",
               "n_in_ages", "in_ages_share", "cohort_n", "cohort_share", "representation",
               "representation_lowercl", "representation_uppercl", "population", "rate",
               "rate_lowercl", "rate_uppercl"]]
    known_age = parts["age"].notna()
    record(out, "participants", {
        "total": int(total),
        "in_ages": int(parts["in_ages"].sum()),
        "outside_ages": int((known_age & ~parts["in_ages"]).sum()),
        "age_not_known": int((~known_age).sum()),
    })
    record(out, "ages", list(ages))
    if coh is not None:
        record(out, "cohort_members", int(len(coh)))
        record(out, "representation_interval", "katz-log (participants and cohort both samples)")
    if notes:
        record(out, "notes", notes)
    record(out, "per", per)
    return out


def _reach_by(dim, parts, in_ages, coh, tables, bands, ages, conf_level, notes) -> pd.DataFrame:
    """One dimension's rows of :func:`reach`: participants (all, and in the cohort's ages),
    the cohort and the representation index where the cohort has the variable, the
    population where a table has it; what is missing goes to ``notes``."""
    name = _dim_name(dim)
    coh_ok = coh is not None and all(c in coh.columns for c in dim)
    extra = {c: coh[c].astype(str).unique() for c in dim} if coh_ok else {}
    pop = _find_population(tables, dim, bands, ages=ages) if tables else None
    t = _tabulate(parts, dim, pop, extra_levels=extra)
    t.insert(0, "dimension", name)
    t.insert(1, "group", [" / ".join(str(r[c]) for c in dim) for _, r in t.iterrows()])
    keys = list(dim)
    n_in = _tabulate(in_ages, dim, None, extra_levels={c: t[c].unique() for c in dim})
    t = t.merge(n_in.rename(columns={"n": "n_in_ages"}), on=keys, how="left")
    t["n_in_ages"] = t["n_in_ages"].fillna(0).astype("int64")
    if coh_ok:
        cn = _tabulate(coh, dim, None, extra_levels={c: t[c].unique() for c in dim})
        t = t.merge(cn.rename(columns={"n": "cohort_n"}), on=keys, how="left")
        t["cohort_n"] = t["cohort_n"].fillna(0).astype(float)
        rep = representation(
            t.set_index("group")["n_in_ages"], t.set_index("group")["cohort_n"],
            reference_fixed=False, conf_level=conf_level,
        )
        t["in_ages_share"] = rep["share"].reindex(t["group"]).to_numpy()
        t["cohort_share"] = rep["reference_share"].reindex(t["group"]).to_numpy()
        for c in ("representation", "representation_lowercl", "representation_uppercl"):
            t[c] = rep[c].reindex(t["group"]).to_numpy()
    elif coh is not None:
        notes[name] = "the cohort has no such variable: no representation index"
    if pop is None and tables:
        notes.setdefault(name, f"no population table has all of {list(dim)} and age: no rate")
    return t


def _cohort_table(cohort: pd.DataFrame, ages, bands) -> pd.DataFrame:
    """Cohort members in ages with tidy grouping columns."""
    if not isinstance(cohort, pd.DataFrame):
        raise AnalysisInputError("cohort must be a pandas DataFrame")
    out = pd.DataFrame(index=cohort.index)
    if "age" in cohort.columns:
        age = pd.to_numeric(cohort["age"].astype(object), errors="coerce").astype(float)
        keep = (age >= ages[0]) & (age <= ages[1])
        out["age_band"] = age_bands(age, bands)
        out = out.loc[keep.to_numpy()]
        cohort = cohort.loc[keep.to_numpy()]
    for c in ("sex", "ethnicity", "district", "partnership"):
        if c in cohort.columns:
            out[c] = clean_category(cohort[c])
    if "ethnicity" in cohort.columns:
        out["bame"] = bame(cohort["ethnicity"]) if "bame" not in cohort.columns else \
            clean_category(cohort["bame"])
    return out


# --------------------------------------------------------------------------------------
# outcomes
# --------------------------------------------------------------------------------------
def _to_bool(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.BooleanDtype) or values.dtype == bool:
        return values.astype("boolean")

    def conv(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return pd.NA
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (int, np.integer, float)) and v in (0, 1):
            return bool(v)
        text = str(v).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return pd.NA

    return values.astype(object).map(conv).astype("boolean")


def _score_stats(start: np.ndarray, end: np.ndarray, conf_level: float) -> dict:
    from scipy import stats

    d = end - start
    n = len(d)
    mean = float(d.mean())
    sd = float(d.std(ddof=1)) if n > 1 else np.nan
    res = {"mean_start": float(start.mean()), "mean_end": float(end.mean()),
           "mean_change": mean, "sd_change": sd}
    if n > 1 and sd > 0:
        tq = stats.t.ppf(1 - (1 - conf_level) / 2, n - 1)
        half = tq * sd / np.sqrt(n)
        res.update(change_lowercl=mean - half, change_uppercl=mean + half,
                   t_statistic=mean / (sd / np.sqrt(n)),
                   t_pvalue=float(2 * stats.t.sf(abs(mean / (sd / np.sqrt(n))), n - 1)),
                   cohens_dz=mean / sd)
    else:
        res.update(change_lowercl=mean if n > 1 else np.nan,
                   change_uppercl=mean if n > 1 else np.nan,
                   t_statistic=np.nan, t_pvalue=np.nan, cohens_dz=np.nan)
    if np.any(d != 0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res["wilcoxon_pvalue"] = float(stats.wilcoxon(d).pvalue)
            except ValueError:
                res["wilcoxon_pvalue"] = np.nan
    else:
        res["wilcoxon_pvalue"] = np.nan
    return res


def _binary_stats(before: np.ndarray, after: np.ndarray, conf_level: float,
                  exact: bool | None) -> dict:
    from statsmodels.stats.contingency_tables import mcnemar

    n = len(before)
    both = int((before & after).sum())
    stopped = int((before & ~after).sum())
    started = int((~before & after).sum())
    neither = n - both - stopped - started
    discordant = stopped + started
    use_exact = discordant < 25 if exact is None else exact
    res = {
        "before_n": int(before.sum()),
        "after_n": int(after.sum()),
        "before_share": float(before.mean()),
        "after_share": float(after.mean()),
        "stopped": stopped,
        "started": started,
    }
    diff = (started - stopped) / n
    z = _z(conf_level)
    se = np.sqrt(max(discordant - (started - stopped) ** 2 / n, 0.0)) / n
    res.update(change=diff, change_lowercl=diff - z * se, change_uppercl=diff + z * se)
    if discordant == 0:
        res.update(mcnemar_statistic=np.nan, mcnemar_pvalue=1.0,
                   mcnemar_method="no discordant pairs")
    else:
        table = np.array([[both, stopped], [started, neither]])
        r = mcnemar(table, exact=use_exact, correction=True)
        res.update(mcnemar_statistic=float(r.statistic), mcnemar_pvalue=float(r.pvalue),
                   mcnemar_method="exact binomial" if use_exact
                   else "chi-squared, continuity corrected")
    return res


_SCORE_STATS = ["mean_start", "mean_end", "mean_change", "sd_change", "change_lowercl",
                "change_uppercl", "t_statistic", "t_pvalue", "wilcoxon_pvalue", "cohens_dz"]
_BINARY_STATS = ["before_n", "after_n", "before_share", "after_share", "stopped", "started",
                 "change", "change_lowercl", "change_uppercl", "mcnemar_statistic",
                 "mcnemar_pvalue", "mcnemar_method"]


def outcomes(
    participants: pd.DataFrame,
    *,
    measure: str | tuple[str, str] = "score",
    by: str | Sequence[str] | None = None,
    min_n: int = 10,
    total: bool = True,
    fy: str | int | None = None,
    exact: bool | None = None,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Paired start / end change of an outcome, per group, hidden where groups are small.

    Parameters
    ----------
    participants
        Canonical participants table. Not modified.
    measure
        ``"score"`` (``outcome_start`` -> ``outcome_end``, numeric: paired change),
        ``"offending"`` (``offending_before`` -> ``offending_after``, yes/no: McNemar), or a
        pair of column names (yes/no when both are boolean).
    by
        Grouping columns (``"intervention"``, ``"level"``, ``"partnership"``,
        ``"age_band"`` ...); None for one overall row.
    min_n
        Groups with fewer complete pairs are not shown: the row is kept with
        ``shown=False``, a ``reason`` and empty statistics. Pass the config's
        ``disclosure.min_group_size`` (default 10).
    total
        With ``by``, add an overall row (group columns ``"All"``).
    fy
        Financial year of the participants; all if None.
    exact
        McNemar: exact binomial test (True), chi-squared with continuity correction
        (False), or automatic (None: exact when fewer than 25 discordant pairs).
    conf_level
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per group: the ``by`` columns, ``group`` (label), ``participants`` (rows
        in the group), ``n`` (complete pairs), ``n_missing`` (start or end unknown),
        ``shown``, ``reason``, then for a score: ``mean_start``, ``mean_end``,
        ``mean_change`` (end - start), ``sd_change``, ``change_lowercl``,
        ``change_uppercl`` (t interval), ``t_statistic``, ``t_pvalue`` (paired t-test),
        ``wilcoxon_pvalue`` (signed-rank, zero differences dropped), ``cohens_dz``
        (mean change / SD of changes); for yes/no: ``before_n``, ``after_n``,
        ``before_share``, ``after_share``, ``stopped`` (yes -> no), ``started``
        (no -> yes), ``change`` (after - before share) with a Wald paired interval,
        ``mcnemar_statistic``, ``mcnemar_pvalue``, ``mcnemar_method``.

    Notes
    -----
    No control group: a change is not an effect of the intervention (regression to the
    mean, maturation). McNemar (1947); exact version: binomial test of the discordant
    pairs (statsmodels ``mcnemar``). Cohen's d_z: Lakens (2013).

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"outcome_start": [10, 12, 9, 11, 10, 13, 8, 10, 12, 11],
    ...                   "outcome_end":   [12, 13, 12, 12, 13, 14, 10, 11, 15, 12]})
    >>> o = outcomes(p)
    >>> o[["n", "mean_change", "change_lowercl", "change_uppercl", "shown"]].round(3)
        n  mean_change  change_lowercl  change_uppercl  shown
    0  10          1.8           1.143           2.457   True
    >>> outcomes(p, min_n=20)[["n", "mean_change", "shown", "reason"]]
        n  mean_change  shown                        reason
    0  10          NaN  False  fewer than 20 pairs (n = 10)
    """
    if min_n < 1:
        raise AnalysisInputError(f"min_n must be at least 1 (got {min_n})")
    if isinstance(measure, str):
        if measure == "score":
            cols, binary = ("outcome_start", "outcome_end"), False
        elif measure == "offending":
            cols, binary = ("offending_before", "offending_after"), True
        else:
            raise AnalysisInputError(
                f"measure must be 'score', 'offending' or a pair of columns (got {measure!r})")
    else:
        cols = tuple(measure)
        if len(cols) != 2:
            raise AnalysisInputError("measure must be a pair of columns (start, end)")
        binary = None
    for c in cols:
        if c not in participants.columns:
            raise AnalysisInputError(f"the participants table has no column {c!r}", column=c)
    src = _filter_fy(participants, fy, "participants").reset_index(drop=True)
    if binary is None:
        binary = all(isinstance(src[c].dtype, pd.BooleanDtype) or src[c].dtype == bool
                     for c in cols)
    if binary:
        a, b = _to_bool(src[cols[0]]), _to_bool(src[cols[1]])
    else:
        a = pd.to_numeric(src[cols[0]].astype(object), errors="coerce").astype(float)
        b = pd.to_numeric(src[cols[1]].astype(object), errors="coerce").astype(float)
    complete = (a.notna() & b.notna()).to_numpy()
    keys = [] if by is None else ([by] if isinstance(by, str) else list(by))
    groups = _outcome_groups(src, keys, total)
    stat_cols = _BINARY_STATS if binary else _SCORE_STATS
    records = []
    for labels, mask in groups:
        pair = mask & complete
        n = int(pair.sum())
        row = dict(labels)
        row["group"] = " / ".join(labels.values()) if labels else "All"
        row.update(participants=int(mask.sum()), n=n, n_missing=int(mask.sum()) - n)
        if n < min_n:
            row.update(shown=False, reason=f"fewer than {min_n} pairs (n = {n})")
            row.update({c: np.nan for c in stat_cols})
            if binary:
                row["mcnemar_method"] = None
        else:
            row.update(shown=True, reason="")
            if binary:
                row.update(_binary_stats(a[pair].to_numpy(dtype=bool),
                                         b[pair].to_numpy(dtype=bool), conf_level, exact))
            else:
                row.update(_score_stats(a[pair].to_numpy(), b[pair].to_numpy(), conf_level))
        records.append(row)
    out = pd.DataFrame(records, columns=[*keys, "group", "participants", "n", "n_missing",
                                         "shown", "reason", *stat_cols])
    out["shown"] = out["shown"].astype(bool)
    if binary:
        for c in ("before_n", "after_n", "stopped", "started"):
            out[c] = out[c].astype("Int64")
    record(out, "measure", list(cols))
    record(out, "measure_type", "yes/no (McNemar)" if binary else "score (paired t, Wilcoxon)")
    record(out, "min_n", min_n)
    hidden = int((~out["shown"]).sum())
    if hidden:
        record(out, "groups_not_shown", hidden)
    if binary:
        record(out, "mcnemar_exact", "auto (< 25 discordant pairs)" if exact is None else exact)
    return out


def _outcome_groups(src: pd.DataFrame, keys: list, total: bool) -> list[tuple[dict, np.ndarray]]:
    """The groups of :func:`outcomes` in order: (labels, mask of their rows); all participants
    last when ``total``, or one group of everyone without ``keys``."""
    tidy = participant_table(src) if keys else None
    groups: list[tuple[dict, np.ndarray]] = []
    if keys:
        g = pd.DataFrame(index=src.index)
        for k in keys:
            if k in tidy.columns:
                g[k] = tidy[k].astype(str)
            elif k in src.columns:
                g[k] = clean_category(src[k]).astype(str)
            else:
                raise AnalysisInputError(f"the participants table has no column {k!r}",
                                         column=k)
        order = g.drop_duplicates().copy()
        for k in keys:
            if k in tidy.columns and isinstance(tidy[k].dtype, pd.CategoricalDtype):
                cats = [str(c) for c in tidy[k].cat.categories]
                order[k] = pd.Categorical(order[k], categories=cats, ordered=True)
        order = order.sort_values(keys)
        for _, row in order.iterrows():
            mask = np.ones(len(g), dtype=bool)
            for k in keys:
                mask &= (g[k] == str(row[k])).to_numpy()
            groups.append(({k: str(row[k]) for k in keys}, mask))
        if total:
            groups.append(({k: "All" for k in keys}, np.ones(len(g), dtype=bool)))
    else:
        groups.append(({}, np.ones(len(src), dtype=bool)))
    return groups


# --------------------------------------------------------------------------------------
# costs
# --------------------------------------------------------------------------------------
def costs(
    interventions: pd.DataFrame,
    participants: pd.DataFrame,
    *,
    fy: str | int | None = None,
) -> pd.DataFrame:
    """Cost per participant by intervention, prevention level and funding stream, with totals.

    Parameters
    ----------
    interventions
        Canonical interventions table: ``intervention, level, funding_stream, cost`` (one
        row per intervention and funding stream; ``fy``, ``provider`` optional). Not
        modified.
    participants
        Canonical participants table (``intervention``; ``fy`` optional). Not modified.
    fy
        Financial year; all if None. When both tables have ``fy``, interventions and
        participants are matched on (intervention, fy).

    Returns
    -------
    pandas.DataFrame
        Rows for each ``dimension``: ``"intervention"``, ``"level"``,
        ``"funding_stream"`` and ``"total"``; columns ``dimension``, ``group``, ``fy``
        (when matched on it), ``interventions`` (count), ``cost`` (sum of known costs),
        ``participants``, ``participants_costed`` (participants of interventions whose
        cost is known), ``cost_per_participant`` (cost / participants_costed; NaN when 0).

    Notes
    -----
    A participant is one person in one intervention (a person in two interventions counts
    in each). An intervention paid by several funding streams has its participants
    apportioned to each stream in proportion to the stream's share of its cost (equally if
    its cost is 0), so stream rows add up to the total. Participants of interventions that
    are not in the interventions table are counted (``attrs["sna"]["unmatched"]``) with no
    cost, at the level the participants table gives; interventions without participants add
    cost but no participants.

    Examples
    --------
    >>> import pandas as pd
    >>> iv = pd.DataFrame({"intervention": ["A", "A", "B"],
    ...                    "level": ["universal", "universal", "tertiary"],
    ...                    "funding_stream": ["Home Office", "YEF", "Home Office"],
    ...                    "cost": [3000.0, 1000.0, 5000.0]})
    >>> parts = pd.DataFrame({"intervention": ["A"] * 40 + ["B"] * 10})
    >>> costs(iv, parts)[["dimension", "group", "cost", "participants", "cost_per_participant"]]
            dimension        group    cost  participants  cost_per_participant
    0    intervention            A  4000.0          40.0                 100.0
    1    intervention            B  5000.0          10.0                 500.0
    2           level    universal  4000.0          40.0                 100.0
    3           level     tertiary  5000.0          10.0                 500.0
    4  funding_stream  Home Office  8000.0          40.0                 200.0
    5  funding_stream          YEF  1000.0          10.0                 100.0
    6           total        Total  9000.0          50.0                 180.0
    """
    for c in ("intervention", "cost"):
        if c not in interventions.columns:
            raise AnalysisInputError(f"the interventions table has no column {c!r}", column=c)
    if "intervention" not in participants.columns:
        raise AnalysisInputError("the participants table has no column 'intervention'",
                                 column="intervention")
    iv = _filter_fy(interventions, fy, "interventions")
    pt = _filter_fy(participants, fy, "participants")
    use_fy = "fy" in iv.columns and "fy" in pt.columns
    keys = ["intervention", "fy"] if use_fy else ["intervention"]
    w = pd.DataFrame(index=iv.index)
    w["intervention"] = clean_category(iv["intervention"]).astype(str)
    if use_fy:
        w["fy"] = iv["fy"].astype("string").fillna(NOT_KNOWN).astype(str)
    w["level"] = clean_level(iv["level"]).astype(str) if "level" in iv.columns else NOT_KNOWN
    w["funding_stream"] = (clean_category(iv["funding_stream"]).astype(str)
                           if "funding_stream" in iv.columns else NOT_KNOWN)
    cost = pd.to_numeric(iv["cost"].astype(object), errors="coerce").astype(float)
    if (cost < 0).any():
        raise AnalysisInputError("costs must not be negative", column="cost")
    w["cost"] = cost
    p = pd.DataFrame(index=pt.index)
    p["intervention"] = clean_category(pt["intervention"]).astype(str)
    if use_fy:
        p["fy"] = pt["fy"].astype("string").fillna(NOT_KNOWN).astype(str)
    counts = p.groupby(keys).size().rename("participants")

    # one row per intervention (and fy)
    per_iv = w.groupby(keys, sort=False).agg(
        cost=("cost", lambda s: s.sum(min_count=1)),
        level=("level", "first"),
        cost_known=("cost", lambda s: bool(s.notna().all())),
    )
    levels_mixed = w.groupby(keys)["level"].nunique()
    if (levels_mixed > 1).any():
        logger.warning("costs: interventions with more than one level; the first is used: %s",
                       list(levels_mixed[levels_mixed > 1].index))
    per_iv = per_iv.join(counts, how="outer")
    unmatched = per_iv.index[per_iv["level"].isna()]
    per_iv["participants"] = per_iv["participants"].fillna(0).astype(float)
    if len(unmatched) and "level" in pt.columns:  # fall back on the participants' level
        plev = pd.DataFrame({k: p[k] for k in keys})
        plev["level"] = clean_level(pt["level"]).astype(str).to_numpy()
        mode = plev.groupby(keys)["level"].agg(lambda s: s.value_counts().index[0])
        per_iv["level"] = per_iv["level"].fillna(mode.reindex(per_iv.index))
    per_iv["level"] = per_iv["level"].fillna(NOT_KNOWN)
    per_iv["cost_known"] = per_iv["cost_known"].astype("boolean").fillna(False).astype(bool)
    per_iv["participants_costed"] = np.where(per_iv["cost_known"], per_iv["participants"], 0.0)
    per_iv["n_iv"] = 1
    level_order = {lv: i for i, lv in enumerate([*LEVELS])}

    fy_keys = ["fy"] if use_fy else []
    ivr = per_iv.reset_index()
    ivr["group"] = ivr["intervention"]
    parts = [_summarise_costs(ivr, "intervention", "intervention", fy_keys)]
    lv = _summarise_costs(ivr, "level", "level", fy_keys)
    lv = lv.assign(_o=lv["group"].map(lambda g: level_order.get(g, 99))).sort_values(
        [*fy_keys, "_o"], kind="stable").drop(columns="_o")
    parts.append(lv)
    # funding streams: apportion participants by cost share
    fs = _by_funding_stream(w, per_iv, keys)
    parts.append(_summarise_costs(fs, "funding_stream", "funding_stream", fy_keys))
    parts.append(_summarise_costs(ivr, "total", None, fy_keys))
    out = pd.concat(parts, ignore_index=True)
    if not (out["dimension"] == "total").any():  # nothing at all: still a total row
        out = pd.concat([out, pd.DataFrame([{"dimension": "total", "group": "Total",
                                             "interventions": 0, "cost": np.nan,
                                             "participants": 0.0,
                                             "participants_costed": 0.0}])],
                        ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cost_per_participant"] = np.where(out["participants_costed"] > 0,
                                               out["cost"] / out["participants_costed"], np.nan)
    cols = ["dimension", "group", *fy_keys, "interventions", "cost", "participants",
            "participants_costed", "cost_per_participant"]
    out = out[cols]
    out["interventions"] = out["interventions"].astype("int64")
    record(out, "participants_counted_as", "one per person per intervention")
    record(out, "funding_stream_apportioning", "participants by cost share")
    if len(unmatched):
        um = [k if isinstance(k, str) else " ".join(map(str, k)) for k in unmatched]
        record(out, "unmatched", um)
        logger.warning("costs: participants of interventions not in the interventions table: %s",
                       um)
    no_parts = per_iv.index[per_iv["participants"] == 0]
    if len(no_parts):
        record(out, "interventions_without_participants",
               [k if isinstance(k, str) else " ".join(map(str, k)) for k in no_parts])
    return out


def _summarise_costs(df: pd.DataFrame, dim: str, group_col: str | None, fy_keys) -> pd.DataFrame:
    """Interventions, cost and participants of :func:`costs` summed by ``group_col`` (and
    year); one ``Total`` row without one."""
    gk = ([group_col] if group_col else []) + fy_keys
    if gk:
        agg = df.groupby(gk, sort=False).agg(
            interventions=("n_iv", "sum"), cost=("cost", lambda s: s.sum(min_count=1)),
            participants=("participants", "sum"),
            participants_costed=("participants_costed", "sum")).reset_index()
    else:
        agg = pd.DataFrame([{"interventions": df["n_iv"].sum(),
                             "cost": df["cost"].sum(min_count=1),
                             "participants": df["participants"].sum(),
                             "participants_costed": df["participants_costed"].sum()}])
    agg.insert(0, "dimension", dim)
    agg.insert(1, "group", agg[group_col].astype(str) if group_col else "Total")
    if group_col and group_col != "group":
        agg = agg.drop(columns=group_col)
    return agg


def _by_funding_stream(w: pd.DataFrame, per_iv: pd.DataFrame, keys: list) -> pd.DataFrame:
    """The funding-stream rows of the interventions, each with its share of the intervention's
    participants (by cost share; equal shares without costs)."""
    fs = w.copy()
    tot = fs.groupby(keys)["cost"].transform(lambda s: s.sum(min_count=1))
    nrows = fs.groupby(keys)["cost"].transform("size")
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(tot > 0, fs["cost"] / tot, 1.0 / nrows)
    fs["weight"] = np.where(np.isnan(weight), 1.0 / nrows, weight)
    fs = fs.join(per_iv[["participants", "cost_known"]], on=keys)
    fs["participants"] = fs["participants"].fillna(0) * fs["weight"]
    fs["participants_costed"] = np.where(fs["cost"].notna(), fs["participants"], 0.0)
    fs["n_iv"] = 1
    return fs
