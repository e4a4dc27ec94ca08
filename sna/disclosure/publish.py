"""Publishing tables: a public CSV with its metadata sidecar, a workbook, an HTML table (the
metadata convention the output checker reads).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DisclosureError
from ..inert import inert_frame, write_csv
from ._common import to_python
from .rules import apply

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "table_meta",
    "write_public_table",
    "write_controlled_table",
    "write_public_workbook",
    "html_table",
]


def _jsonable(v):
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set)):
        return [_jsonable(x) for x in v]
    v = to_python(v)
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)

def table_meta(table: pd.DataFrame, *, name: str | None = None, **extra: Any) -> dict:
    """The metadata record of a controlled table, as the checker reads it.

    Parameters
    ----------
    table
        A table returned by :func:`apply` (its ``attrs["sna"]["disclosure"]``).
    name
        The table's name (file stem, sheet or layer name).
    **extra
        More keys to record (``caption``, ``chapter``, ``source``...).

    Returns
    -------
    dict
        JSON-ready: ``table``, ``rule``, ``counts``, ``derived``, ``percentages``,
        ``total_rows``, ``total_columns``, ``suppressed_primary``, ``suppressed_secondary``,
        ``suppressed_derived``, ``dsr_hidden``, ``source`` and the extra keys.

    Examples
    --------
    >>> import pandas as pd
    >>> t = apply(pd.DataFrame({"n": [2, 10]}), rule="legacy5", counts=["n"])
    >>> m = table_meta(t, name="demo")
    >>> m["table"], m["rule"], m["counts"]
    ('demo', 'legacy5', ['n'])
    """
    info = table.attrs.get("sna", {}).get("disclosure")
    if not info:
        raise DisclosureError(
            f"table {name or ''!r} has not been through disclosure control: pass it through "
            "sna.disclosure.apply(table, rule=...) first (rule='none' for open data)")
    meta = {"table": name, "rule": info["rule"], "counts": info["counts"],
            "derived": info["derived"], "percentages": info.get("percentages", {}),
            "total_rows": info["total_rows"], "total_columns": info["total_columns"],
            "suppressed_primary": info["suppressed_primary"],
            "suppressed_secondary": info["suppressed_secondary"],
            "suppressed_derived": info["suppressed_derived"], "dsr_hidden": info["dsr_hidden"],
            "source": info.get("source")}
    for key in ("column_rules", "row_rules", "base_rule", "margins"):
        if info.get(key):
            meta[key] = info[key]
    meta.update(extra)
    return _jsonable(meta)

def _write_index(df, index: bool | None) -> bool:
    import pandas as pd

    if index is not None:
        return bool(index)
    return not (isinstance(df.index, pd.RangeIndex) and df.index.name is None)

def write_public_table(
    df: pd.DataFrame,
    path: str | os.PathLike,
    *,
    rule: str,
    counts: Sequence[Hashable] | None = None,
    derived: Mapping[Hashable, Hashable | Sequence[Hashable]] | None = None,
    totals: Sequence[Hashable] | None = None,
    percentages: Mapping[Hashable, Any] | None = None,
    dsr: Sequence[Hashable] | None = None,
    source: str | Sequence[str] | None = None,
    name: str | None = None,
    index: bool | None = None,
    column_rules: Mapping[Hashable, str] | None = None,
    row_rules: Sequence[str | None] | None = None,
    margins: bool = False,
    **extra: Any,
) -> pd.DataFrame:
    """Put a table under disclosure control and write it as CSV with its metadata sidecar.

    The one call the public build needs per table: :func:`apply`, then ``<path>`` (CSV) and
    ``<stem>.meta.json`` beside it, which :func:`check_outputs` reads.

    Parameters
    ----------
    df
        The table as analysed. Not modified.
    path
        The CSV to write (``tables/<stem>.csv``); folders are created.
    rule, counts, derived, totals, percentages, dsr, column_rules, row_rules, margins
        As for :func:`apply`.
    source
        The source(s) of the counts, recorded.
    name
        The table's name in the metadata (default: the file stem).
    index
        Write the index as the first column(s); default: only when it is not a plain
        ``RangeIndex``.
    **extra
        More metadata keys (``caption``, ``chapter``...).

    Returns
    -------
    pandas.DataFrame
        The published table (as :func:`apply` returns it).

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> import pandas as pd
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> t = pd.DataFrame({"district": ["A", "B", "Total"], "n": [4, 30, 34]})
    >>> out = write_public_table(t, folder / "by_district.csv", rule="nhs2018", counts=["n"])
    >>> print((folder / "by_district.csv").read_text())
    district,n
    A,*
    B,30
    Total,35
    <BLANKLINE>
    >>> json.loads((folder / "by_district.meta.json").read_text())["rule"]
    'nhs2018'
    """
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise DisclosureError(f"write_public_table writes CSV; name the file '*.csv', not "
                              f"{path.name!r} (use write_public_workbook for Excel)", file=path)
    controls = {"column_rules": column_rules, "row_rules": row_rules, "margins": margins}
    out = apply(df, rule=rule, counts=counts, derived=derived, totals=totals,
                percentages=percentages, dsr=dsr,
                source=source if source is None or isinstance(source, str) else ",".join(source),
                **controls)
    return write_controlled_table(out, path, source=source, name=name, index=index, **extra)


def write_controlled_table(
    out: pd.DataFrame,
    path: str | os.PathLike,
    *,
    source: str | Sequence[str] | None = None,
    name: str | None = None,
    index: bool | None = None,
    **extra: Any,
) -> pd.DataFrame:
    """Write a table already put under control (:func:`apply`) as CSV with its metadata
    sidecar; arguments as for :func:`write_public_table`. The table a chapter's prose quotes
    is the table written here, not a second computation."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise DisclosureError(f"write_public_table writes CSV; name the file '*.csv', not "
                              f"{path.name!r} (use write_public_workbook for Excel)", file=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(out, path, index=_write_index(out, index))
    meta = table_meta(out, name=name or path.stem, file=path.name, **extra)
    if source is not None and not isinstance(source, str):
        meta["source"] = list(source)
    _meta_path(path).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    out.attrs["sna"]["disclosure"]["file"] = str(path)
    return out

def _meta_path(path: Path) -> Path:
    return path.with_name(path.name[: -len(path.suffix)] + ".meta.json" if path.suffix
                          else path.name + ".meta.json")

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")

def write_public_workbook(
    tables: Mapping[str, pd.DataFrame],
    path: str | os.PathLike,
    *,
    index: bool | None = None,
) -> Path:
    """Write controlled tables as the sheets of one workbook, with a metadata sidecar.

    Parameters
    ----------
    tables
        Sheet name -> a table returned by :func:`apply` (or :func:`write_public_table`).
        Names are cut to Excel's 31 characters and freed of ``[]:*?/\\``.
    path
        The ``.xlsx`` file; ``<stem>.meta.json`` is written beside it
        (``{"tables": [{"table": <sheet>, "rule": ..., ...}]}``).
    index
        As for :func:`write_public_table`.

    Returns
    -------
    pathlib.Path
        The workbook.

    Raises
    ------
    DisclosureError
        A table that has not been through :func:`apply`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> t = apply(pd.DataFrame({"n": [3, 12]}), rule="nhs2018", counts=["n"])
    >>> write_public_workbook({"A&E by month": t}, folder / "tables.xlsx").name
    'tables.xlsx'
    >>> sorted(p.name for p in folder.iterdir())
    ['tables.meta.json', 'tables.xlsx']
    """
    import pandas as pd

    path = Path(path)
    records = []
    used: set[str] = set()
    prepared = []
    for name, df in tables.items():
        sheet = _SHEET_BAD.sub("_", str(name))[:31] or "Sheet"
        base, k = sheet, 2
        while sheet.casefold() in used:
            suffix = f" ({k})"
            sheet = base[: 31 - len(suffix)] + suffix
            k += 1
        used.add(sheet.casefold())
        records.append(table_meta(df, name=sheet, title=str(name)))
        prepared.append((sheet, df))
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for sheet, df in prepared:
            inert_frame(df).to_excel(xw, sheet_name=sheet, index=_write_index(df, index))
    _meta_path(path).write_text(json.dumps({"file": path.name, "tables": records}, indent=2),
                                encoding="utf-8")
    return path

def html_table(table: pd.DataFrame, *, table_id: str | None = None, **to_html: Any) -> str:
    """HTML of a controlled table that carries its disclosure metadata for the checker.

    The ``<table>`` gets ``data-sna-rule``, ``data-sna-counts``, ``data-sna-derived``,
    ``data-sna-total-rows`` and ``data-sna-total-columns`` attributes (JSON), which
    :func:`check_outputs` reads before any other metadata.

    Examples
    --------
    >>> import pandas as pd
    >>> t = apply(pd.DataFrame({"n": [3, 12]}), rule="nhs2018", counts=["n"])
    >>> html_table(t, index=False).splitlines()[0]
    '<table border="1" class="dataframe" data-sna-rule="nhs2018" data-sna-counts="[&quot;n&quot;]" data-sna-derived="{}" data-sna-total-rows="[]" data-sna-total-columns="[]">'
    """
    import html as _html

    meta = table_meta(table)
    text = table.to_html(table_id=table_id, **to_html)
    attrs = {
        "data-sna-rule": meta["rule"], "data-sna-counts": json.dumps(meta["counts"]),
        "data-sna-derived": json.dumps(meta["derived"]),
        "data-sna-total-rows": json.dumps(meta["total_rows"]),
        "data-sna-total-columns": json.dumps(meta["total_columns"]),
    }
    extra = "".join(f' {k}="{_html.escape(str(v), quote=True)}"' for k, v in attrs.items())
    return re.sub(r"<table\b([^>]*)>", lambda m: f"<table{m.group(1)}{extra}>", text, count=1)
