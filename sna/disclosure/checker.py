"""The output checker, :func:`~sna.disclosure.check_outputs`: every table of a finished output folder (CSV,
XLSX, HTML, executed notebooks, GeoPackages) checked against its rule and metadata, and
record-level data, identifiers and coordinates looked for.

This module decides each table's rule and checks its counts (small, unrounded, derived beside
a suppressed count, given away by differencing, within a table and across tables); the
reading of the folder is in ``sna.disclosure._reading``, the check of counts written in the
text in ``sna.disclosure._prose`` and the checks for record-level data (identifiers,
coordinates, one row per event) in ``sna.disclosure._records``.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._log import logger
from ..errors import DisclosureError
from ._common import (
    ROUND_TO,
    Finding,
    Table,
    count_name_ok,
    looks_derived,
    norm_name,
    parse_cell,
)
from ._prose import check_prose, docx_text
from ._reading import DATA_SUFFIXES, READERS, MetaIndex
from ._records import check_coordinates, check_identifiers, check_record_level
from ._suppression import Equations
from .rules import RULES, SMALL_COUNTS, check_rule, is_total_label, source_rule, strictest

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "FINDING_COLUMNS",
    "check_outputs",
]


#: The columns of the checker's findings table.
FINDING_COLUMNS: list[str] = [
    "file", "table", "row", "label", "column", "value", "check", "problem", "rule",
]

@dataclass
class _Context:
    root: Path
    default_rule: str
    patterns: dict[str, str]
    meta: MetaIndex
    source_rules: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    tables: int = 0
    files: int = 0
    skipped: list[str] = field(default_factory=list)
    columns: list = field(default_factory=list)  # count columns, for the cross-table check

def _table_rule(ctx: _Context, t: Table, single: bool) -> tuple[str, dict | None, str | None]:
    """(rule to check under, metadata record or None, the rule the metadata claimed)."""
    rec = t.inline or ctx.meta.find(t.file, t.name, t.label, single)
    if rec is None and not single:  # a sheet copied from a CSV: the CSV's metadata
        rec = ctx.meta.find(t.alias, None, None, True) if t.alias else ctx.meta.by_stem.get(t.name)
    claimed = rec.get("rule") if rec else None
    if rec and claimed in RULES:
        return claimed, rec, claimed
    rule = None
    srcs = [ctx.source_rules[x] for x in (rec or {}).get("sources") or [] if x in ctx.source_rules]
    if srcs:  # what the config says for the table's sources; nhs2018 hides the most counts
        rule = next(r for r in ("nhs2018", "legacy5", "none") if r in srcs)
    for pat, r in ctx.patterns.items():
        if fnmatch.fnmatch(t.file, pat) or fnmatch.fnmatch(f"{t.file}::{t.name}", pat):
            rule = r
            break
    return rule or ctx.default_rule, rec, claimed

def _check_table(ctx: _Context, t: Table, single: bool) -> None:
    ctx.tables += 1
    rule, rec, claimed = _table_rule(ctx, t, single)
    add = ctx.findings.append

    srcs = [x for x in (rec or {}).get("sources") or [] if x in ctx.source_rules]
    if claimed in RULES and srcs:
        need = strictest(ctx.source_rules[x] for x in srcs)
        if strictest([claimed, need]) != claimed:
            add(Finding(t.file, t.name, None, None, None, claimed, "metadata",
                        f"the table holds counts of {', '.join(srcs)}, whose rule is {need}, "
                        f"but was published under {claimed}", claimed))
    if claimed is not None and claimed not in RULES:
        add(Finding(t.file, t.name, None, None, None, None, "metadata",
                    f"the table was not put under disclosure control (its metadata says "
                    f"{claimed!r}); checked under {rule}", rule))
    width = max([len(t.header)] + [len(r) for r in t.rows])
    header = list(t.header) + [""] * (width - len(t.header))
    names = []
    for k, h in enumerate(header):
        h = str(h).strip()
        names.append(h if h else f"column {k + 1}")
    rows = [list(r) + [None] * (width - len(r)) for r in t.rows]
    parsed = [[parse_cell(v) for v in r] for r in rows]
    n = len(rows)
    if n == 0:
        return

    # which columns are counts
    kinds_by_col = [[p[j][0] for p in parsed] for j in range(width)]
    label_col = next((j for j in range(width)
                      if kinds_by_col[j].count("text") > n / 2), None)

    def row_label(i):
        return None if label_col is None else rows[i][label_col]

    meta_counts = set(rec["counts"] or []) if rec else set()
    not_counts = set(rec.get("not_counts") or []) if rec else set()
    derived = dict(rec["derived"]) if rec else {}
    count_cols = []
    for j, name in enumerate(header):
        if name in not_counts or names[j] in derived:
            continue
        ks = kinds_by_col[j]
        if (name in meta_counts and "num" in ks) or ("star" in ks and "text" not in ks):
            count_cols.append(j)
            continue
        if "text" in ks or "num" not in ks or not count_name_ok(name):
            continue
        nums = [p[j][1] for p in parsed if p[j][0] == "num"]
        if all(x >= 0 and x % 1 == 0 for x in nums):
            count_cols.append(j)
    if not derived and len(count_cols) == 1:
        only = header[count_cols[0]]
        derived = {names[j]: [only] for j in range(width)
                   if j not in count_cols and looks_derived(header[j])
                   and "text" not in kinds_by_col[j]}

    # the rule of each cell: the table's, or its column's and its row's (a mixed table)
    col_rules = {norm_name(k): v for k, v in ((rec or {}).get("column_rules") or {}).items()}
    row_rules = (rec or {}).get("row_rules")
    base = ((rec or {}).get("base_rule") or rule) if (col_rules or row_rules) else rule

    def cell_rule(i: int, j: int) -> str:
        explicit = col_rules.get(norm_name(header[j]))
        r = row_rules[i] if row_rules and i < len(row_rules) else None
        if r in RULES:
            return strictest([r] + ([explicit] if explicit else []))
        return explicit or base

    cell_rules = [[cell_rule(i, j) if j in count_cols else rule for j in range(width)]
                  for i in range(n)]
    for j in count_cols:
        _CrossColumn.collect(ctx, t, names[j], [parsed[i][j] for i in range(n)],
                             [cell_rules[i][j] for i in range(n)],
                             [row_label(i) for i in range(n)], [rows[i][j] for i in range(n)])

    # small and unrounded counts
    if any(r != "none" for row in cell_rules for r in row):
        for j in count_cols:
            for i in range(n):
                kind, x = parsed[i][j]
                r = cell_rules[i][j]
                if kind != "num" or r == "none":
                    continue
                lo, hi = SMALL_COUNTS[r]
                if lo <= x <= hi:
                    add(Finding(t.file, t.name, i + 1, row_label(i), names[j], rows[i][j],
                                "small_count", f"unsuppressed small count ({lo}-{hi} must be "
                                f"shown as *)", r))
                elif r == "nhs2018" and x != 0 and (x % 1 != 0 or x % ROUND_TO != 0):
                    add(Finding(t.file, t.name, i + 1, row_label(i), names[j], rows[i][j],
                                "unrounded", "count not rounded to a multiple of 5", r))

        # derived values shown next to a suppressed count
        col_of = {names[j]: j for j in range(width)}
        col_of.update({h: j for j, h in enumerate(header) if h})
        for d, srcs in derived.items():
            dj = col_of.get(d)
            sj = [col_of[s] for s in srcs if s in col_of]
            if dj is None or not sj:
                continue
            for i in range(n):
                if any(parsed[i][s][0] == "star" for s in sj) and parsed[i][dj][0] in ("num",
                                                                                       "text"):
                    add(Finding(t.file, t.name, i + 1, row_label(i), names[dj], rows[i][dj],
                                "derived", "a rate / interval / percentage is shown where its "
                                "count is suppressed", rule))

        # differencing (among the cells published exactly: legacy5)
        if count_cols and any(cell_rules[i][j] == "legacy5" for i in range(n)
                              for j in count_cols):
            exact = [[cell_rules[i][j] == "legacy5" for j in range(width)] for i in range(n)]
            _check_differencing(ctx, t, rec, "legacy5", header, names, rows, parsed, count_cols,
                                label_col, exact)

    check_identifiers(ctx, t, rule, names, rows, parsed, row_label)
    check_coordinates(ctx, t, rule, names, rows, parsed)
    check_record_level(ctx, t, names, rows, parsed)

# ---- across tables: a suppressed cell given away by a margin another table publishes ------------
@dataclass
class _CrossColumn:
    file: str
    table: str
    chapter: str | None
    name: str
    cells: list  # (kind, number) as parse_cell gives
    rules: list
    labels: list
    raw: list

    @staticmethod
    def collect(ctx, t, name, cells, rules, labels, raw) -> None:
        m = re.match(r"^(\d{2})_", t.name) or re.match(r"^(?:Table|Map)\s+(\d+)\.", t.label or "") \
            or re.match(r"^(?:.*/)?(\d{2})_", t.alias or "") or re.match(r"^(?:.*/)?(\d{2})_",
                                                                          t.file)
        chapter = str(int(m.group(1))) if m else None
        ctx.columns.append(_CrossColumn(t.file, t.name, chapter, name, cells, rules, labels,
                                        raw))

def _check_cross_tables(ctx) -> None:
    """The differencing test across tables: a column of one table (same name, same chapter)
    published in full gives the total of that quantity; a column of another table with a
    single suppressed ``legacy5`` cell and no total row gives that cell away as the total
    minus its other cells. A finding when the value so recovered is a count the rule hides
    (what ``margins`` in :func:`sna.disclosure.apply` prevents)."""
    by_key: dict[tuple, list[_CrossColumn]] = {}
    for c in ctx.columns:
        if c.chapter is not None:
            by_key.setdefault((c.chapter, norm_name(c.name)), []).append(c)
    for group in by_key.values():
        margins = {}
        for c in group:
            if all(k == "num" for k, _ in c.cells) and all(r == "legacy5" for r in c.rules):
                margins.setdefault(sum(x for _, x in c.cells), c)
        if not margins:
            continue
        for c in group:
            stars = [i for i, (k, _) in enumerate(c.cells) if k == "star"]
            if len(stars) != 1 or c.rules[stars[0]] != "legacy5" or any(
                    is_total_label(v) for v in c.labels):
                continue
            if any(k not in ("num", "star") for k, _ in c.cells):
                continue
            rest = sum(x for k, x in c.cells if k == "num")
            lo, hi = SMALL_COUNTS["legacy5"]
            for total, other in margins.items():
                if other.table == c.table and other.file == c.file:
                    continue
                v = total - rest
                if lo <= v <= hi:
                    i = stars[0]
                    ctx.findings.append(Finding(
                        c.file, c.table, i + 1, c.labels[i], c.name, c.raw[i], "differencing",
                        f"differencing risk across tables: {other.file} ({other.table}) publishes "
                        f"this column in full (total {total:g}); minus this table's other cells "
                        f"that leaves {v:g} for the suppressed cell", "legacy5"))
                    break

def _check_differencing(ctx, t, rec, rule, header, names, rows, parsed, count_cols, label_col,
                        exact=None):
    import numpy as np

    n = len(rows)
    want_rows = set(rec.get("total_rows") or []) if rec and rec.get("total_rows") else None
    want_cols = set(rec.get("total_columns") or []) if rec and rec.get("total_columns") else None
    total_rows = []
    for i in range(n):
        texts = [rows[i][j] for j in range(len(rows[i]))
                 if j not in count_cols and parsed[i][j][0] == "text"]
        if any(is_total_label(v) for v in texts) or (
                want_rows and any(str(v).strip() in {str(w) for w in want_rows} for v in texts)):
            total_rows.append(i)
    total_cols = [k for k, j in enumerate(count_cols)
                  if is_total_label(header[j]) or (want_cols and header[j] in want_cols)]
    exact_m = np.array([[exact is None or exact[i][j] for j in count_cols] for i in range(n)])
    supp = np.array([[parsed[i][j][0] == "star" for j in count_cols] for i in range(n)]) & exact_m
    if not supp.any() or (not total_rows and not total_cols):
        return
    if len(total_rows) > 1 or len(total_cols) > 1:
        ctx.findings.append(Finding(
            t.file, t.name, None, None, None, None, "differencing",
            f"the table has {len(total_rows)} total rows and {len(total_cols)} total columns "
            "and suppressed cells; differencing cannot be checked: publish one table per group",
            rule))
        return
    missing = np.array([[parsed[i][j][0] in ("missing", "star") for j in count_cols]
                        for i in range(n)]) & ~supp | ~exact_m  # rounded cells: not exact
    eq = Equations(n, len(count_cols), total_rows[0] if total_rows else None,
                    total_cols[0] if total_cols else None,
                    bool(total_cols) and len(count_cols) > 1,
                    np.full(len(count_cols), bool(total_rows) and n > 1))
    unknown = supp | missing
    for i, k in eq.recoverable(supp, unknown):
        row_unknown = unknown[i].sum() if eq.row_eq else 0
        col_unknown = unknown[:, k].sum() if eq.col_eq[k] else 0
        if row_unknown == 1:
            why = "it is the only suppressed cell of a row with a total"
        elif col_unknown == 1:
            why = "it is the only suppressed cell of a column with a total"
        else:
            why = "it can be worked out by combining rows and columns with totals"
        j = count_cols[k]
        ctx.findings.append(Finding(
            t.file, t.name, i + 1, None if label_col is None else rows[i][label_col], names[j],
            rows[i][j], "differencing", f"differencing risk: {why}", rule))

def _default_rule(rules, config) -> tuple[str, dict[str, str], dict[str, str]]:
    patterns: dict[str, str] = {}
    source_rules: dict[str, str] = {}
    default = None
    if isinstance(rules, str):
        default = check_rule(rules, key="rules")
    elif isinstance(rules, Mapping):
        for pat, r in rules.items():
            patterns[str(pat)] = check_rule(r, key=f"rules.{pat}")
    elif rules is not None:
        raise DisclosureError("rules must be a rule name or a mapping of file pattern -> rule",
                              key="rules")
    if config is not None:
        from ..config import Config, load_config

        cfg = config if isinstance(config, Config) else load_config(config)
        source_rules = {name: source_rule(src) for name, src in cfg.sources.items()}
        if default is None:
            default = cfg.disclosure.default_rule
    return default or "", patterns, source_rules

def check_outputs(
    dir: str | os.PathLike,
    *,
    rules: str | Mapping[str, str] | None = None,
    config: Any = None,
) -> pd.DataFrame:
    """Scan a finished output folder for anything unsafe to publish.

    Reads every CSV/TSV, every sheet of every XLSX, every ``<table>`` of every HTML file and
    of the HTML outputs of executed notebooks, and the layers of GeoPackages, and reports:

    - ``small_count``: an unsuppressed count from 1 to 7 (nhs2018) or 1 to 5 (legacy5),
      each cell under its own rule (the metadata's ``column_rules`` / ``row_rules``); also
      a number followed by a counted noun ("3 victims") in the text of an HTML page or a
      Word document (``table`` "prose", ``row`` the paragraph);
    - ``unrounded``: under nhs2018, a count that is not a multiple of 5 (in a table, or an
      NHS noun such as "352 attendances" in the text);
    - ``differencing``: under legacy5, a suppressed cell that the published totals give
      away (the only ``*`` of a row or column with a total, or a bridge; see :func:`apply`),
      or that a column of the same name published in full in another table of the same
      chapter gives away (its total minus this table's other cells);
    - ``record_level``: a table of one row per event (a column of day-precise dates,
      mostly distinct) or of rows set aside from source files (``line`` and ``reason``);
    - ``figure``: a figure whose chapter sidecar names a source table not in the folder;
    - ``derived``: a rate / interval / percentage shown where its count is ``*``;
    - ``identifier``: a column named like ``record_id`` / ``person_id`` /
      ``crime_reference`` / ``nhs_number``; pseudonyms (16-, 32-, 40- or 64-character
      hexadecimal hashes); NHS-number-like values (10 digits with a valid check digit);
    - ``coordinates``: columns named ``x``/``y``/``easting``/``northing``/``lon``/``lat``...
      with 10 or more distinct values not on a grid (step under 50 m / 0.001 degrees), or
      longitudes/latitudes with 4 or more decimals; unnamed pairs of precise UK latitudes
      and longitudes; point layers of 10 or more distinct points;
    - ``data_file``: a record-level data file (Parquet, Feather, pickle, SQLite, DuckDB...),
      e.g. the data cache, which a public folder must not hold;
    - ``metadata``: a table whose metadata says it was not put under control (restricted
      build), a restricted manifest, unreadable metadata; with ``config``, a table holding
      counts of an NHS source (A&E, ambulance, hospital) under a rule weaker than nhs2018;
    - ``unreadable``: a table file that cannot be read (the checker fails closed).

    Parameters
    ----------
    dir
        The output folder (``outputs/<area>/<FY>``).
    rules
        The rule for tables without metadata: a rule name, or ``{glob: rule}`` matched
        against the file's path in the folder (``"tables/07_*"``) or ``"path::table"``.
    config
        A config (path, dict or :class:`~sna.config.Config`) whose
        ``disclosure.default_rule`` is the default when ``rules`` gives none.

    Returns
    -------
    pandas.DataFrame
        One row per finding: ``file`` (path in the folder), ``table`` (file stem, sheet,
        layer, HTML table id / "Table 4.1" label / "table k"), ``row`` (1-based data row
        below the header; CSV line and Excel row = ``row + 1``; empty for a whole column),
        ``label`` (the row's label), ``column``, ``value`` (as shown; identifiers masked),
        ``check``, ``problem``, ``rule`` (the rule the table was checked under).
        ``attrs["sna"]["check_outputs"]`` holds ``dir``, ``files``, ``tables``,
        ``default_rule`` and ``skipped`` (files not scanned).

    Raises
    ------
    DisclosureError
        The folder does not exist; an unknown rule in ``rules``.

    Notes
    -----
    The rule of each table comes from, in order: ``data-sna-*`` attributes of an HTML
    table or the ``sna`` metadata of a notebook output; the file's ``<stem>.meta.json``;
    the chapter sidecars ``chapters/*.json``; ``manifest.json`` ``disclosure.tables``
    (matched by file, then by "Table N.k" label for HTML copies of a table; a workbook sheet
    copied from a CSV takes the CSV's metadata, found through a ``contents`` sheet with
    ``sheet`` and ``file`` columns or by the sheet being named as the CSV's stem). When that
    metadata names no known rule (a restricted build says "not applied") but lists the
    table's ``sources`` and a ``config`` is given, the sources' configured rules decide
    (nhs2018 if any source uses it); otherwise ``rules``, then ``manifest.json`` ``disclosure.default_rule``, then the config's
    ``disclosure.default_rule``, then ``legacy5``. Count columns are those the metadata
    names plus :func:`guess_count_columns`' guess (so a column the build forgot is still
    checked); metadata ``not_counts`` excludes a column. Tables under ``"none"`` get only
    the identifier and coordinate checks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from sna.disclosure import write_public_table
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_public_table(pd.DataFrame({"area": ["A", "B"], "n": [3, 22]}),
    ...                        folder / "tables" / "by_area.csv", rule="nhs2018", counts=["n"])
    >>> check_outputs(folder).empty
    True
    >>> pd.DataFrame({"area": ["A", "B"], "n": [3, 20]}).to_csv(folder / "tables" / "by_area.csv",
    ...                                                       index=False)
    >>> check_outputs(folder)[["file", "row", "column", "value", "check"]]
                       file  row column value        check
    0  tables/by_area.csv    1      n     3  small_count
    """
    root = Path(dir)
    if not root.is_dir():
        raise DisclosureError(
            "the output folder does not exist (or is not a folder); give the folder "
            "'sna run' wrote, e.g. outputs/<area>/<year>", file=root)
    default, patterns, source_rules = _default_rule(rules, config)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    meta = MetaIndex(root)
    meta.load(p for p in files if p.suffix.lower() == ".json")
    ctx = _Context(root, default or meta.default_rule or "legacy5", patterns, meta, source_rules)
    ctx.findings.extend(meta.problems)
    if meta.build and meta.build != "public":
        ctx.findings.append(Finding("manifest.json", None, None, None, "build", meta.build,
                                    "metadata", f"the manifest says this is a {meta.build!r} "
                                    "build, not a public one", None))
    for p in files:
        _check_file(ctx, p)
    _check_cross_tables(ctx)
    _check_figures(ctx)
    df = _findings_table(ctx)
    logger.info("check_outputs %s: %d findings in %d tables of %d files", root, len(df),
                ctx.tables, ctx.files)
    return df


def _check_file(ctx: _Context, p: Path) -> None:
    """Check one file of the folder: a data file is a finding; a Word document's text, each
    table of a table file (and an HTML page's text) are checked; what cannot be read is a
    finding (the checker fails closed); other files are listed as skipped."""
    rel = p.relative_to(ctx.root).as_posix()
    suffix = p.suffix.lower()
    if suffix in DATA_SUFFIXES:
        ctx.files += 1
        ctx.findings.append(Finding(rel, None, None, None, None, None, "data_file",
                                    "a data file (record-level data or the data cache) "
                                    "cannot be published", None))
        return
    if suffix == ".docx":  # the Word report and board paper: the counts in their text
        ctx.files += 1
        try:
            check_prose(ctx, docx_text(p), rel)
        except Exception as exc:  # fails closed, as for tables
            ctx.findings.append(Finding(rel, None, None, None, None, None, "unreadable",
                                        f"cannot read the file to check it: {exc}", None))
        return
    reader = READERS.get(suffix)
    if reader is None:
        if suffix != ".json":  # metadata, read above
            ctx.skipped.append(rel)
        return
    ctx.files += 1
    try:
        tables = reader(p, rel)
    except Exception as exc:  # the checker fails closed on anything it cannot read
        ctx.findings.append(Finding(rel, None, None, None, None, None, "unreadable",
                                    f"cannot read the file to check it: {exc}", None))
        return
    single = suffix in (".csv", ".tsv")
    for t in tables:
        _check_table(ctx, t, single)
    if suffix in (".html", ".htm"):
        check_prose(ctx, p.read_text(encoding="utf-8", errors="replace"), rel)

def _check_figures(ctx: _Context) -> None:
    """A figure whose chapter sidecar names a source table the folder does not hold."""
    for prefix, fig in ctx.meta.figures:
        for src in fig.get("tables") or []:
            if not (ctx.root / (prefix + str(src))).is_file():
                ctx.findings.append(Finding(
                    prefix + str(fig.get("file")), fig.get("label"), None, None, None, src,
                    "figure", "the figure says it is drawn from a table that is not in the "
                    "publication (so its numbers are not under the tables' control)", None))

def _findings_table(ctx: _Context) -> pd.DataFrame:
    """The findings as :data:`FINDING_COLUMNS`, with what was scanned in ``attrs``."""
    import pandas as pd

    records = [{k: (None if v is None else (v if k == "row" else str(v)))
                for k, v in f.__dict__.items()} for f in ctx.findings]
    df = pd.DataFrame({c: pd.Series([r[c] for r in records], dtype=object)
                       for c in FINDING_COLUMNS})
    df["row"] = df["row"].astype("Int64")
    df.attrs["sna"] = {"check_outputs": {
        "dir": str(ctx.root), "files": ctx.files, "tables": ctx.tables,
        "default_rule": ctx.default_rule, "skipped": ctx.skipped,
    }}
    return df
