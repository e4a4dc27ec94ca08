"""The disclosure rules and :func:`~sna.disclosure.apply`: primary suppression (``nhs2018``, ``legacy5``),
secondary suppression (``legacy5``), derived columns, percentages and DSRs, and how a
suppressed cell is shown and described.

How :func:`apply` controls a table
----------------------------------
**nhs2018.** 0 stays 0; 1-7 -> ``*``; any other count ``n`` -> ``5 * floor(n/5 + 1/2)``.
Every count, totals included, is treated on its own unrounded value, which is what
"totals are rounded independently" means. No secondary suppression.

**legacy5.** Primary suppression of 1-5, then secondary suppression over the table's
*equations*: a row is an equation when the table has a total column (its cells sum to
the row total), a column is one when the table has a total row (or its percentages of
the column total are published). A suppressed cell can be recovered exactly by
differencing when it is the only unknown of an equation, or more generally when it is
a *bridge* of the graph whose nodes are the equations and whose edges are the unknown
cells (an unknown in one equation only is an edge to a free node). The algorithm:

1. while some equation has exactly one suppressed cell, suppress the smallest non-zero
   published cell of that equation (interior cells before totals; rows top to bottom,
   then columns left to right);
2. if a suppressed cell is still a bridge (two groups of suppressions joined through it),
   suppress the smallest non-zero cell that joins the two groups, then go back to 1.

It ends when no suppressed cell is a bridge: then each lies on a cycle of unknowns and
any value can be moved around that cycle without changing a published total, so none is
determined by the published figures. One-way tables with a total row are the same
problem with one equation. Bounds (a suppressed pair whose sum is 2) are not protected
further; the rule does not ask it.

**Derived columns** (both rules): a rate, interval or percentage whose numerator (or
percentage denominator) is suppressed is suppressed; a DSR on fewer than 10 events is not
shown (``*``). NHS Digital's guidance exempts standardised rates and intervals from
control, but a rate next to a suppressed count lets a reader rebuild it from the
population, so the public build suppresses it.

References: NHS Digital, *HES Analysis Guide* (suppression of small numbers, 2018 rule);
Hundepool et al. (2012) *Statistical Disclosure Control*, Wiley, ch. 4.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._log import logger, record
from ..errors import DisclosureError
from ._common import (
    ROUND_TO,
    SUPPRESSION_MARKERS,
    count_name_ok,
    norm_name,
    parse_cell,
    to_python,
    tokens,
)
from ._suppression import protect

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "RULES",
    "RULE_ORDER",
    "NHS_FORMATS",
    "strictest",
    "source_rule",
    "published_count",
    "SUPPRESSED",
    "SMALL_COUNTS",
    "DSR_MIN_EVENTS",
    "TOTAL_LABELS",
    "apply",
    "is_suppressed",
    "as_numeric",
    "guess_count_columns",
    "suppression_note",
]


#: The disclosure rules :func:`apply` knows.
RULES: tuple[str, ...] = ("nhs2018", "legacy5", "none")

#: The rules from the least to the most protective. ``nhs2018`` is the strictest: it hides
#: 1-7 and rounds every other count to 5, so no exact count (and no exact margin) is ever
#: published; ``legacy5`` hides 1-5 and publishes the rest exactly.
RULE_ORDER: tuple[str, ...] = ("none", "legacy5", "nhs2018")

#: Source formats whose counts are NHS data (A&E / ECDS, ambulance, hospital episodes): they
#: are always published under ``nhs2018``, whatever table they sit in.
NHS_FORMATS: frozenset[str] = frozenset({"ecds", "ambulance", "hes", "hospital"})


def strictest(rules: Iterable[str]) -> str:
    """The most protective of ``rules`` (:data:`RULE_ORDER`); ``"none"`` for no rules.

    >>> strictest(["legacy5", "nhs2018"]), strictest(["none", "legacy5"]), strictest([])
    ('nhs2018', 'legacy5', 'none')
    """
    out = "none"
    for r in rules:
        check_rule(r)
        if RULE_ORDER.index(r) > RULE_ORDER.index(out):
            out = r
    return out

def source_rule(source) -> str:
    """The rule a source's counts are published under: its configured rule
    (:attr:`sna.config.SourceConfig.default_disclosure`), and ``nhs2018`` whatever that says
    for an NHS source (:data:`NHS_FORMATS`).

    >>> from types import SimpleNamespace as S
    >>> source_rule(S(format="ecds", default_disclosure="legacy5"))
    'nhs2018'
    >>> source_rule(S(format="police_uk", default_disclosure="none"))
    'none'
    """
    if source.format in NHS_FORMATS:
        return strictest([source.default_disclosure, "nhs2018"])
    return source.default_disclosure

def published_count(n: int, rule: str) -> int | None:
    """One count as ``rule`` publishes it: ``None`` when suppressed (1-7 under nhs2018, 1-5
    under legacy5), rounded to the nearest 5 under nhs2018, as it is otherwise.

    >>> published_count(352, "nhs2018"), published_count(6, "nhs2018"), published_count(6, "legacy5")
    (350, None, 6)
    """
    check_rule(rule)
    n = int(n)
    if rule == "none" or n == 0:
        return n
    lo, hi = SMALL_COUNTS[rule]
    if lo <= n <= hi:
        return None
    return _round5(n) if rule == "nhs2018" else n

#: How a suppressed cell is shown in a published table.
SUPPRESSED = "*"

#: Counts suppressed by each rule (inclusive range).
SMALL_COUNTS: dict[str, tuple[int, int]] = {"nhs2018": (1, 7), "legacy5": (1, 5)}

#: A directly standardised rate on fewer events than this is not shown.
DSR_MIN_EVENTS = 10

#: Row labels and column names taken to mean "total" (compared case-insensitively).
TOTAL_LABELS: frozenset[str] = frozenset(
    {"total", "totals", "grand total", "all", "all ages", "all persons", "all people",
     "all areas", "overall"}
)

# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------
def check_rule(rule: object, *, key: str = "rule") -> str:
    if rule not in RULES:
        raise DisclosureError(
            f"unknown disclosure rule {rule!r}; use one of {', '.join(map(repr, RULES))}",
            key=key,
        )
    return str(rule)

def is_total_label(value: object) -> bool:
    return isinstance(value, str) and " ".join(value.split()).casefold() in TOTAL_LABELS

def _round5(v: float) -> int:
    """Round a non-negative whole number to the nearest multiple of 5 (halves cannot occur)."""
    return int(ROUND_TO * math.floor(v / ROUND_TO + 0.5))

# ---------------------------------------------------------------------------------------------
# apply
# ---------------------------------------------------------------------------------------------
def guess_count_columns(table: pd.DataFrame, *, exclude: Iterable[Hashable] = ()) -> list:
    """The columns of ``table`` that look like counts.

    A column is taken as a count when every value present is a whole number >= 0 (or ``*``)
    and its name does not say it is something else: names such as ``age``, ``year``,
    ``rank``, ``decile``, ``x`` and ``y``, or containing a word such as ``rate``, ``per``,
    ``pct``/``percent``/``%``, ``share``, ``dsr``, ``lower``/``upper``/``ci``, ``population``/
    ``pop``, ``id``, ``code``, ``score``, ``mean``, ``change``, ``value``, ``weekday``,
    ``hour`` or ``lsoas``/``areas``/``cells``/``rows`` (counts of areas, not of people or
    events) are not counts.
    So ``n``, ``count``, ``Total``, ``victims``, ``baseline_n`` and the year or age-band
    columns of a cross-tabulation (``2019/20``, ``10-17``) are counts.

    Parameters
    ----------
    table
        The table.
    exclude
        Columns never to take as counts (e.g. the derived columns).

    Returns
    -------
    list
        The count columns, in table order.

    Notes
    -----
    A heuristic, recorded wherever it is used: the public build passes its count columns
    explicitly and records them in the table's metadata; the checker uses this guess (in
    addition to the metadata) so that a column the build forgot is still checked.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"district": ["A", "B"], "n": [3, 12], "rate": [1.5, 6.0],
    ...                   "population": [2000, 2000], "2019/20": [4, 0], "age": [10, 17]})
    >>> guess_count_columns(t)
    ['n', '2019/20']
    """
    import pandas as pd

    skip = set(exclude)
    out = []
    for c in table.columns:
        if c in skip or not count_name_ok(c):
            continue
        s = table[c]
        if isinstance(s, pd.DataFrame):  # duplicated names
            continue
        if pd.api.types.is_bool_dtype(s.dtype):
            continue
        if pd.api.types.is_numeric_dtype(s.dtype):
            vals = s.dropna().to_numpy(dtype=float)
            if len(vals) and (vals >= 0).all() and (vals % 1 == 0).all():
                out.append(c)
            continue
        kinds = [parse_cell(v)[0] for v in s.tolist()]
        nums = [parse_cell(v)[1] for v in s.tolist()]
        if "text" in kinds or "num" not in kinds and "star" not in kinds:
            continue
        if all(x is None or (x >= 0 and x % 1 == 0) for x in nums):
            out.append(c)
    return out

def _normalise_derived(derived, columns) -> dict:
    out: dict = {}
    for d, src in dict(derived or {}).items():
        if isinstance(src, (str, bytes)) or not isinstance(src, Iterable):
            srcs = [src]
        else:
            srcs = list(src)
        if not srcs:
            raise DisclosureError(
                f"derived column {d!r} names no count column; map it to the count (or list "
                "of counts) it is computed from", column=str(d))
        out[d] = srcs
    return out

def _normalise_percentages(percentages) -> dict:
    out: dict = {}
    for p, spec in dict(percentages or {}).items():
        if isinstance(spec, tuple) or isinstance(spec, list):
            if len(spec) != 2:
                raise DisclosureError(
                    f"percentage column {p!r}: give the count column, or (count, denominator)"
                    " with denominator a column or None for the column total",
                    column=str(p))
            out[p] = (spec[0], spec[1])
        else:
            out[p] = (spec, None)
    return out

def _row_name(table, i: int, label_cols: Sequence) -> str:
    import pandas as pd

    parts = [f"row {i + 1}"]
    lab = table.index[i]
    if not isinstance(table.index, pd.RangeIndex):
        parts.append(f"index {lab!r}")
    for c in label_cols[:1]:
        parts.append(f"{c}={table[c].iloc[i]!r}")
    return ", ".join(parts)

def _parse_count_matrix(table, cols, label_cols):
    """Values (float, NaN for missing or *) and a mask of cells already shown as *."""
    import numpy as np
    import pandas as pd

    n = len(table)
    values = np.full((n, len(cols)), np.nan)
    pre = np.zeros((n, len(cols)), dtype=bool)
    for j, c in enumerate(cols):
        s = table[c]
        if pd.api.types.is_bool_dtype(s.dtype):
            raise DisclosureError(f"count column {c!r} holds true/false values, not counts",
                                  column=str(c))
        if pd.api.types.is_numeric_dtype(s.dtype):
            values[:, j] = s.to_numpy(dtype=float, na_value=np.nan)
        else:
            for i, v in enumerate(s.tolist()):
                kind, num = parse_cell(v)
                if kind == "star":
                    pre[i, j] = True
                elif kind == "num":
                    values[i, j] = num
                elif kind == "text":
                    raise DisclosureError(
                        f"count column {c!r} holds {v!r} at {_row_name(table, i, label_cols)};"
                        " counts must be whole numbers (or * for a cell already suppressed)",
                        column=str(c))
        col = values[:, j]
        bad = np.isinf(col)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DisclosureError(f"count column {c!r} is infinite at "
                                  f"{_row_name(table, i, label_cols)}", column=str(c))
        neg = col < 0
        if neg.any():
            i = int(np.flatnonzero(neg)[0])
            raise DisclosureError(
                f"count column {c!r} has a negative count ({col[i]:g}) at "
                f"{_row_name(table, i, label_cols)}; counts must be >= 0", column=str(c))
        frac = ~np.isnan(col) & (col % 1 != 0)
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise DisclosureError(
                f"count column {c!r} has a non-whole value ({col[i]:g}) at "
                f"{_row_name(table, i, label_cols)}; pass rates and other derived values in "
                "derived=, not counts=", column=str(c))
    return values, pre

def _find_totals(table, count_cols, label_cols, totals):
    """Positions of total rows and the total count columns."""
    names = None if totals is None else list(totals)
    if names is None:
        total_cols = [c for c in count_cols if is_total_label(c)]

        def is_total(v):
            return is_total_label(v)
    else:
        total_cols = [c for c in count_cols if c in names]
        wanted = {n.casefold() if isinstance(n, str) else n for n in names}

        def is_total(v):
            key = v.strip().casefold() if isinstance(v, str) else v
            try:
                return key in wanted
            except TypeError:
                return False
    rows = []
    labels = []
    idx_levels = (
        [list(table.index.get_level_values(k)) for k in range(table.index.nlevels)]
    )
    label_values = [table[c].tolist() for c in label_cols]
    for i in range(len(table)):
        cand = [lv[i] for lv in label_values] + [lv[i] for lv in idx_levels]
        hit = next((v for v in cand if is_total(v)), None)
        if hit is not None:
            rows.append(i)
            labels.append(to_python(hit))
    if names is not None:
        found = set(total_cols)
        for i in rows:
            found.update(v for v in [lv[i] for lv in idx_levels] + [lv[i] for lv in label_values]
                         if is_total(v))
        found_cf = {f.strip().casefold() if isinstance(f, str) else f for f in found}
        missing = [n for n in names
                   if (n.strip().casefold() if isinstance(n, str) else n) not in found_cf]
        if missing:
            raise DisclosureError(
                f"totals={missing!r} match neither a count column nor a row label; count "
                f"columns are {list(count_cols)!r}", key="totals")
    return rows, labels, total_cols

def apply(
    table: pd.DataFrame,
    *,
    rule: str = "nhs2018",
    counts: Sequence[Hashable] | None = None,
    derived: Mapping[Hashable, Hashable | Sequence[Hashable]] | None = None,
    totals: Sequence[Hashable] | None = None,
    percentages: Mapping[Hashable, Hashable | tuple[Hashable, Hashable | None]] | None = None,
    dsr: Sequence[Hashable] | None = None,
    decimals: int = 1,
    source: str | None = None,
    column_rules: Mapping[Hashable, str] | None = None,
    row_rules: Sequence[str | None] | None = None,
    margins: bool = False,
) -> pd.DataFrame:
    """Put a table under statistical disclosure control for publication.

    Parameters
    ----------
    table
        The table as analysed: one row per category / area / period, count columns of whole
        numbers >= 0 (a cell already shown as ``*`` is accepted as suppressed), optionally a
        total row and/or a total column. Not modified.
    rule
        ``"nhs2018"`` (default), ``"legacy5"`` or ``"none"`` (see the module docstring).
    counts
        The count columns. ``None`` guesses them (:func:`guess_count_columns`; the guess is
        recorded). Count columns named by ``derived`` or ``percentages`` are added.
    derived
        Columns computed from counts (rates, intervals, percentages, DSRs): ``{column:
        count_column}``, or ``{column: [count, ...]}`` when it depends on several counts of
        the row. A derived cell is suppressed when any of its counts is suppressed.
    totals
        Names of the total rows (matched against the index and the text columns) and total
        columns (matched against the count columns). ``None`` detects them: rows labelled and
        count columns named ``Total``, ``All``, ``Grand total``, ``Overall``... (see
        :data:`TOTAL_LABELS`); ``[]`` means the table has no totals.
    percentages
        Percentage columns to (re)compute from the published figures: ``{column: count}``
        (share of the column total: the total row when there is one, else the total of the
        column rounded as a total) or ``{column: (count, denominator_column)}``. New columns
        are appended. Suppressed with their count or denominator.
    dsr
        Derived columns that are directly standardised rates (or their limits), hidden when
        their count is below :data:`DSR_MIN_EVENTS`. ``None`` takes derived columns whose
        name contains ``dsr``, and every derived column in rows whose ``statistic`` /
        ``method`` / ``indicator`` / ``measure`` text mentions "dsr" or "standardised" (the
        output of :func:`sna.rates.dsr`).
    decimals
        Decimals of recomputed percentages.
    source
        The source(s) the counts come from, recorded in the metadata.
    column_rules
        The rule of each count column whose source has its own rule (``{column: rule}``);
        other count columns take ``rule``. A table that mixes police and NHS counts puts
        each column under its source's rule.
    row_rules
        One rule per row (or ``None``) for tables whose rows come from different sources
        (a row of A&E attendances beside a row of police records): a cell of a row with a
        rule takes that rule, or the strictest (:func:`strictest`) of it and its column's
        rule when ``column_rules`` names the column; a row without one takes its column's.
    margins
        Protect every ``legacy5`` count column as though its total were published even when
        the table has no total row: the rows are categories of one population (age bands,
        sexes, areas) whose total another table of the publication shows (Table A, the sex
        table). Secondary suppression then holds across every table that shares that margin.

    Returns
    -------
    pandas.DataFrame
        A new table, same index, columns and row order (plus any new percentage columns at
        the end). Count and derived columns have ``object`` dtype holding Python numbers and
        ``"*"`` for a suppressed cell; missing stays ``None``. ``attrs["sna"]["disclosure"]``
        holds ``rule``, ``counts``, ``derived``, ``columns`` (every controlled column),
        ``total_rows`` (labels), ``total_columns``, ``suppressed_primary``,
        ``suppressed_secondary``, ``suppressed_derived``, ``dsr_hidden`` and ``source``.
        With ``rule="none"`` the table is returned unchanged (a copy, with the record).

    Raises
    ------
    DisclosureError
        An unknown rule; count, derived or percentage columns that do not exist; negative,
        non-whole or non-numeric counts; ``totals`` names that match nothing; a
        ``legacy5`` table with more than one total row or total column (split it); a table
        that cannot be protected.

    Notes
    -----
    The rules, ``legacy5``'s secondary suppression (the algorithm) and the control of derived
    columns are described in :mod:`sna.disclosure.rules`.

    Examples
    --------
    The NHS rule: 1-7 hidden, the rest rounded to 5; the total rounded on its own value.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"area": ["A", "B", "C", "Total"], "n": [0, 6, 23, 29]})
    >>> out = apply(t, rule="nhs2018", counts=["n"])
    >>> out["n"].tolist()
    [0, '*', 25, 30]
    >>> out.attrs["sna"]["disclosure"]["suppressed_primary"]
    1

    The older rule protects the suppressed 3 from the total by suppressing the next
    smallest cell too:

    >>> t = pd.DataFrame({"area": ["A", "B", "C", "Total"], "n": [3, 9, 40, 52],
    ...                   "rate": [0.6, 1.8, 8.0, 10.4]})
    >>> out = apply(t, rule="legacy5", counts=["n"], derived={"rate": "n"})
    >>> out
        area   n  rate
    0      A   *     *
    1      B   *     *
    2      C  40   8.0
    3  Total  52  10.4
    >>> d = out.attrs["sna"]["disclosure"]
    >>> d["suppressed_primary"], d["suppressed_secondary"], d["suppressed_derived"]
    (1, 1, 2)
    """
    rule = check_rule(rule)
    _check_argument(table)
    out = table.copy()
    out.attrs = copy.deepcopy(dict(table.attrs))
    ctl = _read_control(table, rule, counts, derived, totals, percentages, column_rules,
                        row_rules)
    info = _record_info(ctl, rule, source, column_rules, row_rules, margins)
    if info["rule"] == "none" or not len(table):
        if info["rule"] == "none":
            info["columns"] = []
            if ctl.pct_map:  # open data: the percentages of the counts as they are
                _publish_open_percentages(out, ctl, decimals)
        record(out, "disclosure", info)
        return out
    _control(out, table, ctl, info, dsr, decimals, margins)
    record(out, "disclosure", info)
    return out

@dataclass
class _Control:
    """What :func:`apply` controls in a table: the count, derived, percentage and label
    columns, the counts (NaN where missing or ``*``) and the cells that came in as ``*``,
    the totals, and the rule of every count cell (with the column and row rules as given)."""

    count_cols: list
    derived_map: dict
    pct_map: dict
    guessed: bool
    label_cols: list
    values: Any
    pre: Any
    total_rows: list
    total_labels: list
    total_cols: list
    cell_rules: list
    col_rule_map: dict
    row_rule_list: list

def _read_control(table, rule, counts, derived, totals, percentages, column_rules,
                  row_rules) -> _Control:
    """The columns, counts, totals and cell rules of ``table`` (see :class:`_Control`),
    checked."""
    count_cols, derived_map, pct_map, guessed = _control_columns(table, rule, counts, derived,
                                                                 percentages)
    label_cols = _label_columns(table, count_cols, derived_map, pct_map)
    values, pre = _parse_count_matrix(table, count_cols, label_cols)
    total_rows, total_labels, total_cols = _find_totals(table, count_cols, label_cols, totals)

    cell_rules, col_rule_map, row_rule_list = _cell_rules(table, count_cols, rule, column_rules,
                                                           row_rules)
    return _Control(count_cols, derived_map, pct_map, guessed, label_cols, values, pre,
                    total_rows, total_labels, total_cols, cell_rules, col_rule_map,
                    row_rule_list)

def _record_info(ctl: _Control, rule, source, column_rules, row_rules, margins) -> dict:
    """The ``attrs["sna"]["disclosure"]`` record of :func:`apply`, before suppression: the
    table's rule (the strictest of its cells' when rules are given per column or row), its
    columns and totals, and the suppression counts at 0."""
    if row_rules is None and column_rules is None:
        table_rule = rule
    else:
        table_rule = strictest({r for row in ctl.cell_rules for r in row}
                               | set(ctl.col_rule_map.values()))
    info: dict[str, Any] = {
        "rule": table_rule,
        "counts": list(ctl.count_cols),
        "counts_guessed": ctl.guessed,
        "derived": {d: list(s) for d, s in ctl.derived_map.items()},
        "percentages": {p: [n, d] for p, (n, d) in ctl.pct_map.items()},
        "columns": [*ctl.count_cols, *ctl.derived_map, *ctl.pct_map],
        "total_rows": ctl.total_labels,
        "total_columns": list(ctl.total_cols),
        "suppressed_primary": 0,
        "suppressed_secondary": 0,
        "suppressed_derived": 0,
        "dsr_hidden": 0,
        "source": source,
    }
    if column_rules is not None:
        info["column_rules"] = {str(c): ctl.col_rule_map[c] for c in column_rules}
    if column_rules is not None or row_rules is not None:
        info["base_rule"] = rule
    if row_rules is not None:
        info["row_rules"] = ctl.row_rule_list
    if margins:
        info["margins"] = True
    return info

def _publish_open_percentages(out, ctl: _Control, decimals) -> None:
    """The percentage columns of a table under ``none``, from its counts as they are."""
    import numpy as np

    _publish_percentages(out, ctl.pct_map, {c: j for j, c in enumerate(ctl.count_cols)},
                         ctl.values, ctl.pre, ctl.values,
                         np.zeros(ctl.values.shape, dtype=bool), ctl.total_rows,
                         ctl.cell_rules, decimals)

def _control(out, table, ctl: _Control, info, dsr, decimals, margins) -> None:
    """Suppress (primary, then secondary) and write the published counts, derived columns
    and percentages into ``out``; the numbers of cells suppressed and hidden into ``info``."""
    label_cols, count_cols, values = ctl.label_cols, ctl.count_cols, ctl.values
    row_keys = ([str(v) for v in table[label_cols[0]].tolist()] if label_cols
                else [str(v) for v in table.index.tolist()])
    primary, suppressed = _suppress(ctl.cell_rules, values, ctl.pre, ctl.total_rows,
                                    ctl.total_cols, count_cols, ctl.pct_map, info, margins,
                                    row_keys)
    info["suppressed_primary"] = int(primary.sum())
    info["suppressed_secondary"] = int((suppressed & ~primary).sum())
    published = _publish_counts(out, count_cols, values, suppressed, ctl.cell_rules)
    col_pos = {c: j for j, c in enumerate(count_cols)}
    n_derived, n_dsr = _publish_derived(out, table, ctl.derived_map, dsr, col_pos, values,
                                        suppressed, published, ctl.cell_rules)
    n_derived += _publish_percentages(out, ctl.pct_map, col_pos, values, ctl.pre, published,
                                      suppressed, ctl.total_rows, ctl.cell_rules, decimals)
    info["suppressed_derived"] = n_derived
    info["dsr_hidden"] = n_dsr
    logger.info("disclosure %s: %d primary, %d secondary, %d derived suppressed, %d DSR hidden",
                info["rule"], info["suppressed_primary"], info["suppressed_secondary"],
                n_derived, n_dsr)

def _check_argument(table) -> None:
    """Refuse what is not a DataFrame, and duplicated column names."""
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise DisclosureError(
            f"apply() needs a pandas DataFrame, not {type(table).__name__}; wrap a Series with "
            ".to_frame()")
    if table.columns.duplicated().any():
        dup = list(table.columns[table.columns.duplicated()])
        raise DisclosureError(f"the table has duplicated column names {dup!r}; rename them",
                              column=str(dup[0]))

def _control_columns(table, rule, counts, derived, percentages):
    """The count columns (given, or guessed, plus those the derived columns use), the derived
    and the percentage columns, and whether the counts were guessed."""
    cols = list(table.columns)
    derived_map = _normalise_derived(derived, cols)
    pct_map = _normalise_percentages(percentages)
    for d in derived_map:
        if d not in cols:
            raise DisclosureError(f"derived column {d!r} is not in the table; columns are "
                                  f"{cols!r}", column=str(d))
    for p in pct_map:
        if p in derived_map:
            raise DisclosureError(f"column {p!r} is given both in derived= and percentages=",
                                  column=str(p))

    guessed = counts is None
    if counts is None:
        count_cols = guess_count_columns(table, exclude=[*derived_map, *pct_map])
    else:
        if isinstance(counts, (str, bytes)):
            counts = [counts]
        count_cols = list(dict.fromkeys(counts))
    implied = [c for srcs in derived_map.values() for c in srcs]
    implied += [x for num, den in pct_map.values() for x in (num, den) if x is not None]
    for c in implied:
        if c not in count_cols:
            if c not in cols:
                raise DisclosureError(
                    f"a derived or percentage column refers to count column {c!r}, which is "
                    f"not in the table; columns are {cols!r}", column=str(c))
            count_cols.append(c)
            logger.info("disclosure: %r added to the count columns (a derived column uses it)", c)
    count_cols = [c for c in cols if c in set(count_cols)] + [
        c for c in count_cols if c not in cols]
    missing = [c for c in count_cols if c not in cols]
    if missing:
        raise DisclosureError(f"count column(s) {missing!r} not in the table; columns are "
                              f"{cols!r}", column=str(missing[0]))
    for d in derived_map:
        if d in count_cols:
            raise DisclosureError(f"column {d!r} is given both as a count and as derived",
                                  column=str(d))
    if not count_cols and rule != "none" and len(table):
        raise DisclosureError(
            "no count columns found to control" + (" (none looks like a count)" if guessed
                                                   else "") + "; pass counts=[...]")
    return count_cols, derived_map, pct_map, guessed

def _label_columns(table, count_cols, derived_map, pct_map) -> list:
    """The text columns that label the rows (searched for total rows)."""
    import pandas as pd

    return [c for c in table.columns if c not in count_cols and c not in derived_map
            and c not in pct_map and (pd.api.types.is_object_dtype(table[c].dtype)
                                      or pd.api.types.is_string_dtype(table[c].dtype)
                                      or isinstance(table[c].dtype, pd.CategoricalDtype))]

def _cell_rules(table, count_cols, rule, column_rules, row_rules):
    """The rule of every count cell (a list of rows of rule names), the rule of each count
    column as given, and the row rules as given (``None`` where a row has none)."""
    n = len(table)
    col_rule_map = {}
    for c in count_cols:
        r = (column_rules or {}).get(c, rule)
        col_rule_map[c] = check_rule(r, key=f"column_rules.{c}")
    unknown = [c for c in (column_rules or {}) if c not in col_rule_map]
    if unknown:
        raise DisclosureError(f"column_rules names {unknown!r}, which are not count columns; "
                              f"count columns are {list(count_cols)!r}", key="column_rules")
    rows: list[str | None] = [None] * n
    if row_rules is not None:
        rows = list(row_rules)
        if len(rows) != n:
            raise DisclosureError(f"row_rules has {len(rows)} rules for a table of {n} rows",
                                  key="row_rules")
        rows = [None if r is None else check_rule(r, key="row_rules") for r in rows]
    explicit = dict(column_rules or {})
    cells = [[col_rule_map[c] if not r else strictest([r] + ([explicit[c]] if c in explicit else []))
              for c in count_cols] for r in rows]
    return cells, col_rule_map, rows


def _suppress(cell_rules, values, pre, total_rows, total_cols, count_cols, pct_map, info,
              margins=False, row_keys=None):
    """Primary suppression of each cell's rule's small counts (and cells that came in as
    ``*``), then secondary suppression of the ``legacy5`` cells; (primary, suppressed) masks.

    A cell under ``nhs2018`` is rounded, so it is not an exact figure in any equation: the
    equations of the ``legacy5`` cells treat it as unknown, and never suppress it further.
    """
    import numpy as np

    n_rows = len(values)
    rules = np.array(cell_rules, dtype=object).reshape(values.shape)
    lo = np.vectorize(lambda r: SMALL_COUNTS.get(r, (1, 0))[0], otypes=[float])(rules)
    hi = np.vectorize(lambda r: SMALL_COUNTS.get(r, (1, 0))[1], otypes=[float])(rules)
    isnan = np.isnan(values)
    primary = pre | (~isnan & (values >= lo) & (values <= hi))
    suppressed = primary.copy()
    legacy = rules == "legacy5"
    if legacy.any():
        if len(total_rows) > 1 or len(total_cols) > 1:
            raise DisclosureError(
                f"legacy5 secondary suppression needs at most one total row and one total "
                f"column; this table has total rows {info['total_rows']!r} and total columns "
                f"{list(total_cols)!r}; publish one table per group (or name the real totals "
                "with totals=[...])", key="totals")
        col_eq = np.zeros(len(count_cols), dtype=bool)
        if (total_rows or margins) and n_rows > 1:  # a lone total row sums nothing
            col_eq[:] = True
        for num, den in pct_map.values():
            if den is None and n_rows > 1:
                col_eq[count_cols.index(num)] = True
        rounded = rules == "nhs2018"
        protected = protect(
            values, suppressed & ~rounded, isnan | rounded,
            total_row=total_rows[0] if total_rows else None,
            total_col=count_cols.index(total_cols[0]) if total_cols else None,
            row_eq=bool(total_cols) and len(count_cols) > 1, col_eq=col_eq, row_keys=row_keys,
        )
        suppressed = suppressed | protected
    return primary, suppressed


def _publish_counts(out, count_cols, values, suppressed, cell_rules):
    """Write the published counts into ``out``; their values (NaN where not shown)."""
    import numpy as np
    import pandas as pd

    published = np.full(values.shape, np.nan)
    for j, c in enumerate(count_cols):
        cells: list[Any] = []
        for i in range(len(values)):
            v = values[i, j]
            if suppressed[i, j]:
                cells.append(SUPPRESSED)
            elif np.isnan(v):
                cells.append(None)
            else:
                p = _round5(v) if cell_rules[i][j] == "nhs2018" and v != 0 else int(v)
                published[i, j] = p
                cells.append(p)
        out[c] = pd.Series(cells, index=out.index, dtype=object)
    return published

#: Words of a derived column's name that say it is proportional to its count (a rate, a
#: share, a representation index, their interval limits): under ``nhs2018`` it is restated
#: on the rounded count, so it cannot be multiplied back to the exact one.
_PROPORTIONAL_TOKENS = {"rate", "rates", "per", "share", "proportion", "representation", "dsr",
                        "lowercl", "uppercl", "lower", "upper", "ci", "value", "ratio",
                        "percent", "percentage", "%"}

_NOT_PROPORTIONAL_TOKENS = {"change", "pct", "baseline", "mean", "p", "pvalue", "difference",
                            "diff", "gistar", "score"}


def _proportional(name) -> bool:
    toks = set(tokens(name))
    return bool(toks & _PROPORTIONAL_TOKENS) and not toks & _NOT_PROPORTIONAL_TOKENS


def _decimals_of(v: float) -> int:
    text = repr(float(v))
    if "e" in text or "." not in text:
        return 0
    return len(text.split(".", 1)[1].rstrip("0"))


def _publish_derived(out, table, derived_map, dsr, col_pos, values, suppressed, published=None,
                     cell_rules=None):
    """Write the derived columns into ``out``, suppressed with their counts (and DSRs on few
    events hidden); (cells suppressed, DSR cells hidden).

    A proportional derived value (:func:`_proportional`: a rate, share, index or interval
    limit) of counts under ``nhs2018`` is restated on the rounded counts (value × rounded /
    exact, to the value's decimals), so the published count and the published rate agree
    and the rate does not give back the exact count. Other derived values of rounded counts
    (a change, a p-value) are left as computed: compute them from published counts
    (:meth:`sna.chapter.Chapter.published_count`) when they matter.
    """
    import numpy as np
    import pandas as pd

    dsr_cols = _dsr_mask(table, derived_map, dsr)
    n_derived = n_dsr = 0
    for d, srcs in derived_map.items():
        idx = [col_pos[s] for s in srcs]
        rescale = np.ones(len(values))
        if published is not None and cell_rules is not None and _proportional(d):
            for i in range(len(values)):
                if all(cell_rules[i][k] == "nhs2018" for k in idx):
                    raw = np.nansum(values[i, idx])
                    pub = np.nansum(published[i, idx])
                    if raw > 0 and not np.isnan(published[i, idx]).all():
                        rescale[i] = pub / raw
        hide = suppressed[:, idx].any(axis=1)
        raw = np.where(np.isnan(values[:, idx]), 0, values[:, idx]).sum(axis=1)
        small = dsr_cols[d] & (raw < DSR_MIN_EVENTS) & ~hide & ~np.isnan(values[:, idx]).all(axis=1)
        cells = []
        for i, v in enumerate(table[d].tolist()):
            if hide[i] or small[i]:
                if not (isinstance(v, str) and v == SUPPRESSED):
                    if hide[i]:
                        n_derived += 1
                    else:
                        n_dsr += 1
                cells.append(SUPPRESSED)
            elif rescale[i] != 1 and isinstance(to_python(v), (int, float)) \
                    and not isinstance(to_python(v), bool):
                x = float(to_python(v))
                cells.append(round(float(x * rescale[i]), _decimals_of(x)))
            else:
                cells.append(to_python(v))
        out[d] = pd.Series(cells, index=out.index, dtype=object)
    return n_derived, n_dsr

def _publish_percentages(out, pct_map, col_pos, values, pre, published, suppressed, total_rows,
                         cell_rules, decimals) -> int:
    """Write the percentage columns into ``out``, from the published figures; the number of
    cells suppressed with their count or denominator."""
    import numpy as np
    import pandas as pd

    n_rows = len(values)
    n_derived = 0
    for p, (num, den) in pct_map.items():
        j = col_pos[num]
        cells = []
        if den is None:
            if total_rows:
                t = total_rows[0]
                den_vals = np.full(n_rows, published[t, j])
                den_supp = np.full(n_rows, suppressed[t, j])
            else:  # the column total, rounded as a total; unknown if a cell came in as *
                raw_total = float(np.nansum(values[:, j]))
                col_rule = strictest(r[j] for r in cell_rules)
                tot = _round5(raw_total) if col_rule == "nhs2018" and raw_total else raw_total
                den_vals = np.full(n_rows, tot)
                den_supp = np.full(n_rows, bool(pre[:, j].any()))
        else:
            k = col_pos[den]
            den_vals, den_supp = published[:, k], suppressed[:, k]
        for i in range(n_rows):
            if suppressed[i, j] or den_supp[i]:
                cells.append(SUPPRESSED)
                n_derived += 1
            elif np.isnan(published[i, j]) or np.isnan(den_vals[i]) or den_vals[i] == 0:
                cells.append(None)
            else:
                cells.append(round(float(100.0 * published[i, j] / den_vals[i]), decimals))
        out[p] = pd.Series(cells, index=out.index, dtype=object)
    return n_derived

def _dsr_mask(table, derived_map, dsr):
    """For each derived column, a boolean array: True in rows where it is a DSR."""
    import numpy as np

    n = len(table)
    out = {}
    explicit = None if dsr is None else set(dsr)
    stat_rows = np.zeros(n, dtype=bool)
    if dsr is None:
        for c in table.columns:
            if norm_name(c) in ("statistic", "method", "indicator", "measure"):
                txt = table[c].astype(str).str.casefold()
                stat_rows |= (txt.str.contains("dsr", regex=False)
                              | txt.str.contains("standardi", regex=False)).to_numpy()
    for d in derived_map:
        if explicit is not None:
            out[d] = np.full(n, d in explicit)
        elif "dsr" in tokens(d) or "dsr" in norm_name(d):
            out[d] = np.ones(n, dtype=bool)
        else:
            out[d] = stat_rows.copy()
    if explicit is not None:
        unknown = [d for d in explicit if d not in derived_map]
        if unknown:
            raise DisclosureError(
                f"dsr={unknown!r}: DSR columns must also be given in derived= (with their count)",
                key="dsr")
    return out

# ---------------------------------------------------------------------------------------------
# small public helpers
# ---------------------------------------------------------------------------------------------
def is_suppressed(table: pd.DataFrame) -> pd.DataFrame:
    """A boolean table: True where a cell is shown as ``*``.

    Examples
    --------
    >>> import pandas as pd
    >>> is_suppressed(pd.DataFrame({"n": ["*", 10]}))["n"].tolist()
    [True, False]
    """
    return table.map(lambda v: isinstance(v, str) and v.strip() in SUPPRESSION_MARKERS)

def as_numeric(table: pd.DataFrame) -> pd.DataFrame:
    """A copy for charts: controlled columns numeric, ``*`` as ``NaN``.

    Examples
    --------
    >>> import pandas as pd
    >>> as_numeric(pd.DataFrame({"area": ["A", "B"], "n": ["*", 10]}))["n"].tolist()
    [nan, 10.0]
    """
    import pandas as pd

    out = table.copy()
    info = table.attrs.get("sna", {}).get("disclosure", {})
    cols = info.get("columns") or [c for c in table.columns if is_suppressed(table[[c]]).any().any()]
    for c in cols:
        if c in out.columns:
            out[c] = pd.to_numeric(out[c].map(lambda v: None if isinstance(v, str)
                                              and v.strip() in SUPPRESSION_MARKERS else v),
                                   errors="coerce").astype(float)
    return out

_NOTES = {
    "nhs2018": (
        "Counts from 1 to 7 are shown as * and others rounded to the nearest 5 (NHS Digital "
        "rule, 2018). Totals are rounded independently, so they may differ from the sum of "
        "the rounded figures; percentages are calculated from the rounded figures. Rates and "
        "intervals whose count is suppressed are not shown, nor are standardised rates based "
        "on fewer than 10 events."
    ),
    "legacy5": (
        "Counts from 1 to 5 are shown as *, and further cells are shown as * where needed so "
        "that no suppressed count can be worked out from the totals, in this table or in "
        "others (secondary suppression). "
        "Rates and intervals whose count is suppressed are not shown, nor are standardised "
        "rates based on fewer than 10 events."
    ),
    "none": (
        "No disclosure control is applied: the figures come from open data that is already "
        "anonymised (data.police.uk) and are shown unchanged."
    ),
}

def suppression_note(rule: str) -> str:
    """The sentence(s) a report prints under a table published under ``rule``.

    Examples
    --------
    >>> suppression_note("legacy5").split(",")[0]
    'Counts from 1 to 5 are shown as *'
    >>> suppression_note("nhs2019")
    Traceback (most recent call last):
    ...
    sna.errors.DisclosureError: unknown disclosure rule 'nhs2019'; use one of 'nhs2018', 'legacy5', 'none' (key 'rule')
    """
    return _NOTES[check_rule(rule)]
