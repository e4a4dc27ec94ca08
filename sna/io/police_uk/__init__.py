"""The data.police.uk family: street-level crime, outcomes, stop and search; read, detect, clean.

data.police.uk publishes one CSV per force and month, in a zip archive laid out as
``YYYY-MM/YYYY-MM-<force>-street.csv`` (and ``-outcomes.csv``, ``-stop-and-search.csv``).
:func:`read_police_uk` reads street files from a folder tree, such an archive, a glob or a list,
for one or many forces. Outcomes and stop-and-search files are recognised (by name, or by
header when the name is not the published one) and read only by their own functions
:func:`read_police_uk_outcomes` and :func:`read_police_uk_stop_search`.

The reader streams: files are parsed one at a time with pyarrow, only the needed columns are
kept, and text columns become categoricals (dictionary-encoded), so memory grows with the
number of distinct values, not with the text. Rows are never de-duplicated: in this data a
byte-identical row is a separate real record (anti-social behaviour at the same anonymised map
point in the same month), and a ``Crime ID`` is not a key (it repeats, and is blank on every
anti-social behaviour row).

Every row keeps its ``file`` and ``line`` (the physical line in the file; the header is line
1), so a set-aside row can be found again.

Cleaning (:func:`clean_police_uk`) runs one task per street file on an engine
(:func:`sna.engine.run_tasks`), then sends the rows that need more than a lookup through the
shared cleaning path of :mod:`sna.clean`.
"""

from __future__ import annotations

from ._clean import clean_police_uk, clean_police_uk_file, police_uk_file_tasks
from ._read import (
    CRIME_TYPES,
    OUTCOMES_COLUMNS,
    STOP_SEARCH_COLUMNS,
    STREET_COLUMNS,
    detect_police_uk,
    file_kind,
    file_month,
    iter_police_uk,
    one_file_per_month,
    police_uk_files,
    read_file,
    read_police_uk,
    read_police_uk_outcomes,
    read_police_uk_stop_search,
)

__all__ = [
    "STREET_COLUMNS",
    "OUTCOMES_COLUMNS",
    "STOP_SEARCH_COLUMNS",
    "CRIME_TYPES",
    "read_police_uk",
    "read_police_uk_outcomes",
    "read_police_uk_stop_search",
    "police_uk_files",
    "file_kind",
    "file_month",
    "one_file_per_month",
    "iter_police_uk",
    "detect_police_uk",
    "clean_police_uk",
    "clean_police_uk_file",
    "police_uk_file_tasks",
]
