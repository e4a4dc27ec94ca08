"""The local definition of serious violence: how each source's categories map to SNA categories.

Each area sets its own local definition (Serious Violence Duty, 2022), so the definition is
configuration (``definition:`` in ``sna.yml``, :class:`sna.config.DefinitionConfig`), and this
module holds the sensible defaults and the mapping functions.

data.police.uk
    Street-level crime has 14 crime types (:data:`POLICE_UK_CRIME_TYPES`). They cannot be split
    further (no homicide, injury, knife or domestic flag), so a data.police.uk row keeps its
    crime type as its ``category``. The default local definition counts *Violence and sexual
    offences*, *Robbery* and *Possession of weapons* as serious violence
    (:data:`POLICE_UK_SERIOUS_VIOLENCE`); *Public order* is context.

Force crime extracts
    Home Office offence codes map to the SNA categories (:func:`classify_offence_codes`, table
    :func:`ho_offence_codes`) and the serious-violence flag of the local definition
    (:func:`serious_violence_flags`); see the section at the end of this module.

Ambulance and A&E
    Call categories and assault methods are read in :mod:`sna.io.health`; their rows count as
    *Violence with injury* (or *Sexual offences*) for :func:`serious_violence_flags`.

Examples
--------
>>> from sna.definitions import police_uk_category
>>> police_uk_category("Robbery")
('Robbery', True)
>>> police_uk_category("Shoplifting")
('Shoplifting', False)
>>> police_uk_category("Knife crime") is None
True
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .config import DefinitionConfig

__all__ = [
    "POLICE_UK_CRIME_TYPES",
    "POLICE_UK_SERIOUS_VIOLENCE",
    "police_uk_category",
    "police_uk_categories",
    "police_uk_serious_violence_types",
    # force crime extracts (Home Office offence codes)
    "HO_CODES_PATH",
    "SNA_SUBCATEGORIES",
    "ho_offence_codes",
    "normalise_offence_codes",
    "classify_offence_codes",
    "serious_violence_flags",
]

#: The 14 crime types of data.police.uk street-level files (since May 2013).
POLICE_UK_CRIME_TYPES: tuple[str, ...] = (
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
)

#: data.police.uk crime types counted as serious violence by default.
POLICE_UK_SERIOUS_VIOLENCE: tuple[str, ...] = (
    "Violence and sexual offences",
    "Robbery",
    "Possession of weapons",
)

# Labels seen in older files or other spellings -> the current crime type.
_POLICE_UK_ALIASES = {
    "violent crime": "Violence and sexual offences",
    "violence and sexual offences": "Violence and sexual offences",
    "anti social behaviour": "Anti-social behaviour",
    "antisocial behaviour": "Anti-social behaviour",
    "public disorder and weapons": "Public order",
    "criminal damage & arson": "Criminal damage and arson",
}
_CANON = {t.lower(): t for t in POLICE_UK_CRIME_TYPES}


def police_uk_serious_violence_types(definition: "DefinitionConfig | None" = None) -> tuple[str, ...]:
    """The data.police.uk crime types counted as serious violence under ``definition``.

    >>> police_uk_serious_violence_types()
    ('Violence and sexual offences', 'Robbery', 'Possession of weapons')
    """
    if definition is None:
        return POLICE_UK_SERIOUS_VIOLENCE
    return tuple(definition.police_uk_serious_violence)


def _canonical_crime_type(crime_type: str) -> str | None:
    key = " ".join(str(crime_type).split()).lower()
    if key in _CANON:
        return _CANON[key]
    return _POLICE_UK_ALIASES.get(key)


def police_uk_category(
    crime_type: str, definition: "DefinitionConfig | None" = None
) -> tuple[str, bool] | None:
    """Category and serious-violence flag of one data.police.uk crime type.

    Parameters
    ----------
    crime_type
        The ``Crime type`` of a street-level row (case and spacing are forgiven).
    definition
        The local definition (``config.definition``); the default definition if None.

    Returns
    -------
    (category, serious_violence) or None
        The category is the crime type itself (data.police.uk cannot be split further);
        None for a label that is not one of the 14 crime types (the row is set aside as
        ``unknown_category``).

    Examples
    --------
    >>> police_uk_category("violence and sexual offences")
    ('Violence and sexual offences', True)
    """
    canon = _canonical_crime_type(crime_type)
    if canon is None:
        return None
    return canon, canon in police_uk_serious_violence_types(definition)


def police_uk_categories(
    crime_types: "pd.Series", definition: "DefinitionConfig | None" = None
) -> "pd.DataFrame":
    """Vectorised :func:`police_uk_category` over a Series (fast on categoricals).

    Parameters
    ----------
    crime_types
        The ``Crime type`` column.
    definition
        The local definition; the default if None.

    Returns
    -------
    pandas.DataFrame
        Same index; columns ``category`` (categorical; missing for an unknown type) and
        ``serious_violence`` (bool; False for an unknown type).

    Examples
    --------
    >>> import pandas as pd
    >>> out = police_uk_categories(pd.Series(["Robbery", "Drugs", "Nonsense"]))
    >>> out["category"].tolist(), out["serious_violence"].tolist()
    (['Robbery', 'Drugs', nan], [True, False, False])
    """
    import numpy as np
    import pandas as pd

    s = crime_types if isinstance(crime_types.dtype, pd.CategoricalDtype) else crime_types.astype("category")
    cats = list(s.cat.categories)
    mapped = [_canonical_crime_type(c) for c in cats]
    sv_types = set(police_uk_serious_violence_types(definition))
    canon_cats = sorted({m for m in mapped if m is not None})
    index_of = {c: i for i, c in enumerate(canon_cats)}
    lut = np.array([index_of[m] if m is not None else -1 for m in mapped] + [-1], dtype=np.int32)
    codes = lut[s.cat.codes.to_numpy()]  # code -1 (missing) maps to the last entry, -1
    category = pd.Categorical.from_codes(codes, categories=canon_cats)
    sv_lut = np.array([c in sv_types for c in canon_cats] + [False], dtype=bool)
    serious = sv_lut[codes]
    return pd.DataFrame({"category": category, "serious_violence": serious}, index=crime_types.index)


# ============================================================================================
# Force crime extracts: Home Office offence codes -> SNA categories
# (partner-data section; maintained with sna.io.police_extract)
# ============================================================================================
#: The bundled Home Office offence-code table (CSV in the package).
HO_CODES_PATH = Path(__file__).resolve().parent / "datasets" / "reference" / "ho_offence_codes.csv"

#: Subcategories of the SNA categories (``category`` -> its subcategories).
SNA_SUBCATEGORIES: dict[str, tuple[str, ...]] = {
    "Violence against the person": (
        "Violence with injury",
        "Violence without injury",
        "Death or serious injury by unlawful driving",
    ),
    "Sexual offences": ("Rape", "Other sexual offences"),
}


def ho_offence_codes(path: "str | Path | None" = None) -> "pd.DataFrame":
    """The Home Office offence-code table: code -> SNA category and subcategory.

    The bundled table (``sna/datasets/reference/ho_offence_codes.csv``) is a representative
    subset of the Home Office Counting Rules classifications that an SNA uses: homicide (1 murder,
    4.1 manslaughter, 4.2 infanticide), violence with injury (2 attempted murder, 5D assault
    with intent to cause serious harm, 5E endangering life, 8N assault with injury, 8P racially
    or religiously aggravated, 8S on a constable, and the pre-2012 5A / 8F / 8G), violence without
    injury (3A conspiracy to murder, 3B threats to kill, 105A / 105B / 104 assault without
    injury, 11A cruelty to children, 36 kidnapping, and stalking and harassment 8L / 8M / 8Q /
    8R / 8U, counted here under *without injury*), death or serious injury by unlawful driving
    (4.4, 4.6, 4.8, 4.9, 37.1), robbery (34A business, 34B personal property), sexual offences
    (rape 19C-19H; sexual assault 17A/17B/20A/20B; 21, 22A, 22B, 23, 70-73, 88A-88E),
    possession of weapons (10A-10D, 81, 90: 10D is possession of an article with a blade or
    point) and public order (9A, 9B, 62A, 66). Check it against your force's code list:
    add or change codes with ``definition.offence_codes`` in ``sna.yml``, or pass another CSV
    of the same columns.

    Parameters
    ----------
    path
        Another CSV with the same columns; the bundled table if None.

    Returns
    -------
    pandas.DataFrame
        Columns ``offence_code`` (normalised: ``4.1``, ``8N``), ``description``, ``category``,
        ``subcategory`` (``<NA>`` where none), ``ons_subgroup`` (the ONS offence subgroup, e.g.
        *Stalking and harassment*), ``knife_crime_offence`` (in the Home Office knife-crime
        collection: homicide, attempted murder, threats to kill, assault with injury or intent
        to cause serious harm, robbery, rape, sexual assault).

    Notes
    -----
    Home Office Counting Rules for Recorded Crime (Violence against the person; Sexual
    offences; Robbery; Possession of weapons; Public order), 2021; ONS offence groups.

    Examples
    --------
    >>> t = ho_offence_codes()
    >>> t.set_index("offence_code").loc[["8N", "105A", "34B", "10D"], "category"].tolist()
    ['Violence against the person', 'Violence against the person', 'Robbery', 'Possession of weapons']
    """
    import pandas as pd

    table = pd.read_csv(path or HO_CODES_PATH, dtype=str, keep_default_na=False)
    table["offence_code"] = normalise_offence_codes(table["offence_code"])
    table["subcategory"] = table["subcategory"].replace("", None).astype("string")
    table["knife_crime_offence"] = table["knife_crime_offence"].str.lower().isin(["true", "1", "yes"])
    for c in ("description", "category", "ons_subgroup"):
        table[c] = table[c].astype("string")
    return table


def normalise_offence_codes(codes: "pd.Series") -> "pd.Series":
    """Home Office codes as written by forces -> the table's form.

    Upper case, no spaces; ``/`` read as ``.`` (``4/1`` -> ``4.1``) except before a final
    letter (``34/B`` -> ``34B``); leading zeros dropped
    (``008N`` -> ``8N``, ``034B`` -> ``34B``); a trailing ``.0`` from a spreadsheet dropped
    (``1.0`` -> ``1``); a sub-classification (``105A/1``, ``8N.02``) kept as written (the
    lookup falls back to the part before the dot).

    Examples
    --------
    >>> import pandas as pd
    >>> normalise_offence_codes(pd.Series([" 8n", "4/1", "008N", "1.0", "34/b", None])).tolist()
    ['8N', '4.1', '8N', '1', '34B', <NA>]
    """
    import pandas as pd

    s = codes.astype("string").str.strip().str.upper().str.replace(" ", "", regex=False)
    s = s.str.replace(r"^(\d+)[./](?=[A-Z]$)", r"\1", regex=True)  # 34/B -> 34B
    s = s.str.replace("/", ".", regex=False)
    s = s.str.replace(r"^0+(?=\d)", "", regex=True)
    s = s.str.replace(r"^(\d+)\.0$", r"\1", regex=True)
    return s.mask(s == "").astype("string")


def _override_target(value: str, key: str) -> tuple[str, "str | None"]:
    from .errors import ConfigError
    from .schemas import SNA_CATEGORIES

    for cat in SNA_CATEGORIES:
        if value.strip().lower() == cat.lower():
            return cat, None
    for cat, subs in SNA_SUBCATEGORIES.items():
        for sub in subs:
            if value.strip().lower() == sub.lower():
                return cat, sub
    valid = list(SNA_CATEGORIES) + [s for subs in SNA_SUBCATEGORIES.values() for s in subs]
    raise ConfigError(
        f"offence code override {value!r} is not an SNA category or subcategory "
        f"(valid: {', '.join(valid)})",
        key=key,
    )


def classify_offence_codes(
    codes: "pd.Series",
    definition: "DefinitionConfig | None" = None,
    *,
    table: "pd.DataFrame | None" = None,
) -> "pd.DataFrame":
    """SNA category and subcategory of Home Office offence codes.

    Parameters
    ----------
    codes
        Offence codes as written in a force extract (normalised by
        :func:`normalise_offence_codes`).
    definition
        The local definition: ``offence_codes`` maps a code to an SNA category
        (``"Violence against the person"``) or subcategory (``"Violence with injury"``),
        overriding or extending the table.
    table
        The offence-code table (:func:`ho_offence_codes` by default).

    Returns
    -------
    pandas.DataFrame
        Same index; ``offence_code`` (normalised), ``category``, ``subcategory``,
        ``description`` (from the table), ``knife_crime_offence`` and ``known`` (False for a
        code in neither the table nor the overrides: the row is set aside as
        ``unknown_category``).

    Examples
    --------
    >>> import pandas as pd
    >>> out = classify_offence_codes(pd.Series(["8N", "105A/1", "ZZ9"]))
    >>> out[["category", "subcategory", "known"]].values.tolist()
    [['Violence against the person', 'Violence with injury', True], ['Violence against the person', 'Violence without injury', True], [<NA>, <NA>, False]]
    """
    import pandas as pd

    t = (ho_offence_codes() if table is None else table).set_index("offence_code")
    cat = t["category"].to_dict()
    sub = t["subcategory"].to_dict()
    desc = t["description"].to_dict()
    knife = t["knife_crime_offence"].to_dict()
    for code, value in (definition.offence_codes if definition is not None else {}).items():
        norm = normalise_offence_codes(pd.Series([code])).iloc[0]
        c, s = _override_target(value, f"definition.offence_codes.{code}")
        if s is None and cat.get(norm) == c:
            s = sub.get(norm)
        cat[norm], sub[norm] = c, s
        desc.setdefault(norm, None)
        knife.setdefault(norm, False)
    norm = normalise_offence_codes(codes)
    uniq = pd.unique(norm.dropna().to_numpy(dtype=object))
    resolved = {}
    for u in uniq:
        key = u if u in cat else u.split(".")[0] if u.split(".")[0] in cat else None
        resolved[u] = key
    key = norm.map(resolved).astype("string")
    out = pd.DataFrame(index=codes.index)
    out["offence_code"] = norm
    out["category"] = key.map(cat).astype("string")
    out["subcategory"] = key.map(sub).astype("string")
    out["description"] = key.map(desc).astype("string")
    out["knife_crime_offence"] = key.map(knife).fillna(False).astype(bool)
    out["known"] = key.notna().to_numpy()
    return out


def serious_violence_flags(
    df: "pd.DataFrame", definition: "DefinitionConfig | None" = None
) -> "pd.Series":
    """The serious-violence flag of the local definition, for classified rows.

    A row is serious violence when its ``category`` or ``subcategory`` is one of
    ``definition.serious_violence_categories`` (default: Homicide, Violence with injury,
    Robbery, Sexual offences, Possession of weapons); with ``knife_enabled_only`` only
    knife-enabled rows (``knife`` True) and homicides count; with ``include_domestic: false``
    rows flagged domestic are left out. An unknown knife or domestic flag is not a "yes".

    Parameters
    ----------
    df
        Columns ``category``, ``subcategory`` and, if the definition needs them, ``knife``
        and ``domestic``.
    definition
        The local definition (default definition if None).

    Returns
    -------
    pandas.Series
        ``boolean``, same index, never missing.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"category": ["Violence against the person"] * 2 + ["Public order"],
    ...                      "subcategory": ["Violence with injury", "Violence without injury", None]})
    >>> serious_violence_flags(rows).tolist()
    [True, False, False]
    """
    import pandas as pd

    from .config import DefinitionConfig

    d = definition if definition is not None else DefinitionConfig()
    wanted = {c.lower() for c in d.serious_violence_categories}
    cat = df["category"].astype("string").str.lower()
    sub = df["subcategory"].astype("string").str.lower() if "subcategory" in df else cat.where(cat.isna())
    flag = cat.isin(wanted).fillna(False) | sub.isin(wanted).fillna(False)
    if d.knife_enabled_only:
        knife = df["knife"].astype("boolean").fillna(False) if "knife" in df else False
        flag = flag & (knife | (cat == "homicide").fillna(False))
    if not d.include_domestic and "domestic" in df:
        flag = flag & ~df["domestic"].astype("boolean").fillna(False)
    return pd.Series(flag.to_numpy(dtype=bool), index=df.index, dtype="boolean")
