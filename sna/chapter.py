"""The helpers every chapter notebook shares.

A chapter notebook is thin: a ``parameters`` cell, then

>>> from sna.chapter import Chapter
>>> ch = Chapter("04_geography", output_dir=None)    # doctest: +SKIP
>>> a = ch.assessment                                 # doctest: +SKIP

and calls into the library. :class:`Chapter` holds what the notebooks would otherwise repeat:
it loads the prepared :class:`~sna.assessment.Assessment` from the run's cache, numbers
figures and tables with captions ("Figure 4.2"), saves figures to ``figures/*.png``, tables to
``tables/*.csv`` (through disclosure control in a public build) and map layers to
``maps/*.gpkg``, prints the *synthetic data* banner, writes one-sentence "not available"
notes, and records every parameter a method chose so the technical appendix can list them.

Everything it shows goes through IPython's ``display`` with ``metadata={"sna": {...}}`` so
that :mod:`sna.report` can assemble ``report.html`` from the executed notebooks (figure with
its caption, table with its caption, notes) without reading any code.

What a chapter produced is also written to ``chapters/<name>.json`` (the *sidecar*): figure
and table files, captions, the disclosure rule applied to each table, the notes and the
parameters. The runner reads the sidecars for ``manifest.json`` and the appendix chapter
reads them to list the methods actually used.

Examples
--------
A chapter without an assessment (tests, or a notebook that only writes prose):

>>> import pandas as pd, tempfile
>>> out = tempfile.mkdtemp()
>>> ch = Chapter("05_deprivation", output_dir=out, display=False)
>>> ch.number
5
>>> t = ch.table(pd.DataFrame({"decile": [1, 2], "n": [30, 12]}), "by_decile",
...              "Incidents by IMD decile.", sources=[])
>>> ch.tables[0]["label"], ch.tables[0]["file"]
('Table 5.1', 'tables/05_tab01_by_decile.csv')
>>> ch.not_available("times", "The police data have no time of day.")["what"]
'times'
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

from ._log import logger
from .errors import ChapterError, DisclosureError

__all__ = [
    "Chapter",
    "CHAPTER_TITLES",
    "FORMAT_LABELS",
    "chapter_number",
    "field_coverage",
    "join_words",
    "percent",
    "format_number",
    "format_table",
    "read_sidecars",
]

#: The standard chapters, in report order, with their titles.
CHAPTER_TITLES: dict[str, str] = {
    "00_data_quality": "Data sources and data quality",
    "01_key_findings": "Key findings",
    "02_volume_and_trend": "Volume and trend",
    "03_timing": "Seasonality and timing",
    "04_geography": "Geography",
    "05_deprivation": "Deprivation and inequality",
    "06_people": "People: victims, offenders and patients",
    "07_health": "Health data: A&E and ambulance",
    "08_interventions": "Interventions",
    "09_appendix": "Technical appendix",
}

_DISCLOSURE_TEXT = {
    "nhs2018": "NHS Digital rule (2018): 1–7 shown as *, other counts rounded to the nearest 5",
    "legacy5": "1–5 shown as *, with secondary suppression so no suppressed cell can be "
    "recovered from totals",
    "none": "no disclosure control needed (open data)",
}
_RULE_STRICTNESS = {"none": 0, "nhs2018": 1, "legacy5": 2}


#: Plain-English names of the source formats, for prose.
FORMAT_LABELS: dict[str, str] = {
    "police_uk": "data.police.uk street-level crime",
    "police_extract": "force crime extract",
    "ambulance": "ambulance call-outs",
    "ecds": "A&E assault attendances (ECDS / ISTV)",
    "interventions": "intervention records",
}

#: Fields whose presence decides what a chapter can show: name -> (column, test).
_COVERAGE_FIELDS = {
    "location (LSOA)": "lsoa",
    "coordinates": "x",
    "day": "date_precision",
    "time of day": "date_precision",
    "victim age": "age",
    "victim sex": "sex",
    "victim ethnicity": "ethnicity",
    "offender age": "offender_age",
    "knife flag": "knife",
    "domestic flag": "domestic",
    "weapon / method": "weapon",
    "location type": "location_type",
}


def field_coverage(incidents) -> "pd.DataFrame":
    """Share of each source's records that carry each field a chapter may need.

    Parameters
    ----------
    incidents
        The canonical incidents table (``source`` and the canonical columns; missing columns
        count as empty).

    Returns
    -------
    pandas.DataFrame
        One row per source (index ``source``) and one column per field: ``location (LSOA)``,
        ``coordinates``, ``day`` (date known to the day or minute), ``time of day`` (to the
        minute), ``victim age``, ``victim sex``, ``victim ethnicity``, ``offender age``,
        ``knife flag``, ``domestic flag``, ``weapon / method``, ``location type``; values are
        shares from 0 to 1.

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"source": ["police", "police", "ecds"],
    ...                     "date_precision": ["month", "month", "minute"],
    ...                     "lsoa": ["E1", None, "E2"], "age": [pd.NA, pd.NA, 19]})
    >>> cov = field_coverage(inc)
    >>> cov.loc["police", ["location (LSOA)", "time of day", "victim age"]].tolist()
    [0.5, 0.0, 0.0]
    >>> cov.loc["ecds", ["location (LSOA)", "time of day", "victim age"]].tolist()
    [1.0, 1.0, 1.0]
    """
    import pandas as pd

    rows = {}
    for source, g in incidents.groupby("source", sort=True, observed=True):
        row = {}
        for label, col in _COVERAGE_FIELDS.items():
            if col not in g.columns or len(g) == 0:
                row[label] = 0.0
                continue
            s = g[col]
            if label == "day":
                row[label] = float(s.isin(["day", "minute"]).mean())
            elif label == "time of day":
                row[label] = float((s == "minute").mean())
            else:
                row[label] = float(s.notna().mean())
        rows[str(source)] = row
    out = pd.DataFrame.from_dict(rows, orient="index", columns=list(_COVERAGE_FIELDS))
    out.index.name = "source"
    return out


def join_words(items: Iterable[Any], conjunction: str = "and") -> str:
    """Join words for prose: ``["a", "b", "c"]`` -> ``"a, b and c"``.

    >>> join_words(["police"]), join_words(["a", "b", "c"]), join_words([])
    ('police', 'a, b and c', '')
    """
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def percent(part: float, whole: float | None = None, decimals: int = 0) -> str:
    """A share as a percentage for prose; ``whole`` None means ``part`` is already a share.

    >>> percent(1, 3), percent(0.256, decimals=1), percent(1, 0)
    ('33%', '25.6%', 'n/a')
    """
    if whole is not None:
        if not whole:
            return "n/a"
        part = part / whole
    if part is None or _isna(part):
        return "n/a"
    return f"{100 * float(part):.{decimals}f}%"


def chapter_number(name: str) -> int | None:
    """The chapter number from a notebook name: ``"04_geography"`` -> 4.

    >>> chapter_number("04_geography"), chapter_number("explore")
    (4, None)
    """
    m = re.match(r"^(\d+)[_\-]", Path(str(name)).stem + "_")
    return int(m.group(1)) if m else None


def _slug(text: str) -> str:
    keep = "".join(c.lower() if c.isalnum() else "_" for c in str(text))
    return "_".join(p for p in keep.split("_") if p) or "item"


def format_number(value: Any, decimals: int | None = None) -> str:
    """Format a number for prose and tables: thousands separators, sensible decimals.

    Integers get separators; floats get ``decimals`` places (default: 0 from 1,000, 1 from
    10, 2 from 1, 3 below). Missing values print as an empty string; strings pass through.

    >>> format_number(12345), format_number(0.37512), format_number(123.456), format_number(None)
    ('12,345', '0.375', '123.5', '')
    >>> format_number(-14.2857, 1)
    '-14.3'
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (hasattr(value, "is_integer") and type(value).__name__.startswith("int")):
        return f"{int(value):,}"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if decimals is None:
        a = abs(x)
        if a == 0 or a >= 1000:
            decimals = 0
        elif a >= 10:
            decimals = 1
        elif a >= 1:
            decimals = 2
        else:
            decimals = 3
    return f"{x:,.{decimals}f}"


def format_table(df, formats: Mapping[str, Any] | None = None):
    """A copy of ``df`` with every cell formatted as text for display (not for CSV).

    ``formats`` maps a column to a number of decimals or a format string (``"{:.1%}"``).

    >>> import pandas as pd
    >>> format_table(pd.DataFrame({"n": [1200, 3], "rate": [1.23456, 0.5]}),
    ...              {"rate": 1}).values.tolist()
    [['1,200', '1.2'], ['3', '0.5']]
    """
    import numpy as np
    import pandas as pd

    formats = dict(formats or {})
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        s = df[col]
        fmt = formats.get(col)
        if isinstance(fmt, str):
            out[col] = [("" if _isna(v) else fmt.format(v)) for v in s]
        elif pd.api.types.is_bool_dtype(s.dtype):
            out[col] = [format_number(v) if not _isna(v) else "" for v in s]
        elif pd.api.types.is_integer_dtype(s.dtype):
            out[col] = [format_number(int(v)) if not _isna(v) else "" for v in s]
        elif pd.api.types.is_float_dtype(s.dtype):
            whole = s.dropna()
            if fmt is None and len(whole) and np.all(np.mod(whole.to_numpy(dtype=float), 1) == 0) \
                    and whole.abs().max() < 1e15:
                out[col] = [format_number(int(v)) if not _isna(v) else "" for v in s]
            else:
                out[col] = [format_number(v, fmt) for v in s]
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            out[col] = [("" if _isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d")) for v in s]
        else:
            out[col] = ["" if _isna(v) else str(v) for v in s]
    out.columns = [str(c) for c in df.columns]
    return out


def _isna(v) -> bool:
    try:
        import pandas as pd

        r = pd.isna(v)
        return bool(r) if not hasattr(r, "__len__") else False
    except (TypeError, ValueError):
        return False


class _Output:
    """An object IPython displays as a given MIME bundle with ``sna`` metadata."""

    def __init__(self, data: dict[str, Any], meta: dict[str, Any]):
        self._data = data
        self._meta = meta

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self._data, {"sna": self._meta}

    def __repr__(self) -> str:  # what a plain Python session prints
        return self._data.get("text/plain", "")


class Chapter:
    """The shared context of one chapter notebook.

    Parameters
    ----------
    name
        The notebook's name, e.g. ``"04_geography"``; the leading number numbers figures
        ("Figure 4.1") and output files (``04_fig01_<name>.png``).
    config_path
        The config file; ``None`` means the bundled demo (:func:`sna.datasets.demo_config`).
    year
        The assessment financial year ("2020/21"); ``None`` uses the config's year.
    build
        ``"restricted"`` (partners; full detail) or ``"public"`` (disclosure control on every
        table through :meth:`table`).
    output_dir
        The run's output folder (``outputs/<area>/<FY>``). ``None`` (an analyst running the
        notebook by hand) uses the config's output folder.
    cache_dir
        Where ``sna run`` put the prepared Assessment; ``None`` uses the config's cache.
    display
        Show outputs with IPython's ``display`` (False in tests).
    title
        The chapter's title; defaults to :data:`CHAPTER_TITLES`.

    Notes
    -----
    Figures are saved at 150 dpi and shown from the same PNG, so the report, the chapter HTML
    and ``figures/`` carry the same picture. Tables are captioned above, figures below, as in
    published statistics.
    """

    def __init__(
        self,
        name: str,
        *,
        config_path: str | os.PathLike | None = None,
        year: str | int | None = None,
        build: str = "restricted",
        output_dir: str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        display: bool = True,
        title: str | None = None,
    ) -> None:
        if build not in ("restricted", "public"):
            raise ChapterError(
                f"build must be 'restricted' or 'public', not {build!r}", key="build"
            )
        self.name = Path(str(name)).stem
        self.number = chapter_number(self.name)
        self.title = title or CHAPTER_TITLES.get(self.name, self.name.replace("_", " ").title())
        self.config_path = None if config_path is None else str(config_path)
        self._year = year
        self.build = build
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self._output_dir = None if output_dir is None else Path(output_dir)
        self.display_enabled = display
        self.figures: list[dict] = []
        self.tables: list[dict] = []
        self.maps: list[dict] = []
        self.notes: list[dict] = []
        self.parameters: dict[str, Any] = {}
        self.started = time.time()
        self._assessment = None
        self._config = None

    # ---- the assessment ----------------------------------------------------------------
    @property
    def public(self) -> bool:
        """True in a public build."""
        return self.build == "public"

    @property
    def config(self):
        """The validated :class:`~sna.config.Config` (cache folder overridden by the run)."""
        if self._config is None:
            from .config import load_config
            from .datasets import demo_config

            cfg = load_config(self.config_path or demo_config())
            if self.cache_dir is not None:
                cfg.cache = str(self.cache_dir)
            self._config = cfg
        return self._config

    @property
    def assessment(self):
        """The :class:`~sna.assessment.Assessment`, loaded once (from the run's cache)."""
        if self._assessment is None:
            from .assessment import load_assessment

            self._assessment = load_assessment(self.config, self._year)
        return self._assessment

    @property
    def year(self):
        """The assessment's :class:`~sna.periods.FinancialYear`."""
        if self._assessment is not None:
            return self._assessment.year
        from .periods import FinancialYear

        if self._year is not None:
            return FinancialYear.parse(self._year)
        return self.assessment.year

    @property
    def synthetic(self) -> bool:
        if self._assessment is not None:
            return bool(self._assessment.synthetic)
        return bool(self.config.synthetic)

    @property
    def output_dir(self) -> Path:
        """The run's output folder."""
        if self._output_dir is None:
            self._output_dir = Path(self.config.output_dir(self.year))
        return self._output_dir

    def _path(self, sub: str, filename: str) -> Path:
        folder = self.output_dir / sub
        folder.mkdir(parents=True, exist_ok=True)
        return folder / filename

    # ---- showing things ----------------------------------------------------------------
    def _show(self, data: dict[str, Any], meta: dict[str, Any]) -> None:
        if not self.display_enabled:
            return
        from IPython.display import display

        display(_Output(data, meta))

    def header(self) -> None:
        """Show the chapter's banners: synthetic data, and the build (restricted / public)."""
        parts = []
        if self.synthetic:
            parts.append(
                '<div class="sna-banner sna-synthetic"><strong>Synthetic data.</strong> '
                "Every figure in this chapter is made from the bundled synthetic demo, not "
                "from real records.</div>"
            )
        if self.public:
            parts.append(
                '<div class="sna-banner sna-public"><strong>Public build.</strong> Tables are '
                "under statistical disclosure control; the rule applied is named under each "
                "table.</div>"
            )
        else:
            parts.append(
                '<div class="sna-banner sna-restricted"><strong>Restricted.</strong> Full '
                "detail for partners; not for publication.</div>"
            )
        text = "\n".join(parts)
        self._show({"text/html": text, "text/plain": re.sub("<[^>]+>", "", text)},
                   {"kind": "banner", "synthetic": self.synthetic, "build": self.build})

    def say(self, text: str) -> None:
        """Show a paragraph of Markdown prose (numbers filled in by the caller's code)."""
        self._show({"text/markdown": text, "text/plain": text}, {"kind": "prose"})

    def heading(self, text: str, level: int = 2) -> None:
        """Show a section heading inside the chapter."""
        md = "#" * max(2, min(level, 4)) + " " + text
        self._show({"text/markdown": md, "text/plain": text}, {"kind": "heading", "level": level})

    def bullets(self, items: Iterable[str]) -> None:
        """Show a bullet list of Markdown items."""
        md = "\n".join(f"- {i}" for i in items)
        if md:
            self.say(md)

    def not_available(self, what: str, sentence: str) -> dict:
        """Say in one sentence that an analysis is not possible with these data, and go on.

        Parameters
        ----------
        what
            A short key for the missing thing (``"times"``, ``"ages"``, ``"health"``).
        sentence
            The sentence shown to the reader, e.g. "data.police.uk records have no time of
            day, so the day-of-week by hour analysis needs a force extract or A&E data."

        Returns
        -------
        dict
            The note as recorded in the sidecar (``what``, ``text``).
        """
        note = {"what": what, "text": sentence}
        self.notes.append(note)
        self._show(
            {"text/markdown": f"> **Not available:** {sentence}", "text/plain": sentence},
            {"kind": "not_available", "what": what},
        )
        self._write_sidecar()
        return note

    # ---- figures -----------------------------------------------------------------------
    def figure(self, fig, name: str, caption: str, *, source: str | None = None,
               dpi: int = 150) -> Path:
        """Save a matplotlib figure to ``figures/``, show it with its number and caption.

        Parameters
        ----------
        fig
            A matplotlib Figure (it is closed afterwards, so it is not shown twice).
        name
            A short name for the file (``"monthly_trend"``).
        caption
            The caption, one or two sentences; "Figure N.k." is prefixed.
        source
            Optional source line ("Source: data.police.uk").

        Returns
        -------
        pathlib.Path
            The saved PNG.
        """
        import matplotlib.pyplot as plt

        k = len(self.figures) + 1
        label = f"Figure {self._num()}.{k}" if self.number is not None else f"Figure {k}"
        filename = f"{self._prefix()}fig{k:02d}_{_slug(name)}.png"
        path = self._path("figures", filename)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", facecolor="white",
                    metadata={"Software": None})
        plt.close(fig)
        png = buf.getvalue()
        path.write_bytes(png)
        entry = {"label": label, "name": name, "caption": caption, "file": f"figures/{filename}",
                 "source": source}
        self.figures.append(entry)
        full_caption = f"{label}. {caption}" + (f" {source}" if source else "")
        self._show(
            {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": full_caption},
            {"kind": "figure", "label": label, "caption": caption, "source": source,
             "file": entry["file"]},
        )
        self._show(
            {"text/markdown": f"**{label}.** {_md_escape(caption)}" + (f" *{source}*" if source else ""),
             "text/plain": full_caption},
            {"kind": "caption", "of": label},
        )
        self._write_sidecar()
        return path

    # ---- tables ------------------------------------------------------------------------
    def disclosure_rule(self, sources: Sequence[str] | None) -> str:
        """The disclosure rule for a table made from ``sources`` (config source names).

        The strictest of the sources' rules; ``"none"`` when every source is open data (or
        ``sources`` is empty: a table of open reference data); the config's
        ``disclosure.default_rule`` for names that are not configured sources.
        """
        if not sources:
            return "none"
        cfg = self.config
        rules = []
        for s in sources:
            src = cfg.sources.get(s)
            rules.append(src.default_disclosure if src is not None else cfg.disclosure.default_rule)
        return max(rules, key=lambda r: _RULE_STRICTNESS.get(r, 3))

    def table(
        self,
        df,
        name: str,
        caption: str,
        *,
        sources: Sequence[str] | None = None,
        rule: str | None = None,
        counts: Sequence[str] | None = None,
        derived: Mapping[str, Any] | None = None,
        show: int | None = 25,
        formats: Mapping[str, Any] | None = None,
        index: bool = False,
        note: str | None = None,
    ):
        """Write a table to ``tables/`` and show it with its number and caption.

        Every table a chapter publishes goes through here, so a public build applies
        disclosure control to all of them (:func:`sna.disclosure.apply`) and records the rule.

        Parameters
        ----------
        df
            The table.
        name, caption
            File name stem and caption ("Table N.k." is prefixed).
        sources
            The config sources the counts come from (decides the disclosure rule); ``[]`` for
            tables with no counts of people or incidents from a controlled source.
        rule
            Override the rule (``"nhs2018"``, ``"legacy5"``, ``"none"``).
        counts
            The count columns (default: integer columns whose name says n / count / total...).
        derived
            Columns derived from a count (rates, intervals, percentages): ``{column: count}``;
            suppressed with their count.
        show
            Rows shown in the report (the CSV has all); ``None`` shows all.
        formats
            Display formats per column (see :func:`format_table`).
        index
            Keep the index as columns.
        note
            A line shown under the table.

        Returns
        -------
        pandas.DataFrame
            The table as published (after disclosure control in a public build): plot from
            this so charts never show more than the tables.
        """
        import pandas as pd

        table = df.reset_index() if index else df.copy()
        table.columns = [str(c) for c in table.columns]
        applied = "none"
        if self.public:
            applied = rule or self.disclosure_rule(sources)
            if counts is None:
                counts = _guess_counts(table)
            if applied != "none" and (counts or derived):
                table = self._apply_disclosure(table, applied, counts or [], derived or {}, name)
        else:
            applied = "not applied (restricted build)"
        k = len(self.tables) + 1
        label = f"Table {self._num()}.{k}" if self.number is not None else f"Table {k}"
        filename = f"{self._prefix()}tab{k:02d}_{_slug(name)}.csv"
        path = self._path("tables", filename)
        table.to_csv(path, index=False)
        entry = {
            "label": label, "name": name, "caption": caption, "file": f"tables/{filename}",
            "rows": int(len(table)), "sources": list(sources or []),
            "disclosure": applied, "counts": list(counts or []),
            "derived": dict(derived or {}),
        }
        self.tables.append(entry)
        if self.public:
            self._write_disclosure_meta(path, entry)
        shown = table if show is None or len(table) <= show else table.head(show)
        body = format_table(shown, formats).to_html(index=False, classes="sna-table",
                                                     border=0, escape=True)
        foot = []
        if shown is not table:
            foot.append(f"First {len(shown):,} of {len(table):,} rows; the full table is "
                        f"<code>{html.escape(entry['file'])}</code>.")
        if note:
            foot.append(html.escape(note))
        if self.public:
            foot.append("Disclosure control: " + html.escape(
                _DISCLOSURE_TEXT.get(applied, applied)) + ".")
        cap = f"<strong>{label}.</strong> {html.escape(caption)}"
        text = f'<div class="sna-tablewrap"><p class="sna-caption">{cap}</p>{body}'
        if foot:
            text += '<p class="sna-tablenote">' + " ".join(foot) + "</p>"
        text += "</div>"
        self._show({"text/html": text, "text/plain": f"{label}. {caption}\n{shown}"},
                   {"kind": "table", "label": label, "caption": caption, "file": entry["file"],
                    "disclosure": applied})
        self._write_sidecar()
        return table

    def _apply_disclosure(self, table, rule, counts, derived, name):
        try:
            from . import disclosure
        except ImportError:
            raise DisclosureError(
                f"table {name!r} of chapter {self.name} needs disclosure rule {rule!r} in a "
                "public build, but sna.disclosure is not available; run a restricted build"
            ) from None
        return disclosure.apply(table, rule=rule, counts=list(counts), derived=dict(derived))

    def _write_disclosure_meta(self, path: Path, entry: dict) -> None:
        """Tell the output checker which rule a public CSV was made under."""
        meta_path = path.with_suffix(".meta.json")
        meta = {"table": entry["label"], "caption": entry["caption"], "rule": entry["disclosure"],
                "counts": entry["counts"], "derived": entry["derived"],
                "sources": entry["sources"], "chapter": self.name}
        meta_path.write_text(json.dumps(meta, indent=2), encoding="utf-8")

    # ---- maps --------------------------------------------------------------------------
    def map_layer(self, gdf, name: str, *, sources: Sequence[str] | None = None,
                  counts: Sequence[str] | None = None,
                  derived: Mapping[str, Any] | None = None) -> Path:
        """Write a GeoDataFrame as a GeoPackage layer ``maps/<prefix><name>.gpkg`` for QGIS.

        In a public build the attribute columns go through the same disclosure control as
        :meth:`table`.
        """
        import geopandas as gpd

        layer = gdf.copy()
        applied = "not applied (restricted build)"
        if self.public:
            applied = self.disclosure_rule(sources)
            counts = list(counts) if counts is not None else _guess_counts(layer.drop(columns="geometry"))
            if applied != "none" and (counts or derived):
                attrs = self._apply_disclosure(
                    layer.drop(columns=layer.geometry.name), applied, counts, derived or {}, name)
                layer = gpd.GeoDataFrame(attrs, geometry=layer.geometry.values, crs=layer.crs)
        filename = f"{self._prefix()}{_slug(name)}.gpkg"
        path = self._path("maps", filename)
        if path.exists():
            path.unlink()
        layer.to_file(path, layer=_slug(name), driver="GPKG")
        self.maps.append({"name": name, "file": f"maps/{filename}", "disclosure": applied,
                          "rows": int(len(layer))})
        self._write_sidecar()
        return path

    def ref(self, name: str) -> str | None:
        """The label ("Table 0.2", "Figure 4.1") of a table or figure shown earlier, by name."""
        for entry in self.tables + self.figures:
            if entry["name"] == name:
                return entry["label"]
        return None

    # ---- parameters --------------------------------------------------------------------
    def record(self, key: str, value: Any) -> None:
        """Record a parameter the chapter used (listed in the technical appendix)."""
        self.parameters[key] = _jsonable(value)
        self._write_sidecar()

    def record_attrs(self, obj, prefix: str) -> dict:
        """Record every automatic choice a library result carries in ``attrs["sna"]``."""
        meta = dict(getattr(obj, "attrs", {}).get("sna", {}))
        for k, v in meta.items():
            self.parameters[f"{prefix}.{k}"] = _jsonable(v)
        self._write_sidecar()
        return meta

    # ---- sidecar -----------------------------------------------------------------------
    def sidecar(self) -> dict:
        """What this chapter produced, as written to ``chapters/<name>.json``."""
        return {
            "chapter": self.name, "number": self.number, "title": self.title,
            "build": self.build, "figures": self.figures, "tables": self.tables,
            "maps": self.maps, "notes": self.notes, "parameters": self.parameters,
        }

    def _write_sidecar(self) -> None:
        path = self._path("chapters", f"{self.name}.json")
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.sidecar(), indent=2, default=str), encoding="utf-8")
        tmp.replace(path)

    def _num(self) -> int:
        return self.number if self.number is not None else 0

    def _prefix(self) -> str:
        return f"{self.number:02d}_" if self.number is not None else f"{_slug(self.name)}_"


def _md_escape(text: str) -> str:
    return str(text).replace("*", r"\*").replace("_", r"\_")


_COUNT_NAMES = re.compile(r"^(n|count|counts|total|incidents|events|victims|offenders|patients|"
                          r"participants|people|observed|o|x|n_.*|.*_n|.*_count|count_.*)$",
                          re.IGNORECASE)


def _guess_counts(table) -> list[str]:
    import pandas as pd

    out = []
    for c in table.columns:
        s = table[c]
        if (pd.api.types.is_integer_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
                and _COUNT_NAMES.match(str(c))):
            out.append(str(c))
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return _jsonable(value.item())
    except ImportError:  # pragma: no cover
        pass
    return str(value)


def read_sidecars(output_dir: str | os.PathLike) -> dict[str, dict]:
    """Every chapter sidecar of a run folder, by chapter name.

    >>> read_sidecars("/nonexistent")
    {}
    """
    folder = Path(output_dir) / "chapters"
    out: dict[str, dict] = {}
    if not folder.is_dir():
        return out
    for p in sorted(folder.glob("*.json")):
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            logger.warning("cannot read chapter sidecar %s", p)
            continue
        if isinstance(data, dict) and "chapter" in data:
            out[data["chapter"]] = data
    return out
