"""Statistical disclosure control for the public build, and the output checker.

Partners may see everything; the public may not. Health data carry the NHS Digital rule,
force extracts and intervention data carry victims' and participants' details, and a small
count in a small area can identify a child. This module makes a public table safe by
construction (:func:`apply`, :func:`write_public_table`) and proves a finished output folder
is safe (:func:`check_outputs`, ``sna check-outputs DIR``).

The rules (``rule=``)
---------------------
``"nhs2018"``
    NHS Digital's rule for hospital (HES) and A&E (ECDS) data below national level, in force
    since September 2018: 0 stays 0, **1-7 is shown as** ``*``, every other count is
    **rounded to the nearest 5**. Totals are rounded independently from the unrounded totals
    (so a total need not equal the sum of its rounded parts); percentages, when asked for, are
    recomputed from the rounded figures. No secondary suppression is needed: rounding already
    hides the exact values.
``"legacy5"``
    The older rule: **1-5 is shown as** ``*``, plus **secondary suppression** so that no
    suppressed value can be recovered from the row or column totals (see
    :mod:`~sna.disclosure.rules` for the algorithm).
``"none"``
    No control: open data (data.police.uk is already anonymised). The table is unchanged.

In both controlled rules a rate, interval or percentage whose numerator count is suppressed
is suppressed too, and a directly standardised rate (DSR) on fewer than 10 events is not
shown.

Across the publication
----------------------
The rule follows the **source** of each count (:data:`NHS_FORMATS`: A&E, ambulance and
hospital counts are always ``nhs2018``); ``nhs2018`` is the strictest rule
(:data:`RULE_ORDER`, :func:`strictest`). A table that mixes sources gives :func:`apply` a
rule per column (``column_rules``) and per row (``row_rules``); a cell takes the strictest
of its column's and its row's. ``margins=True`` protects every ``legacy5`` column as though
its total were published (it usually is, in another table), so secondary suppression holds
across the tables that share a margin; ties are broken by the row's label, so the same
counts in another order hide the same cells. Percentages (``percentages=``) are computed
from the published counts; proportional derived values (rates, shares, indices) of NHS
counts are restated on the rounded counts. :func:`published_count` gives one count as a
rule publishes it, for text and figures.

How a suppressed cell looks
---------------------------
:func:`apply` returns a new DataFrame in which every controlled column (the counts and the
columns derived from them) has ``object`` dtype holding Python numbers and the string
``"*"`` (:data:`SUPPRESSED`) for a suppressed cell; missing values stay missing (``None``).
So CSV, XLSX and HTML written from it show ``*`` with no further work. What was done is in
``result.attrs["sna"]["disclosure"]`` (rule, columns, totals, numbers of cells suppressed).
:func:`is_suppressed` gives the boolean mask and :func:`as_numeric` a copy with ``NaN`` in
place of ``*`` for charts.

The metadata convention (what the public build writes, what the checker reads)
-------------------------------------------------------------------------------
Every public table file ``tables/<stem>.csv`` has a sidecar ``tables/<stem>.meta.json``
(:func:`write_public_table` writes both)::

    {"table": "<name>", "rule": "nhs2018", "counts": ["n", "Total"],
     "derived": {"rate": ["n"]}, "total_rows": ["Total"], "total_columns": ["Total"], ...}

A file holding several tables (a workbook's sheets, a GeoPackage's layers) has one sidecar
``<stem>.meta.json`` of the form ``{"tables": [{"table": "<sheet>", ...}, ...]}``
(:func:`write_public_workbook`). The checker also reads ``manifest.json`` (key
``"disclosure"``: ``{"default_rule": ..., "tables": [{"file": "tables/x.csv", ...}]}``), the
chapter sidecars ``chapters/*.json`` written by :class:`sna.chapter.Chapter` (their
``tables`` and ``maps`` entries with ``file`` and ``disclosure``), the ``sna`` metadata of
executed notebooks' table outputs, and ``data-sna-*`` attributes on an HTML ``<table>``
(:func:`html_table`). Tables without metadata are checked under a default rule with the
count columns guessed (:func:`guess_count_columns`).

The package: :mod:`~sna.disclosure.rules` (the rules and :func:`apply`),
:mod:`~sna.disclosure.publish` (public tables and their metadata) and
:mod:`~sna.disclosure.checker` (:func:`check_outputs`, over ``_reading``, ``_prose`` and
``_records``); secondary suppression is in ``sna.disclosure._suppression``. ``sna check-outputs`` is :func:`sna.cli.main`'s front to
:func:`check_outputs`.

References
----------
NHS Digital, *Hospital Episode Statistics (HES) Analysis Guide*, section on the suppression
of small numbers (the 2018 rule, which also covers ECDS). Government Statistical Service,
*Disclosure control for tables produced from administrative sources*. Hundepool A. et al.
(2012) *Statistical Disclosure Control*, Wiley, ch. 4 (cell suppression). The methods page
of the documentation (*Disclosure control*) summarises the rules this module implements.

Examples
--------
>>> import pandas as pd
>>> from sna import disclosure
>>> t = pd.DataFrame({"district": ["Ashfield", "Bassetlaw", "Total"], "n": [3, 48, 51]})
>>> disclosure.apply(t, rule="nhs2018", counts=["n"])
    district   n
0   Ashfield   *
1  Bassetlaw  50
2      Total  50
>>> disclosure.suppression_note("nhs2018").split(".")[0]
'Counts from 1 to 7 are shown as * and others rounded to the nearest 5 (NHS Digital rule, 2018)'
"""

from __future__ import annotations

from ..errors import DisclosureError  # noqa: F401 - sna.disclosure.DisclosureError, as before
from . import checker, publish, rules
from .checker import *  # noqa: F403 - each module's __all__ is the list of its public names
from .publish import *  # noqa: F403
from .rules import *  # noqa: F403

__all__ = [*rules.__all__, *publish.__all__, *checker.__all__]
