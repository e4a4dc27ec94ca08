"""The board report's Table A: its measures, their definitions, and the table of an assessment.

- :func:`table_a_measures` -- the records under each measure (all serious violence, the
  police categories, the knife measures), by offence or recorded date;
- :func:`table_a` -- Table A of an assessment, the one definition chapter 1, the tutorial and
  the board paper use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import pandas as pd

from .._log import record
from ..errors import AnalysisInputError
from ..periods import FinancialYear, fy_start_year
from .comparison import compare_periods

__all__ = ["KNIFE_MEASURES", "TABLE_A_REASONS", "table_a_measures", "table_a"]


#: Table A's knife measures: name and the police category they are limited to (None: all).
KNIFE_MEASURES: tuple[tuple[str, str | None], ...] = (
    ("Knife crime (any offence involving a knife)", None),
    ("Knife-enabled robbery", "Robbery"),
    ("Knife possession", "Possession of weapons"),
)


#: Why Table A's defaults are what they are (for the methods page and the caption).
TABLE_A_REASONS: dict[str, str] = {
    "homicide": "homicide counts within violence against the person, as in the ONS offence "
                "group of police recorded crime, so the row compares with national figures",
    "offence": "a crime counts in the year of its offence date: the assessment asks when "
               "violence happened, and offences reported late (sexual offences especially) "
               "stay in the year they happened",
    "recorded": "a crime counts in the year it was recorded, as in ONS police recorded crime "
                "statistics",
}


def _by_recorded_date(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``fy`` and ``month`` from the recorded date (the offence date where it is missing)."""
    if "recorded_date" not in frame.columns or (len(frame) and frame["recorded_date"].isna().all()):
        raise AnalysisInputError(
            "Table A by recorded date needs the police source's recorded_date column (map it "
            "in sources.<name>.columns), or set definition.table_a.date: offence",
            key="definition.table_a.date")
    rec = pd.to_datetime(frame["recorded_date"])
    missing = int(rec.isna().sum())
    month = rec.dt.to_period("M").dt.to_timestamp()
    out = frame.copy()
    if "month" in out.columns:
        out["month"] = month.where(rec.notna(), out["month"])
    labels = [None if pd.isna(y) else str(FinancialYear(int(y))) for y in fy_start_year(month)]
    out["fy"] = pd.Series(labels, index=out.index, dtype="string").where(
        rec.notna(), out["fy"].astype("string"))
    return out, missing


def table_a_measures(
    serious: pd.DataFrame,
    records: pd.DataFrame,
    categories: Sequence[str],
    *,
    knife: bool = False,
    homicide_in_violence_against_the_person: bool = True,
    date: Literal["offence", "recorded"] = "offence",
) -> pd.DataFrame:
    """The records under each measure of the board report's Table A, for :func:`compare_periods`.

    A record counts under every measure it meets: "All serious violence" (``serious``, the
    local definition), each police category in ``categories`` (every record of it, in that
    order, left out when there are none; "Violence against the person" with homicide, as the
    ONS offence group, unless told otherwise), and with ``knife`` the three knife measures
    of :data:`KNIFE_MEASURES` (records whose ``knife`` flag is true).

    Parameters
    ----------
    serious
        The serious-violence records.
    records
        Every police record (with ``category``, and ``knife`` when ``knife`` is true).
    categories
        The police categories shown as their own measures.
    knife
        Add the knife measures (the source has a knife flag).
    homicide_in_violence_against_the_person
        Count homicide within "Violence against the person" (default, as the ONS offence
        group; :confval:`definition.table_a.homicide_in_violence_against_the_person`).
    date
        "offence" (default): each record's ``fy`` / ``month`` as cleaned, from the offence
        date; "recorded": from its ``recorded_date`` (the offence date where that is
        missing, counted in ``attrs``) (:confval:`definition.table_a.date`).

    Returns
    -------
    pandas.DataFrame
        The records, stacked, with a ``measure`` column; measures in Table A's order.
        ``attrs["sna"]["table_a_measures"]`` records both choices, their reasons and a
        ``definition_note`` sentence for the table's caption.

    Notes
    -----
    Defaults and reasons (:data:`TABLE_A_REASONS`): homicide within violence against the
    person, as the ONS offence group, so the row compares with national figures; the offence
    date, because the assessment asks when violence happened and offences reported late
    (sexual offences especially) stay in the year they happened -- ONS statistics count by
    the recorded date, which ``date="recorded"`` gives. On the demo, sexual offences
    change by -28.0% by offence date and -24.2% by recorded date.

    Examples
    --------
    >>> recs = pd.DataFrame({"category": ["Robbery", "Robbery", "Sexual offences"],
    ...                      "knife": [True, False, None]})
    >>> long = table_a_measures(recs.iloc[:1], recs, ["Robbery", "Public order"], knife=True)
    >>> long["measure"].value_counts(sort=False).to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'All serious violence': 1, 'Robbery': 2, 'Knife crime (any offence involving a knife)': 1,
     'Knife-enabled robbery': 1}
    """
    if date not in ("offence", "recorded"):
        raise AnalysisInputError(f"date must be 'offence' or 'recorded', got {date!r}",
                                 key="definition.table_a.date")
    missing = 0
    if date == "recorded":
        serious, _ = _by_recorded_date(serious)
        records, missing = _by_recorded_date(records)
    vap = "Violence against the person"
    out = [serious.assign(measure="All serious violence")]
    for cat in categories:
        cats = [cat, "Homicide"] if cat == vap and homicide_in_violence_against_the_person \
            else [cat]
        part = records[records["category"].isin(cats)]
        if len(part):
            out.append(part.assign(measure=cat))
    if knife:
        flagged = records[records["knife"].fillna(False).astype(bool)]
        for name, cat in KNIFE_MEASURES:
            part = flagged if cat is None else flagged[flagged["category"] == cat]
            out.append(part.assign(measure=name))
    long = pd.concat(out, ignore_index=True)
    long.attrs = {}
    with_homicide = homicide_in_violence_against_the_person and vap in categories
    note = ("Offences are counted in the financial year of their "
            + ("offence date (when the violence happened; ONS statistics use the recorded date)"
               if date == "offence" else "recorded date, as ONS statistics")
            + ("; violence against the person includes homicide, as the ONS offence group "
               "does, so the row compares with national figures." if with_homicide else
               "; violence against the person excludes homicide (the ONS offence group "
               "includes it)." if vap in categories else "."))
    record(long, "table_a_measures", {
        "homicide_in_violence_against_the_person": bool(homicide_in_violence_against_the_person),
        "date": date, "records_without_recorded_date": missing,
        "reasons": {"homicide": TABLE_A_REASONS["homicide"], "date": TABLE_A_REASONS[date]},
        "definition_note": note.strip(),
    })
    return long


def table_a(assessment, source: str | None = None) -> pd.DataFrame:
    """The board report's Table A of an assessment: the one definition of its measures.

    The definitions are the config's :confval:`definition.table_a` (homicide within violence
    against the person, offence or recorded date; by offence date, with a note, when the
    source has no recorded dates), and the months the source did not supply are left out of
    every year alike (:func:`compare_periods` ``covered=``).

    Chapter 1, the tutorial notebook and the README all call this, so "Violence against the
    person" means the same records wherever Table A is shown: "All serious violence" (the
    local definition), then every record of each police category (a force extract's SNA
    categories but public order; data.police.uk's configured serious-violence crime types),
    then the knife measures when the source's knife flag is filled for at least a fifth of its
    records; each compared with the annual average of the baseline years
    (:func:`compare_periods`), in that order.

    Parameters
    ----------
    assessment
        A :class:`sna.assessment.Assessment`, or a results-only
        :class:`sna.dataset.IncidentDataset` (its ``monthly`` counts: the same table).
    source
        The police source; default the first force extract, else the first data.police.uk
        source of the config.

    Returns
    -------
    pandas.DataFrame
        :func:`compare_periods`'s columns, one row per measure (``measure``);
        ``attrs["sna"]`` holds ``compare_periods`` (with its ``period_note``) and
        ``table_a_measures`` (the definitions, their reasons, ``definition_note`` and any
        ``fallback``).

    Raises
    ------
    AnalysisInputError
        No police source, or the data do not cover the baseline years.
    """
    from ..schemas import SNA_CATEGORIES

    cfg = assessment.config
    if source is None:
        source = next((n for fmt in ("police_extract", "police_uk")
                       for n, src in cfg.sources.items() if src.format == fmt), None)
    if source is None or source not in cfg.sources:
        raise AnalysisInputError("Table A needs a police source (police_extract or police_uk) "
                                 "in the config.", key="sources")
    counted = not isinstance(getattr(assessment, "incidents", None), pd.DataFrame)
    # a results-only dataset (sna.dataset.IncidentDataset): its monthly counts, column n
    inc = assessment.monthly if counted else assessment.incidents
    records = inc[inc["source"] == source]
    serious = records[records["serious_violence"].fillna(False).astype(bool)]
    if cfg.sources[source].format == "police_extract":
        categories = [c for c in SNA_CATEGORIES if c != "Public order"]
    else:
        categories = list(cfg.definition.police_uk_serious_violence)
    weight = records["n"] if counted else pd.Series(1, index=records.index)
    knife = bool(len(records)) and "knife" in records.columns and \
        float(weight[records["knife"].notna()].sum() / weight.sum()) >= 0.2
    rules = cfg.definition.table_a
    kw = {"knife": knife, "homicide_in_violence_against_the_person":
          rules.homicide_in_violence_against_the_person}
    fallback = None
    try:
        long = table_a_measures(serious, records, categories, date=rules.date, **kw)
    except AnalysisInputError as exc:  # no recorded dates: by offence date, and said so
        fallback = f"Counted by offence date: {exc.message}."
        long = table_a_measures(serious, records, categories, **kw)
    quality = getattr(assessment, "quality", None)
    covered = quality.sources[source].months if quality and source in quality.sources else None
    out = compare_periods(long, year=assessment.year, baseline_years=cfg.baseline_years,
                          category="measure", covered=covered,
                          **({"count": "n"} if counted else {}))
    out.attrs["sna"]["table_a_measures"] = {
        **long.attrs["sna"]["table_a_measures"], "fallback": fallback}
    order = [m for m in long["measure"].unique() if m in set(out["measure"])]
    attrs = out.attrs
    out = out.set_index("measure").loc[order].reset_index()
    out.attrs = attrs
    return out
