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
from .errors import ChapterError

#: What the report says where a rate would be and there is no population file.
NO_POPULATION = "rates need a population file"
from .formats import FORMATS
from .formatting import (
    auto_decimals,
    format_number,
    format_table,
    header_label,
    is_missing,
    round_as_shown,
    table_html,
)
from .inert import markdown_text, write_csv

__all__ = [
    "Chapter",
    "CHAPTER_TITLES",
    "FORMAT_LABELS",
    "chapter_number",
    "field_coverage",
    "header_label",
    "local_statistic",
    "join_words",
    "percent",
    "format_number",
    "auto_decimals",
    "round_as_shown",
    "format_table",
    "table_html",
    "read_sidecars",
    "run_info",
    "published_cells",
    "source_words",
    "HIDDEN_TAGS",
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


#: Plain-English names of the source formats, for prose.
FORMAT_LABELS: dict[str, str] = {name: spec.label for name, spec in FORMATS.items()}

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
    if part is None or is_missing(part):
        return "n/a"
    return f"{100 * float(part):.{decimals}f}%"


def local_statistic(fn, data, *, permutations: int = 999, escalate_to: int = 9999, **kwargs):
    """Run a permutation statistic (Gi*, local Moran), with more permutations when needed.

    With many areas, 999 permutations cannot reach significance (or the higher confidence
    levels) after a multiple-testing correction: the smallest p-value is 2/1000 (two-sided)
    and the correction multiplies it. :mod:`sna.hotspot` then records a
    ``resolution_warning``, and the statistic is run again with ``escalate_to`` permutations
    (Gi* with 9,999 permutations on 679 LSOAs takes well under a second). The result's ``attrs["sna"]`` records the number used.

    Parameters
    ----------
    fn
        :func:`sna.hotspot.gistar` or :func:`sna.hotspot.local_moran`.
    data
        Its input.
    permutations, escalate_to
        The default and the fallback number of permutations.
    **kwargs
        Passed to ``fn``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``fn``'s result.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> from sna import hotspot
    >>> n = [1, 0, 0, 0, 0, 1, 0, 9, 8, 9, 1, 0, 0, 8, 9, 8, 0, 0, 0, 9, 9, 9, 0, 0, 0, 1, 0,
    ...      0, 0, 0, 1, 0, 0, 0, 0, 1]  # a 3 x 3 block of high counts in a 6 x 6 grid
    >>> cells = gpd.GeoDataFrame({"n": n},
    ...     geometry=[box(x, y, x + 1, y + 1) for y in range(6) for x in range(6)], crs=27700)
    >>> local_statistic(hotspot.gistar, cells, correction=None).attrs["sna"]["gistar"]["permutations"]
    999
    >>> local_statistic(hotspot.gistar, cells).attrs["sna"]["gistar"]["permutations"]  # FDR: 999 too few
    9999
    """
    out = fn(data, permutations=permutations, **kwargs)
    key = getattr(fn, "__name__", "")
    if out.attrs.get("sna", {}).get(key, {}).get("resolution_warning") and escalate_to > permutations:
        out = fn(data, permutations=escalate_to, **kwargs)
    return out


#: The suffix of a category counted within serious violence only.
WITHIN_SERIOUS_VIOLENCE = " (serious violence only)"


def within_serious_violence(categories):
    """Category names for counts of serious violence only.

    Table A's category rows count every record of a police category (all "Violence against
    the person"); a chapter that counts only the records under the local definition of
    serious violence names its rows so, and one label never carries two numbers in a report.

    >>> import pandas as pd
    >>> out = within_serious_violence(pd.Series(["Robbery", None]))
    >>> out.iloc[0], bool(out.isna().iloc[1])
    ('Robbery (serious violence only)', True)
    """
    import pandas as pd

    s = pd.Series(categories, dtype="object")
    return s.mask(s.notna(), s.astype(str) + WITHIN_SERIOUS_VIOLENCE)


def source_words(config) -> dict[str, str]:
    """Each configured source's short name -> plain words for legends, source lines and
    spreadsheets (:data:`sna.plot.style.SOURCE_WORDS` of its format): ``ecds`` -> "A&E
    assault attendances"."""
    from .plot.style import SOURCE_WORDS

    return {name: SOURCE_WORDS[src.format] for name, src in config.sources.items()
            if src.format in SOURCE_WORDS and name != SOURCE_WORDS[src.format]}


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

    def sources_of(self, *formats: str) -> list[str]:
        """Names of the configured sources of these formats, in config order.

        >>> ch = Chapter("02_volume_and_trend", display=False)
        >>> ch.sources_of("police_uk", "police_extract")   # the bundled demo's police source(s)
        [...]
        """
        return [n for n, s in self.config.sources.items() if s.format in formats]

    @property
    def police_source(self) -> str | None:
        """The police source to analyse: a force extract if there is one, else data.police.uk."""
        for fmt in ("police_extract", "police_uk"):
            names = self.sources_of(fmt)
            if names:
                return names[0]
        return None

    def serious(self, source: str | None = None, *, year: bool = False):
        """Serious-violence incidents (of one source; of the assessment year if ``year``)."""
        inc = self.assessment.incidents
        mask = inc["serious_violence"].fillna(False).astype(bool)
        if source is not None:
            mask &= inc["source"] == source
        if year:
            mask &= inc["fy"] == str(self.year)
        return inc.loc[mask]

    def _path(self, sub: str, filename: str) -> Path:
        folder = self.output_dir / sub
        folder.mkdir(parents=True, exist_ok=True)
        return folder / filename

    # ---- showing things ----------------------------------------------------------------
    def _show(self, data: dict[str, Any], meta: dict[str, Any]) -> None:
        if not self.display_enabled:
            return
        from IPython.display import display

        if "text/markdown" in data:  # names from the config and data are text, never HTML
            data = {**data, "text/markdown": markdown_text(data["text/markdown"])}

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

    # ---- what the data cover: population, months, districts, categories ------------------
    @property
    def has_population(self) -> bool:
        """True when a population file gives the area's residents (rates can be computed)."""
        g = self.assessment.geography
        return "population" in g and float(g["population"].fillna(0).sum()) > 0

    def months_in_year(self, source: str | None = None) -> int:
        """How many of the assessment year's 12 months the data hold (of one source)."""
        return len(self.assessment.months_in_year(source))

    def rate_words(self, n: float, population: float | None = None, *,
                   source: str | None = None, per: int = 1000) -> str:
        """A rate as the report says it: "19.9 per 1,000 residents", labelled when the data
        cover only part of the year ("... in the 5 months covered, not a yearly rate"), or
        ``NO_POPULATION`` ("rates need a population file") when there is no population file."""
        if population is None:
            population = float(self.assessment.geography["population"].fillna(0).sum())
        if not population or population <= 0 or not self.has_population:
            return NO_POPULATION
        text = f"{n / population * per:.1f} per {per:,} residents"
        months = self.months_in_year(source)
        if 0 < months < 12:
            text += (f" in the {months} month{'s' if months != 1 else ''} covered (a rate for "
                     "part of the year, not a yearly rate)")
        return text

    def coverage_sentence(self, source: str | None = None) -> str:
        """What the data cover: the districts with records and the months of the year, said
        plainly (:meth:`sna.assessment.Assessment.coverage_text`)."""
        return self.assessment.coverage_text(source)

    def category_note(self, source: str | None = None) -> str | None:
        """What "serious violence" holds for a data.police.uk source (None for others): its
        crime types are broad, and the local definition names which are counted."""
        source = source or self.police_source
        if source is None or self.config.sources[source].format != "police_uk":
            return None
        from .definitions import police_uk_serious_violence_types

        types = list(police_uk_serious_violence_types(self.config.definition))
        return (f"data.police.uk publishes broad crime types only: its \"Violence and sexual "
                "offences\" type holds every violent and sexual offence recorded, from common "
                "assault, harassment and stalking to wounding, rape and homicide, and cannot be "
                "narrowed to the most serious. \"Serious violence\" here counts the crime types "
                f"of the local definition ({join_words(types)}), so it is wider than the "
                "Serious Violence Duty's definition; a force extract with offence codes narrows it.")

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
               dpi: int = 150, data: Sequence[Any] | None = None) -> Path:
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
        data
            The published tables (as :meth:`table` returned them) the figure is drawn from;
            their files are recorded in the sidecar (``tables``), and the output checker
            reports a figure whose table is not in the publication.

        Returns
        -------
        pathlib.Path
            The saved PNG. The file in ``figures/`` carries its number and caption above the
            picture and its source line (the source, the area and year; "synthetic data"
            for the demo) under it, so it keeps its context when lifted into another
            document; the report and the notebook show the picture under an HTML caption.
            Legend entries that are a source's short name (``ecds``) are written in plain
            words (:data:`sna.plot.style.SOURCE_WORDS`).
        """
        import matplotlib.pyplot as plt

        from .plot import style

        k = len(self.figures) + 1
        label = f"Figure {self._num()}.{k}" if self.number is not None else f"Figure {k}"
        filename = f"{self._prefix()}fig{k:02d}_{_slug(name)}.png"
        path = self._path("figures", filename)
        words = self.source_words()
        style.plain_legends(fig, words)
        source = _plain_source(source, words)
        under = getattr(fig, "_supxlabel", None)  # a map's own source line
        if under is not None:
            under.set_text(_plain_source(under.get_text(), words))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", facecolor="white",
                    metadata={"Software": None}, pil_kwargs=dict(style.PNG_OPTIONS))
        shown_map = getattr(fig, "_sna_map", None)
        plt.close(fig)
        png = buf.getvalue()
        # figures/ gets the picture that travels: its title above, its source line under it
        path.write_bytes(style.titled_png(png, f"{label}. {caption}",
                                          self._source_line(source), dpi=dpi))
        entry = {"label": label, "name": name, "caption": caption, "file": f"figures/{filename}",
                 "source": source}
        drawn_from = [getattr(t, "attrs", {}).get("sna", {}).get("published_file")
                      for t in (data or [])]
        if any(drawn_from):
            entry["tables"] = [f for f in drawn_from if f]
        if shown_map:
            entry["map"] = shown_map
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

    def source_words(self) -> dict[str, str]:
        """Each configured source's short name -> plain words (:func:`source_words`).

        >>> Chapter("02_volume_and_trend", display=False).source_words()["ecds"]
        'A&E assault attendances'
        """
        return source_words(self.config)

    def _source_line(self, source: str | None) -> str:
        """The line under a figure in ``figures/``: its source, the area and the year."""
        if self._assessment is not None:
            year = str(self._assessment.year)
        else:
            year = str(self._year or self.config.year or "")
        parts = [source.strip().rstrip(".") + "." if source else ""]
        parts.append(f"{self.config.area}, {year}." if year else f"{self.config.area}.")
        if self.synthetic:
            parts.append("Synthetic data: not real records.")
        return " ".join(p for p in parts if p)

    # ---- tables ------------------------------------------------------------------------
    def disclosure_rule(self, sources: Sequence[str] | None) -> str:
        """The disclosure rule for a table made from ``sources`` (config source names).

        The strictest (:func:`sna.disclosure.strictest`: ``nhs2018`` over ``legacy5`` over
        ``"none"``) of the sources' rules; ``"none"`` when every source is open data (or
        ``sources`` is empty: a table of open reference data); the config's
        ``disclosure.default_rule`` for names that are not configured sources. An NHS
        source (A&E / ECDS, ambulance, hospital: :data:`sna.disclosure.NHS_FORMATS`) is
        always under ``nhs2018``, whatever its configured rule.
        """
        from .disclosure.rules import source_rule, strictest

        if not sources:
            return "none"
        cfg = self.config
        return strictest(source_rule(cfg.sources[s]) if s in cfg.sources
                         else cfg.disclosure.default_rule for s in sources)

    def _rules_by_source(self, table, sources, column_sources, row_sources, skip):
        """The ``column_rules`` and ``row_rules`` of :func:`sna.disclosure.apply` for a table
        whose columns or rows come from different sources."""
        column_rules = None
        if column_sources:
            column_rules = {str(c): self.disclosure_rule(list(v) if not isinstance(v, str) else [v])
                            for c, v in column_sources.items()
                            if str(c) in table.columns and str(c) not in skip}
        row_rules = None
        if row_sources is not None:
            srcs = (table[row_sources].tolist() if isinstance(row_sources, str)
                    else list(row_sources))
            row_rules = [self.disclosure_rule([s]) if isinstance(s, str) and s else None
                         for s in srcs]
        return column_rules, row_rules

    def control(self, df, *, sources: Sequence[str] | None = None, rule: str | None = None,
                counts: Sequence[str] | None = None, derived: Mapping[str, Any] | None = None,
                totals: Sequence[str] | None = None,
                percentages: Mapping[str, Any] | None = None, dsr: Sequence[str] | None = None,
                column_sources: Mapping[str, Any] | None = None,
                row_sources: str | Sequence[str] | None = None, margins: bool = True,
                formats: Mapping[str, Any] | None = None, index: bool = False):
        """The table as :meth:`table` publishes it, without writing or showing it.

        Prose takes its numbers from here (:meth:`shown`), so a sentence and the table it
        summarises say the same thing in both builds: same rounding, same suppression,
        percentages from the published counts. Arguments as for :meth:`table`.
        """
        table = df.reset_index() if index else df.copy()
        table.columns = [str(c) for c in table.columns]
        # the CSV carries the numbers as the report shows them, not 16 digits
        table = round_as_shown(table, {str(k): v for k, v in (formats or {}).items()})
        if not self.public:
            return _restricted_percentages(table, percentages, totals)
        from . import disclosure

        skip = set(derived or {}) | set(percentages or {})
        column_rules, row_rules = self._rules_by_source(table, sources, column_sources,
                                                        row_sources, skip)
        applied = rule or self.disclosure_rule(sources)
        return disclosure.apply(
            table, rule=applied, counts=counts, derived=derived, totals=totals,
            percentages=percentages, dsr=dsr,
            source=",".join(sources) if sources else None,
            column_rules=column_rules, row_rules=row_rules, margins=margins)

    def shown(self, published, row: Any, column: str, *, label: str | None = None,
              decimals: int | None = None) -> str:
        """One number of a published table (:meth:`control` / :meth:`table`) for prose.

        ``row`` is a row position, or a value of the table's ``label`` column (default its
        first column). A suppressed cell reads "not published"; a missing
        one "not available". A suppressed cell may be a small count or one hidden to
        protect it, so the text says no more than "not published".
        """
        if isinstance(row, int) and label is None:
            v = published[column].iloc[row]
        else:
            lab = label or published.columns[0]
            hit = published.loc[published[lab] == row, column]
            if hit.empty:
                raise ChapterError(f"no row {row!r} in column {lab!r} of the table",
                                   key=str(column))
            v = hit.iloc[0]
        if isinstance(v, str) and v.strip() == "*":
            return "not published"
        if v is None or is_missing(v):
            return "not available"
        return format_number(v, decimals)

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
        totals: Sequence[str] | None = None,
        percentages: Mapping[str, Any] | None = None,
        dsr: Sequence[str] | None = None,
        show: int | None = 25,
        formats: Mapping[str, Any] | None = None,
        index: bool = False,
        note: str | None = None,
        column_sources: Mapping[str, Any] | None = None,
        row_sources: str | Sequence[str] | None = None,
        margins: bool = True,
    ):
        """Write a table to ``tables/`` and show it with its number and caption.

        Every table a chapter publishes goes through here, so a public build puts all of
        them under disclosure control (:func:`sna.disclosure.write_public_table`: the CSV
        plus the ``<stem>.meta.json`` the output checker reads) and says under each table
        which rule was applied.

        Parameters
        ----------
        df
            The table.
        name, caption
            File name stem and caption ("Table N.k." is prefixed).
        sources
            The config sources the counts come from; decides the rule
            (:meth:`disclosure_rule`). ``[]`` for tables with no counts of people or
            incidents (methods, sources, data-quality row counts).
        rule
            Override the rule (``"nhs2018"``, ``"legacy5"``, ``"none"``).
        counts, derived, totals, percentages, dsr
            As for :func:`sna.disclosure.apply`: the count columns (guessed when ``None``),
            the columns computed from them (``{column: count}``; suppressed with their
            count), total rows/columns, percentages to recompute, DSR columns.
        show
            Rows shown in the report (the CSV has all); ``None`` shows all.
        formats
            Display formats per column (see :func:`format_table`).
        index
            Keep the index as columns.
        note
            A line shown under the table.
        column_sources
            ``{column: [source, ...]}`` for count columns that come from other sources than
            the table's (a police column beside an A&E column): each column is put under its
            own sources' rule (:meth:`disclosure_rule`), the strictest where they combine.
        row_sources
            The sources of each row: a column of the table holding a source name per row,
            or a list; a cell takes the strictest of its column's and its row's rule.
        margins
            Protect ``legacy5`` count columns as though their totals were published (they
            usually are, in another table): see :func:`sna.disclosure.apply`. ``False`` only
            for a table whose rows do not add up to anything.
        percentages
            ``{column: count}`` (share of the column total) or ``{column: (count,
            denominator)}``: percentages to 1 decimal place, computed in both builds from
            the counts as published (rounded, suppressed), never from the raw counts.

        Returns
        -------
        pandas.DataFrame
            The table as published (after disclosure control in a public build, where a
            suppressed cell is the string ``"*"``): plot from this
            (:func:`sna.disclosure.as_numeric`) so charts never show more than the tables.
        """
        table = self.control(df, sources=sources, rule=rule, counts=counts, derived=derived,
                             totals=totals, percentages=percentages, dsr=dsr,
                             column_sources=column_sources, row_sources=row_sources,
                             margins=margins, formats=formats, index=index)
        k = len(self.tables) + 1
        label = f"Table {self._num()}.{k}" if self.number is not None else f"Table {k}"
        filename = f"{self._prefix()}tab{k:02d}_{_slug(name)}.csv"
        path = self._path("tables", filename)
        entry = {
            "label": label, "name": name, "caption": caption, "file": f"tables/{filename}",
            "rows": int(len(table)), "sources": list(sources or []),
        }
        if self.public:
            from . import disclosure

            disclosure.write_controlled_table(
                table, path, source=list(sources or []) or None, name=path.stem, index=False,
                caption=caption, chapter=self.name, label=label)
            meta = disclosure.table_meta(table, name=path.stem)
            applied = meta["rule"]
            entry.update({"disclosure": applied, "rule": applied, "counts": meta["counts"],
                          "derived": meta["derived"], "total_rows": meta["total_rows"],
                          "total_columns": meta["total_columns"]})
            for key in ("column_rules", "row_rules", "base_rule", "percentages"):
                if meta.get(key):
                    entry[key] = meta[key]
        else:
            write_csv(table, path, index=False)
            entry["disclosure"] = "not applied (restricted build)"
        self.tables.append(entry)
        table.attrs.setdefault("sna", {})["published_file"] = entry["file"]
        cut = show is not None and len(table) > show
        shown = table.head(show) if cut else table
        # a column with no value in any row (a measure these data cannot give) is left out
        # of the report's table; the CSV keeps it
        empty = [c for c in table.columns if len(table) and table[c].isna().all()]
        if empty:
            shown = shown.drop(columns=empty)
        body = table_html(shown, formats)
        if self.public:
            body = _with_disclosure_attrs(body, entry)
        foot = []
        if cut:
            foot.append(f"First {len(shown):,} of {len(table):,} rows; the full table is "
                        f"<code>{html.escape(entry['file'])}</code>.")
        if note:
            foot.append(html.escape(note))
        if empty:
            foot.append("Not shown, as no row has a value: "
                        + html.escape(join_words(header_label(c) for c in empty)) + ".")
        if self.public:
            used = sorted(set((entry.get("column_rules") or {}).values())
                          | {r for r in entry.get("row_rules") or [] if r}
                          | {entry["disclosure"]}) if (entry.get("column_rules")
                                                        or entry.get("row_rules")) else [
                entry["disclosure"]]
            col_rules = entry.get("column_rules") or {}
            for r in used:
                cols = [c for c in entry.get("counts", [])
                        if col_rules.get(c, entry.get("base_rule")) == r] if col_rules else []
                which = (" for " + join_words(header_label(c) for c in cols)) if cols else (
                    " for the rows of its sources" if entry.get("row_rules") else "")
                foot.append("Disclosure control (" + html.escape(r) + html.escape(which)
                            + "): " + html.escape(_disclosure_note(r)))
        cap = f"<strong>{label}.</strong> {html.escape(caption)}"
        text = f'<div class="sna-tablewrap"><p class="sna-caption">{cap}</p>{body}'
        if foot:
            text += '<p class="sna-tablenote">' + " ".join(foot) + "</p>"
        text += "</div>"
        meta_out = {"kind": "table", "label": label, "caption": caption, "file": entry["file"],
                    "disclosure": entry["disclosure"]}
        if self.public:
            meta_out.update({k: entry[k] for k in ("rule", "counts", "derived", "total_rows",
                                                   "total_columns", "column_rules", "row_rules",
                                                   "base_rule")
                             if k in entry})
        self._show({"text/html": text, "text/plain": f"{label}. {caption}"}, meta_out)
        self._write_sidecar()
        return table

    def count(self, n: Any, sources: Sequence[str] | None = None) -> str:
        """A count for prose, safe in a public build.

        In a restricted build (or for open data) the number with thousands separators; in a
        public build the count as the sources' rule would publish it: ``"fewer than 8"``
        for 1-7 and the nearest 5 otherwise under nhs2018, ``"fewer than 6"`` for 1-5 under
        legacy5.

        >>> ch = Chapter("06_people", output_dir="/tmp", display=False)
        >>> ch.count(1234, ["police"])
        '1,234'
        """
        if n is None or is_missing(n):
            return "unknown"
        n = int(n)
        if not self.public:
            return format_number(n)
        rule = self.disclosure_rule(sources)
        if rule == "none" or n == 0:
            return format_number(n)
        if rule == "nhs2018":
            return "fewer than 8" if n <= 7 else format_number(5 * int(n / 5 + 0.5))
        return "fewer than 6" if n <= 5 else format_number(n)

    def published_count(self, n: Any, sources: Sequence[str] | None = None) -> int | None:
        """A count as this build publishes it under its sources' rule: in a public build
        rounded to the nearest 5 under nhs2018 and ``None`` where the rule suppresses it
        (1-7 under nhs2018, 1-5 under legacy5); unchanged otherwise. Compute a change or a
        share from these, so it says no more than the published counts.

        >>> ch = Chapter("01_key_findings", output_dir="/tmp", display=False, build="public")
        >>> ch.published_count(352, ["ecds"]), ch.published_count(4, ["ecds"])
        (350, None)
        >>> ch.published_count(352, ["police"]), ch.published_count(4, ["police"])
        (352, None)
        """
        if n is None or is_missing(n):
            return None
        n = int(n)
        if not self.public:
            return n
        from .disclosure.rules import published_count

        return published_count(n, self.disclosure_rule(sources))

    # ---- maps --------------------------------------------------------------------------
    def map_layer(self, gdf, name: str, *, sources: Sequence[str] | None = None,
                  counts: Sequence[str] | None = None,
                  derived: Mapping[str, Any] | None = None,
                  column_sources: Mapping[str, Any] | None = None) -> Path:
        """Write a GeoDataFrame as a GeoPackage layer ``maps/<prefix><name>.gpkg`` for QGIS.

        In a public build the attribute columns go through the same disclosure control as
        :meth:`table` (with a ``<stem>.meta.json`` for the checker); count columns whose
        cells are suppressed are written as text. ``column_sources`` puts a count column of
        another source (A&E counts beside police counts) under that source's rule.
        """
        import geopandas as gpd

        layer_name = _slug(name)
        layer = gdf.copy()
        filename = f"{self._prefix()}{layer_name}.gpkg"
        path = self._path("maps", filename)
        entry = {"name": name, "file": f"maps/{filename}", "rows": int(len(layer))}
        if self.public:
            from . import disclosure

            applied = self.disclosure_rule(sources)
            if counts is not None and not list(counts) and not derived:
                applied = "none"  # no counts in the layer (e.g. a density surface)
            geom = layer.geometry.name
            plain = round_as_shown(layer.drop(columns=geom))  # rates to the report's precision
            if column_sources:
                applied = self.disclosure_rule([s for s in (sources or [])
                                                if s not in {x for v in column_sources.values()
                                                             for x in v}] or sources)
            column_rules, _ = self._rules_by_source(plain, sources, column_sources, None,
                                                    set(derived or {}))
            attrs = disclosure.apply(plain, rule=applied, counts=counts,
                                     derived=derived, totals=[],
                                     source=",".join(sources) if sources else None,
                                     column_rules=column_rules, margins=applied != "none")
            applied = attrs.attrs["sna"]["disclosure"]["rule"]
            meta = disclosure.table_meta(attrs, name=layer_name, chapter=self.name)
            for c in meta["counts"] + list(meta["derived"]):
                attrs[c] = attrs[c].map(lambda v: None if v is None else str(v))
            layer = gpd.GeoDataFrame(attrs, geometry=layer.geometry.values, crs=layer.crs)
            path.with_name(path.stem + ".meta.json").write_text(
                json.dumps({"file": filename, "tables": [meta]}, indent=2), encoding="utf-8")
            entry.update({"disclosure": applied, "rule": applied, "counts": meta["counts"],
                          "derived": meta["derived"], "table": layer_name})
            for key in ("column_rules", "base_rule"):
                if meta.get(key):
                    entry[key] = meta[key]
        else:
            entry["disclosure"] = "not applied (restricted build)"
        if path.exists():
            path.unlink()
        layer.to_file(path, layer=layer_name, driver="GPKG")
        self.maps.append(entry)
        self._write_sidecar()
        return path

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


def _restricted_percentages(table, percentages, totals):
    """A restricted build's percentage columns (1 decimal place), from the counts as they
    are: the same columns the public build computes from the published counts.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"g": ["a", "b"], "n": [1, 2]})
    >>> _restricted_percentages(t, {"share (%)": "n"}, None)["share (%)"].tolist()
    [33.3, 66.7]
    """
    import numpy as np

    from .disclosure.rules import is_total_label

    if not percentages:
        return table
    out = table.copy()
    names = {str(x).strip().casefold() for x in (totals or []) if isinstance(x, str)}
    text_cols = [c for c in out.columns if out[c].dtype == object]
    total_row = next((i for i in range(len(out)) if any(
        is_total_label(out[c].iloc[i]) or (isinstance(out[c].iloc[i], str)
                                           and out[c].iloc[i].strip().casefold() in names)
        for c in text_cols)), None) if totals != [] else None
    for p, spec in percentages.items():
        num, den = (spec if isinstance(spec, (tuple, list)) else (spec, None))
        x = out[num].astype(float).to_numpy()
        if den is None:
            d = x[total_row] if total_row is not None else np.nansum(x)
            d = np.full(len(x), d)
        else:
            d = out[den].astype(float).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out[p] = np.where(d > 0, np.round(100.0 * x / d, 1), np.nan)
    return out


def _disclosure_note(rule: str) -> str:
    if rule == "none":
        return "none needed; open data, or no counts of people or incidents."
    from .disclosure import suppression_note

    return suppression_note(rule)


def _with_disclosure_attrs(html_text: str, entry: dict) -> str:
    """Add the ``data-sna-*`` attributes the output checker reads to a ``<table>``."""
    def shown(name):  # the header as table_html shows it
        return str(name).replace("_", " ")

    both = dict(entry["derived"])
    for k, v in (entry.get("percentages") or {}).items():  # recomputed percentages
        both.setdefault(k, [c for c in (v if isinstance(v, list) else [v]) if c])
    derived = {shown(k): [shown(c) for c in (v if isinstance(v, list) else [v])]
               for k, v in both.items()}
    attrs = {
        "data-sna-rule": entry["rule"],
        "data-sna-counts": json.dumps([shown(c) for c in entry["counts"]]),
        "data-sna-derived": json.dumps(derived),
        "data-sna-total-rows": json.dumps(entry["total_rows"]),
        "data-sna-total-columns": json.dumps([shown(c) for c in entry["total_columns"]]),
    }
    if entry.get("column_rules"):
        attrs["data-sna-column-rules"] = json.dumps(
            {shown(k): v for k, v in entry["column_rules"].items()})
    if entry.get("row_rules"):
        attrs["data-sna-row-rules"] = json.dumps(entry["row_rules"])
    if entry.get("base_rule"):
        attrs["data-sna-base-rule"] = entry["base_rule"]
    extra = "".join(f' {k}="{html.escape(str(v), quote=True)}"' for k, v in attrs.items())
    return re.sub(r"<table\b([^>]*)>", lambda m: f"<table{m.group(1)}{extra}>", html_text, count=1)


def _plain_source(source: str | None, words: Mapping[str, str]) -> str | None:
    """A source line with the sources' short names in plain words.

    >>> _plain_source("Source: police.", {"police": "Police recorded crime"})
    'Source: Police recorded crime.'
    >>> _plain_source("Source: police_uk data", {"police": "Police recorded crime"})
    'Source: police_uk data'
    """
    if not source:
        return source
    for name, plain in words.items():
        source = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", plain, source)
    return source


def _md_escape(text: str) -> str:
    return str(text).replace("*", r"\*").replace("_", r"\_")


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


#: Cell tags of what a reader of the report never sees: the parameters and what papermill
#: adds (the injected parameters, its error cell).
HIDDEN_TAGS = frozenset({"parameters", "injected-parameters", "papermill-error-cell-tag"})


def published_cells(nb) -> list:
    """The cells of an executed chapter notebook that the report publishes (all but the
    parameter cells and papermill's own; see :data:`HIDDEN_TAGS`).

    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("year = None"),
    ...                                      nbformat.v4.new_markdown_cell("# 1. Title")])
    >>> nb.cells[0].metadata["tags"] = ["parameters"]
    >>> [c.cell_type for c in published_cells(nb)]
    ['markdown']
    """
    return [c for c in nb.cells
            if not HIDDEN_TAGS & set(c.get("metadata", {}).get("tags", []))]


def run_info(output_dir: str | os.PathLike) -> dict:
    """Area, year, build and synthetic flag of a run folder, from its ``manifest.json``
    (else the folder's names, a restricted build).

    >>> run_info("/nonexistent/somewhere/2020-21")["year"]
    '2020-21'
    """
    out = Path(output_dir)
    try:
        m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        m = {}
    return {"area": m.get("area") or out.parent.name, "year": m.get("year") or out.name,
            "build": m.get("build") or "restricted", "synthetic": bool(m.get("synthetic"))}


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
