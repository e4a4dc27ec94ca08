"""Intervention monitoring returns: who took part in what, and what it cost.

A VRU commissions interventions (outreach, mentoring, custody navigators, school
programmes...) and its providers return monitoring data. ``sna`` reads two tables, CSV or
Excel, each through a column mapping (:mod:`sna.io.partner`):

**participants** (``sources.<name>.path``), one row per person per intervention:
``person_id`` (pseudonymised at read time), ``intervention``, ``provider``, ``level``
(prevention level: universal / secondary / tertiary), ``referral_date``, ``start_date``
(required), ``end_date``, ``age`` (at start), ``sex``, ``ethnicity``, ``home_lsoa``,
``outcome_start`` / ``outcome_end`` (an outcome measure, e.g. a wellbeing score, at start and
end), ``offending_before`` / ``offending_after`` (yes/no).

**interventions** (``sources.<name>.interventions_table``), one row per intervention and
year: ``intervention``, ``provider``, ``level``, ``funding_stream``, ``cost`` (GBP; ``£`` and
thousands separators accepted), ``fy``.

Both tables share ``sources.<name>.columns``; prefix a key with ``participants.`` or
``interventions.`` when the two tables name a field differently (``interventions.level:
Tier``).

Cleaning: prevention levels are read from common wordings (primary / universal, targeted /
secondary, specialist / tertiary); a participant's provider and level come from the
interventions table when the participants table lacks them; ``fy`` is the financial year of
the start date; ``district`` and ``partnership`` come from the home LSOA (participants living
outside the area are kept, without a district). Set aside: ``no_date`` / ``bad_date`` (start
date), ``bad_age`` (an impossible age such as 250), ``bad_value`` (no intervention named).

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "participants.csv").write_text(
...     "Participant ID,Programme,Start Date,Age at Start,Gender\\n"
...     "YP-001,Mentoring,13/05/2020,15,F\\n"
...     "YP-002,Mentoring,14/05/2020,250,M\\n")
>>> p = read_participants(d / "participants.csv", key=b"demo key, not a secret")
>>> p[["intervention", "fy", "age", "set_aside"]].values.tolist()
[['Mentoring', '2020/21', 15, <NA>], ['Mentoring', '2020/21', <NA>, 'bad_age']]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pandas as pd

from ..errors import InputFormatError
from .partner import fill_records, read_partner

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

    from ..clean import CleanedSource
    from ..config import Config, SourceConfig

__all__ = [
    "LEVELS",
    "normalise_levels",
    "read_participants",
    "read_interventions_table",
    "clean_interventions",
    "detect_interventions",
]

#: Prevention levels, from the least to the most targeted.
LEVELS = ("universal", "secondary", "tertiary")

_LEVEL_WORDS = {
    "universal": ("universal", "primary", "tier 1", "tier1", "level 1", "whole population"),
    "secondary": ("secondary", "targeted", "tier 2", "tier2", "level 2", "early intervention"),
    "tertiary": ("tertiary", "specialist", "intensive", "tier 3", "tier3", "level 3"),
}


def normalise_levels(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Prevention levels as ``universal`` / ``secondary`` / ``tertiary``.

    Returns
    -------
    (levels, unrecognised)
        ``string`` Series (``<NA>`` when blank or not recognised) and the mask of values not
        recognised.

    Examples
    --------
    >>> import pandas as pd
    >>> lv, bad = normalise_levels(pd.Series(["Primary", "Targeted (secondary)", "Tier 3", None, "?!"]))
    >>> lv.tolist(), bad.tolist()
    (['universal', 'secondary', 'tertiary', <NA>, <NA>], [False, False, False, False, True])
    """
    low = values.astype("string").str.lower().str.strip()

    def one(t: str):
        for level, words in _LEVEL_WORDS.items():
            if any(w in t for w in words):
                return level
        return None

    uniq = pd.unique(low.dropna().to_numpy(dtype=object))
    lut = {u: one(u) for u in uniq}
    out = low.map(lut, na_action="ignore").astype("string")
    bad = out.isna() & low.notna() & (low != "")
    return out, bad.astype(bool)


def read_interventions_table(
    path,
    *,
    columns: dict[str, str] | None = None,
    encoding: str = "utf-8",
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read the table of interventions (name, provider, level, funding stream, cost, year).

    Parameters
    ----------
    path
        CSV / ``.csv.gz`` / ``.xlsx`` file(s).
    columns
        The source's column mapping (keys may carry the ``interventions.`` prefix).
    encoding, sheet
        CSV encoding, Excel sheet.

    Returns
    -------
    pandas.DataFrame
        ``intervention``, ``provider``, ``level``, ``funding_stream``, ``cost`` (Float64),
        ``fy`` ("2020/21"; ``<NA>`` where not given), ``file``, ``line``.

    Raises
    ------
    InputFormatError
        A row without an intervention name, or a year that is not a financial year (file and
        line named).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "interventions.csv").write_text(
    ...     "Intervention,Provider,Prevention Level,Funding Stream,Cost (£),Financial Year\\n"
    ...     "Mentoring,Youth Trust,Targeted,VRU core grant,\\"£25,000\\",2020-21\\n")
    >>> t = read_interventions_table(d / "interventions.csv")
    >>> t.loc[0, "level"], float(t.loc[0, "cost"]), t.loc[0, "fy"]
    ('secondary', 25000.0, '2020/21')
    """
    from ..periods import FinancialYear

    df = read_partner(path, "interventions_table", columns=columns, encoding=encoding, sheet=sheet,
                      prefix="interventions")
    notes = df.attrs["sna"]["notes"]
    blank = df["intervention"].isna()
    if blank.any():
        i = blank[blank].index[0]
        raise InputFormatError("a row of the interventions table has no intervention name; every "
                               "intervention needs one", file=df.at[i, "file"], line=int(df.at[i, "line"]))
    out = pd.DataFrame(index=df.index)
    out["intervention"] = df["intervention"]
    out["provider"] = df["provider"] if "provider" in df else pd.Series(pd.NA, index=df.index, dtype="string")
    if "level" in df:
        lv, bad = normalise_levels(df["level"])
        if bad.any():
            notes.append(f"{int(bad.sum())} prevention level(s) not recognised in the interventions "
                         "table (kept as unknown)")
        out["level"] = lv
    else:
        out["level"] = pd.Series(pd.NA, index=df.index, dtype="string")
    out["funding_stream"] = df["funding_stream"] if "funding_stream" in df else pd.Series(
        pd.NA, index=df.index, dtype="string")
    out["cost"] = (df["cost"] if "cost" in df else pd.Series(pd.NA, index=df.index)).astype("Float64")
    fy = pd.Series(pd.NA, index=df.index, dtype="string")
    if "fy" in df:
        for i, v in df["fy"].items():
            if pd.isna(v):
                continue
            try:
                fy[i] = str(FinancialYear.parse(str(v).strip()))
            except Exception:
                raise InputFormatError(f"{v!r} is not a financial year (write it as 2020/21)",
                                       file=df.at[i, "file"], line=int(df.at[i, "line"]),
                                       column=df.attrs["sna"]["files"][0]["mapping"].get("fy")) from None
    out["fy"] = fy
    out["file"] = df["file"]
    out["line"] = df["line"]
    out.attrs["sna"] = df.attrs["sna"]
    return out


def read_participants(
    path,
    *,
    columns: dict[str, str] | None = None,
    config: "Config | None" = None,
    key: bytes | str | None = None,
    source: str | None = None,
    encoding: str = "utf-8",
    sheet: str | int | None = None,
    interventions: pd.DataFrame | None = None,
    exclude=(),
) -> pd.DataFrame:
    """Read intervention participants, one row per row read.

    Parameters
    ----------
    path
        CSV / ``.csv.gz`` / ``.xlsx`` file(s), folder, glob, zip or list.
    columns
        Column mapping (keys may carry the ``participants.`` prefix).
    config, key, source, encoding, sheet
        As :func:`sna.io.police_extract.read_police_extract`.
    interventions
        The interventions table (:func:`read_interventions_table`): fills a participant's
        provider and level where the participants table has none.
    exclude
        Files not to read as participants (the interventions table, when ``path`` is a folder
        holding both).

    Returns
    -------
    pandas.DataFrame
        The participants columns of :data:`sna.schemas.PARTICIPANT_COLUMNS` found in the file
        (``person_id`` pseudonymised; ``fy`` from the start date; ``level`` normalised), plus
        ``file``, ``line``, ``set_aside``, ``set_aside_detail``, ``record``.
    """
    from ..clean import fy_labels
    from .partner import month_start

    df, raw = read_partner(path, "interventions", columns=columns, config=config, source=source,
                           encoding=encoding, sheet=sheet, key=key, prefix="participants",
                           return_raw=True, exclude=exclude)
    meta = df.attrs["sna"]
    out = df.copy()
    for c in ("referral_date", "start_date", "end_date"):
        if f"{c}_precision" in out:
            out = out.drop(columns=[f"{c}_precision"])
    no_name = out["intervention"].isna() & out["set_aside"].isna()
    if no_name.any():
        out.loc[no_name, "set_aside"] = "bad_value"
        out.loc[no_name, "set_aside_detail"] = "no intervention named"
        fill_records(out, raw)
    if "end_date" in out:
        backwards = out["end_date"].notna() & (out["end_date"] < out["start_date"])
        if backwards.any():
            meta["notes"].append(f"{int(backwards.sum())} participant(s) whose end date is before the "
                                 "start date: end date kept as unknown")
            out.loc[backwards, "end_date"] = pd.NaT
    if "level" in out:
        lv, bad = normalise_levels(out["level"])
        if bad.any():
            meta["notes"].append(f"{int(bad.sum())} prevention level(s) not recognised (kept as unknown)")
        out["level"] = lv
    if interventions is not None and len(interventions):
        table = interventions.drop_duplicates("intervention", keep="last").set_index("intervention")
        for c in ("provider", "level"):
            fill = out["intervention"].map(table[c].to_dict())
            out[c] = (out[c].fillna(fill) if c in out else fill).astype("string")
        unknown = ~out["intervention"].isin(table.index) & out["intervention"].notna()
        if unknown.any():
            meta["notes"].append(f"{int(unknown.sum())} participant row(s) name an intervention not in "
                                 f"the interventions table (e.g. {out.loc[unknown, 'intervention'].iloc[0]!r})")
    out["fy"] = fy_labels(month_start(out["start_date"])).astype("string")
    out.attrs["sna"] = meta
    return out


def clean_interventions(
    name: str,
    source: "SourceConfig",
    config: "Config",
    geography: "gpd.GeoDataFrame",
    *,
    progress: Callable[[str], None] | None = None,
) -> "CleanedSource":
    """Read and clean intervention monitoring returns (``format: interventions``).

    Returns
    -------
    CleanedSource
        No incidents; ``tables["participants"]`` (:data:`sna.schemas.PARTICIPANT_COLUMNS`)
        and ``tables["interventions"]`` (:data:`sna.schemas.INTERVENTION_COLUMNS`); the
        quarantine of set-aside participant rows; the QualityLog entry (rows read = kept +
        set aside, over participant rows; months of start dates; ``share_geocoded`` = share
        of participants with a home LSOA in the area).
    """
    from .. import clean
    from ..quality import SourceQuality
    from ..schemas import INTERVENTION_COLUMNS, PARTICIPANT_COLUMNS, QUARANTINE_COLUMNS

    from .partner import PARTNER_REASONS

    for reason, text in PARTNER_REASONS.items():
        clean.REASONS.setdefault(reason, text)
    if progress is not None:
        progress(f"reading {name} (intervention monitoring)")
    table = None
    notes: list[str] = []
    files: list[str] = []
    table_paths = config.resolve_many(source.interventions_table) if source.interventions_table else []
    if source.interventions_table:
        table = read_interventions_table(table_paths,
                                         columns=source.columns, encoding=source.encoding, sheet=source.sheet)
        notes += table.attrs["sna"]["notes"]
        files += [f["file"] for f in table.attrs["sna"]["files"]]
        notes.append(f"interventions table: {len(table)} row(s)")
    p = read_participants(config.resolve_many(source.path), columns=source.columns, config=config,
                          source=name, encoding=source.encoding, sheet=source.sheet, interventions=table,
                          exclude=table_paths)
    notes = p.attrs["sna"]["notes"] + notes
    files = [f["file"] for f in p.attrs["sna"]["files"]] + files
    aside = p["set_aside"].notna()
    kept = p[~aside].reset_index(drop=True)
    # district and partnership of the home LSOA
    g = geography.set_index(geography["lsoa"].astype(str))
    home = kept["home_lsoa"].astype("string") if "home_lsoa" in kept else pd.Series(pd.NA, index=kept.index, dtype="string")
    kept["district"] = home.map(g["district"].astype(str).to_dict()).astype("string")
    kept["partnership"] = home.map(g["partnership"].astype(str).to_dict()).astype("string")
    outside = home.notna() & kept["district"].isna()
    if outside.any():
        notes.append(f"{int(outside.sum())} participant(s) live outside the area's LSOAs: kept, with no "
                     "district or partnership")
    participants = pd.DataFrame(index=kept.index)
    for col, (dtype, _) in PARTICIPANT_COLUMNS.items():
        if col in kept:
            s = kept[col]
            participants[col] = pd.to_datetime(s).astype(dtype) if dtype.startswith("datetime") else s.astype(dtype)
        else:
            participants[col] = pd.Series(pd.NA if not dtype.startswith("datetime") else pd.NaT,
                                          index=kept.index, dtype=dtype)
    if table is not None:
        interventions = pd.DataFrame({c: table[c].astype(d) for c, (d, _) in INTERVENTION_COLUMNS.items()})
    else:
        interventions = pd.DataFrame({c: pd.Series(dtype=d) for c, (d, _) in INTERVENTION_COLUMNS.items()})
    rest = p[aside]
    quarantine = pd.DataFrame({
        "source": name, "file": rest["file"], "line": rest["line"], "reason": rest["set_aside"],
        "detail": rest["set_aside_detail"], "record": rest["record"],
    })
    quarantine = pd.DataFrame({c: quarantine[c].astype(d) for c, (d, _) in QUARANTINE_COLUMNS.items()}
                              ).reset_index(drop=True)
    months, missing = clean.month_coverage(participants["start_date"])
    share = float(participants["district"].notna().mean()) if len(participants) else float("nan")
    if p.attrs["sna"].get("identifiers_pseudonymised"):
        notes.append("identifiers pseudonymised at read time (HMAC-SHA256): "
                     + ", ".join(p.attrs["sna"]["identifiers_pseudonymised"]))
    quality = SourceQuality(
        name=name, format="interventions", rows_read=int(len(p)), rows_kept=int(len(participants)),
        set_aside={str(k): int(v) for k, v in rest["set_aside"].value_counts().items() if v},
        months=months, missing_months=missing, share_geocoded=share, files=files, notes=notes,
    )
    quality.check()
    return clean.CleanedSource(
        incidents=clean.canonical_incidents(pd.DataFrame()),
        quarantine=quarantine,
        quality=quality,
        tables={"participants": participants, "interventions": interventions},
    )


def detect_interventions(path) -> dict | None:
    """``sna init``: an intervention monitoring source's proposed config, or None.

    ``path`` is the participants table, or a folder holding it and (optionally) the
    interventions table, which is recognised by its header (an intervention name and a cost
    or funding stream, no participant id).

    Returns
    -------
    dict or None
        ``{"format": "interventions", "columns": {...}}`` (mapping keys prefixed
        ``participants.`` / ``interventions.``), plus ``interventions_table`` (absolute path)
        when one was found.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "participants.csv").write_text("Client ID,Project,Start Date,Age\\n")
    >>> _ = (d / "projects.csv").write_text("Project,Provider,Tier,Budget\\n")
    >>> found = detect_interventions(d)
    >>> found["columns"]["participants.intervention"], found["interventions_table"].endswith("projects.csv")
    ('Project', True)
    """
    from ..errors import InputFormatError
    from ._files import expand_paths
    from .partner import TABLE_PATTERNS, detect_format, header_of, propose_mapping

    try:
        files = expand_paths(path, patterns=TABLE_PATTERNS, what="interventions data")
    except InputFormatError:
        return None
    participants = table = None
    for f in files:
        try:
            header = header_of(f)
        except (InputFormatError, OSError, ValueError):
            continue
        if participants is None and detect_format(header) == "interventions":
            participants = (f, header)
            continue
        m = propose_mapping(header, "interventions_table")
        if table is None and "intervention" in m and ({"cost", "funding_stream"} & set(m)) \
                and "person_id" not in propose_mapping(header, "interventions"):
            table = (f, header)
    if participants is None:
        return None
    columns = {f"participants.{k}": v for k, v in propose_mapping(participants[1], "interventions").items()}
    out: dict = {"format": "interventions"}
    if table is not None:
        columns.update({f"interventions.{k}": v
                        for k, v in propose_mapping(table[1], "interventions_table").items()})
        out["interventions_table"] = str(table[0].path.resolve())
    out["columns"] = columns
    return out
