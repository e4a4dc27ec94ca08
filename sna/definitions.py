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

Other sources (force extracts: Home Office offence codes; ambulance; A&E) add their mappings
to this module with the same shape: a function from the source's own label to
``(category, subcategory, serious_violence)`` under a :class:`~sna.config.DefinitionConfig`.

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
