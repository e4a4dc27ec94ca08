"""The Assessment: the one object a chapter or an analyst starts from.

:func:`load_assessment` reads and cleans every source of a config **once**, caches the clean
tables (Parquet; the geography as GeoParquet; the QualityLog as JSON) under the config's cache
folder keyed by the inputs' contents, the config and the version of ``sna``, and returns an
:class:`Assessment`. A second call with unchanged inputs reads the cache.

>>> import sna
>>> callable(sna.load_assessment)
True
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pandas as pd

from .config import Config, load_config
from .errors import AnalysisInputError
from .periods import FinancialYear
from .quality import QualityLog, empty_quarantine
from .schemas import INTERVENTION_COLUMNS, PARTICIPANT_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = ["Assessment", "load_assessment", "input_files", "cache_key"]

logger = logging.getLogger("sna")

Progress = Callable[[str], None]
_CACHE_FORMAT = 3  # 3: meta.json holds every file's SHA-256


def empty_table(columns: dict) -> pd.DataFrame:
    """An empty table with the columns (and dtypes) of a contract of :mod:`sna.schemas`."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, (d, _) in columns.items()})


class ConfiguredArea:
    """What an assessment and a results-only dataset (:mod:`sna.dataset`) both say of their
    config: the area's name and the sources."""

    config: Config

    @property
    def area(self) -> str:
        """The area's name."""
        return self.config.area

    @property
    def sources(self) -> list[str]:
        """Names of the configured sources."""
        return list(self.config.sources)


@dataclass
class Assessment(ConfiguredArea):
    """A configured area's cleaned data, for one assessment year.

    Attributes
    ----------
    config
        The loaded config.
    year
        The assessment's financial year.
    synthetic
        True for synthetic (demo) data: every output must say so.
    incidents
        All sources, all months available (canonical incidents table).
    geography
        One row per LSOA of the area (EPSG:27700).
    population
        Long: ``lsoa, age, population``: the estimate for the assessment year
        (:meth:`population_for`); the geography's ``population`` column is its total.
    populations
        Every estimate configured, long: ``year, lsoa, age, population`` (``year`` the
        mid-year; missing for a single file of unstated year).
    quality
        The QualityLog (per source: rows read, kept, set aside by reason, months...).
    quarantine
        Every set-aside row: ``source, file, line, reason, detail, record``.
    participants, interventions
        Intervention monitoring tables (empty without such a source).
    cache_key
        The key of the cached clean tables.
    cache_path
        Their folder (None when not cached).
    inputs
        The input files with their role, size, modification time and SHA-256 hash.
    notes
        Remarks on how the assessment was set up (e.g. how the year was chosen).
    """

    config: Config
    year: FinancialYear
    synthetic: bool
    incidents: pd.DataFrame
    geography: "gpd.GeoDataFrame"
    population: pd.DataFrame
    quality: QualityLog
    quarantine: pd.DataFrame
    participants: pd.DataFrame = field(default_factory=lambda: empty_table(PARTICIPANT_COLUMNS))
    interventions: pd.DataFrame = field(default_factory=lambda: empty_table(INTERVENTION_COLUMNS))
    populations: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"year": pd.Series(dtype="Int64"), "lsoa": pd.Series(dtype="str"), "age": pd.Series(dtype=int),
         "population": pd.Series(dtype=float)}))
    cache_key: str = ""
    cache_path: Path | None = None
    inputs: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def source(self, name: str) -> pd.DataFrame:
        """The incidents of one source (by its name in the config).

        Raises
        ------
        AnalysisInputError
            For a name that is not a source of the config.
        """
        if name not in self.config.sources:
            raise AnalysisInputError(
                f"no source named {name!r}; the sources are: {', '.join(self.config.sources)}"
            )
        inc = self.incidents
        return inc.loc[inc["source"] == name].reset_index(drop=True)

    def population_for(self, year=None) -> pd.DataFrame:
        """Population (``lsoa, age, population``) for a financial year (default: the assessment's).

        The ONS mid-year estimate of the year the financial year starts in, else the nearest
        available; ``attrs["sna"]`` says which year was used and why
        (:func:`sna.io.geography.population_for_year`).
        """
        from .io.geography import population_for_year

        if not len(self.populations):
            return self.population
        return population_for_year(self.populations, self.year if year is None else FinancialYear.parse(year))

    def population_years(self, years=None) -> pd.DataFrame:
        """The estimate each year uses (``fy, population_year, note``): by default the
        assessment year and its baseline years, for the methods table."""
        from .io.geography import population_years

        if years is None:
            years = [*self.year.baseline(self.config.baseline_years), self.year]
        return population_years(self.populations, years)

    def months_in_year(self, source: str | None = None) -> list[str]:
        """The months (``YYYY-MM``) of the assessment year that the data hold (of one source,
        else of any), from the QualityLog."""
        q = self.quality.sources
        names = [source] if source else list(q)
        year = {f"{p:%Y-%m}" for p in self.year.months}
        return sorted({m for n in names if n in q for m in q[n].months} & year)

    def coverage_text(self, source: str | None = None) -> str:
        """What the data cover, said plainly for titles and key findings: the districts with
        records (of the districts of the area) and the months of the year. The config's area
        name may be wider than the data (city data in a county-named config).

        Examples
        --------
        >>> from sna.datasets import nottingham_sample_config  # doctest: +SKIP
        >>> load_assessment(nottingham_sample_config()).coverage_text()  # doctest: +SKIP
        'The data cover 1 district (Nottingham) of Nottingham (sample), and 5 of the 12 months of 2018/19 (Oct 2018 to Feb 2019).'
        """
        from .periods import month_label

        inc = self.incidents if source is None else self.incidents[self.incidents["source"] == source]
        g = self.geography
        names = g.drop_duplicates("district").set_index("district")["district_name"].astype(str)
        districts = pd.Series(inc["district"].dropna().unique())  # not a string per record
        present = sorted(set(districts.astype(str)) & set(names.index))
        shown = [names[d] for d in present]
        span = self.months_in_year(source)
        n = len(span)
        when = (f"all 12 months of {self.year}" if n == 12 else
                f"{n} of the 12 months of {self.year} ({month_label(span[0])} to "
                f"{month_label(span[-1])})" if n else f"no month of {self.year}")
        if len(shown) <= 6:
            listed = ", ".join(shown[:-1]) + (" and " if len(shown) > 1 else "") + (shown[-1] if shown else "")
            where = f"{len(shown)} district{'s' if len(shown) != 1 else ''} ({listed})"
        else:
            where = f"{len(shown)} districts"
        of_all = f" of the {len(names)} in the area" if len(shown) < len(names) else ""
        return f"The data cover {where}{of_all} of {self.config.area}, and {when}."

    def in_year(self, year=None) -> pd.DataFrame:
        """Incidents of one financial year (the assessment year by default)."""
        fy = self.year if year is None else FinancialYear.parse(year)
        return self.incidents.loc[self.incidents["fy"] == str(fy)].reset_index(drop=True)

    def __repr__(self) -> str:
        tag = " SYNTHETIC DATA" if self.synthetic else ""
        return (f"<Assessment {self.area!r} {self.year}{tag}: {len(self.incidents):,} incidents "
                f"from {len(self.config.sources)} source(s), {len(self.geography)} LSOAs>")


# --------------------------------------------------------------------------------------------
# inputs and the cache key
# --------------------------------------------------------------------------------------------
def input_files(config: Config) -> list[Path]:
    """Every input file a config reads (sources, boundaries, lookups, population, IMD).

    The paths of ``sna.io._files.input_files`` (which gives each file's role too), sorted.
    Folders are listed recursively; bundled reference lookups are not listed (they are part of
    the installed version of sna).

    Raises
    ------
    InputFormatError
        When a configured path does not exist.

    Examples
    --------
    >>> from sna.datasets import nottingham_sample_config
    >>> files = input_files(load_config(nottingham_sample_config()))
    >>> sorted({f.suffix for f in files})
    ['.csv', '.json']
    """
    from .io._files import input_files as roles_and_files

    return sorted({p for _, p in roles_and_files(config)}, key=str)


def input_fingerprints(config: Config, *, content: bool = True) -> list[dict]:
    """The role and fingerprint of every input file (``sna.io._files.input_files``); the
    contents hashed on a few threads (hashlib releases the GIL), and not at all when nothing is
    cached (``content=False``: size and time only). Computed once per run: the manifest reuses
    them."""
    from .io._files import file_fingerprint
    from .io._files import input_files as roles_and_files

    files = roles_and_files(config)
    paths = [p for _, p in files]
    if not content or len(paths) < 4:
        prints = [file_fingerprint(f, content=content) for f in paths]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as ex:
            prints = list(ex.map(file_fingerprint, paths))
    return [{"role": role, **fp} for (role, _), fp in zip(files, prints)]


def cache_key(config: Config, inputs: list[dict]) -> str:
    """Hash of the sna version, the config and the inputs' fingerprints."""
    from . import __version__

    payload = {
        "cache_format": _CACHE_FORMAT,
        "version": __version__,
        # the code that reads and cleans: a change to it (even within one version) is a new cache
        "code": _code_fingerprint(),
        # the engine changes how the tables are made, never what they hold; the report section
        # only what is written around them
        "config": config.model_dump(mode="json", exclude={"engine", "report"}),
        "config_path": str(config.config_path) if config.config_path else None,
        "inputs": [{k: v for k, v in i.items()} for i in inputs],
        # pseudonyms depend on the key: a new key must not serve pseudonyms made with the old one
        "pseudonymisation_key": _key_fingerprint(config),
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


_CODE_FINGERPRINT: str | None = None


def _code_fingerprint() -> str:
    """Hash of the source of the modules that make the cached tables (computed once)."""
    global _CODE_FINGERPRINT
    if _CODE_FINGERPRINT is None:
        root = Path(__file__).resolve().parent
        files = sorted(
            [*root.glob("io/**/*.py"), *(root / n for n in (
                "clean.py", "definitions.py", "privacy.py", "schemas.py", "quality.py",
                "assessment.py", "engine.py", "config.py", "periods.py",
            ))]
        )
        h = hashlib.sha256()
        for f in files:
            if f.exists():
                h.update(f.name.encode())
                h.update(f.read_bytes())
        ref = root / "datasets" / "reference" / "ho_offence_codes.csv"
        if ref.exists():
            h.update(ref.read_bytes())
        _CODE_FINGERPRINT = h.hexdigest()[:16]
    return _CODE_FINGERPRINT


def _key_fingerprint(config: Config) -> str | None:
    """Public fingerprint of the pseudonymisation key (never the key), for partner sources."""
    if all(src.format == "police_uk" for src in config.sources.values()):
        return None
    from .errors import PrivacyError
    from .privacy import key_fingerprint

    try:
        return key_fingerprint(config)
    except PrivacyError:  # reported when a source with identifiers is read
        return None


# --------------------------------------------------------------------------------------------
# building and caching
# --------------------------------------------------------------------------------------------
def _build(config: Config, progress: Progress | None) -> dict:
    from .clean import concat_incidents, get_cleaner
    from .io.geography import geography_summary, load_geography

    if progress:
        progress("reading the geography")
    geography, population, populations = load_geography(config, with_years=True)
    quality = QualityLog(synthetic=config.synthetic, geography=geography_summary(geography))
    incidents, quarantines = [], []
    tables: dict[str, list[pd.DataFrame]] = {"participants": [], "interventions": []}
    for name, src in config.sources.items():
        cleaner = get_cleaner(src.format)
        if progress:
            progress(f"source {name!r} ({src.format})")
        t0 = time.perf_counter()
        res = cleaner(name, src, config, geography, progress=progress)
        logger.info("source %s cleaned in %.1f s", name, time.perf_counter() - t0)
        quality.add(res.quality)
        incidents.append(res.incidents)
        if len(res.quarantine):
            quarantines.append(res.quarantine)
        for k, v in (res.tables or {}).items():
            tables.setdefault(k, []).append(v)
    inc = concat_incidents(incidents)
    quarantine = pd.concat(quarantines, ignore_index=True) if quarantines else empty_quarantine()
    out = {
        "incidents": inc,
        "geography": geography,
        "population": population,
        "populations": populations,
        "quality": quality,
        "quarantine": quarantine,
        **stack_tables(tables),
    }
    return out


def stack_tables(tables: dict[str, list[pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """The sources' intervention monitoring tables, each stacked (empty when no source has
    it): ``participants`` and ``interventions``."""
    return {
        "participants": (pd.concat(tables["participants"], ignore_index=True)
                         if tables["participants"] else empty_table(PARTICIPANT_COLUMNS)),
        "interventions": (pd.concat(tables["interventions"], ignore_index=True)
                          if tables["interventions"] else empty_table(INTERVENTION_COLUMNS)),
    }


_TABLES = ("incidents", "population", "populations", "quarantine", "participants", "interventions")


def _file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file of a cache folder but ``meta.json``, by relative path."""
    from .io._files import file_sha256

    return {p.relative_to(folder).as_posix(): file_sha256(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "meta.json"}


#: A temporary cache folder: ``.<key>.tmp-<pid>-<random>`` (the pid tells a live write apart).
_TMP_MARK = ".tmp-"


_TMP_NEW = re.compile(r"^\.[0-9a-f]{20}\.tmp-(\d+)-\w+$")
_TMP_OLD = re.compile(r"^\.[0-9a-f]{20}\.\w{8}$")


def _remove_stale_temps(cache_dir: Path) -> None:
    """Remove the temporary folders of cache writes that did not finish (their process is
    gone: a killed run); those of an earlier version of sna (no process id in the name)
    once they are a day old. Nothing else in the folder is touched."""
    if not cache_dir.is_dir():
        return
    for p in cache_dir.iterdir():
        new, old = _TMP_NEW.match(p.name), _TMP_OLD.match(p.name)
        if not (new or old) or not p.is_dir():
            continue
        if new:
            pid = int(new.group(1))
            if pid == os.getpid():
                continue
            try:
                os.kill(pid, 0)
                continue  # a write under way in another process
            except ProcessLookupError:
                pass
            except PermissionError:  # another user's live process
                continue
        else:
            try:
                if time.time() - p.stat().st_mtime < 86400:
                    continue
            except OSError:
                continue
        logger.info("removing the temporary cache folder %s of a write that did not finish", p)
        shutil.rmtree(p, ignore_errors=True)


def _write_cache(folder: Path, data: dict, meta: dict) -> None:
    """Write the cache atomically: every file into a temporary folder beside it, their
    SHA-256 into ``meta.json`` (checked when read), then one rename."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}{_TMP_MARK}{os.getpid()}-",
                                dir=folder.parent))
    try:
        population_attrs = dict(data["population"].attrs.get("sna", {}))
        for name in _TABLES:
            df = data[name]
            attrs, df.attrs = df.attrs, {}
            df.to_parquet(tmp / f"{name}.parquet", index=False)
            df.attrs = attrs
        geo = data["geography"]
        geo_attrs = dict(geo.attrs)
        geo.attrs = {}
        geo.to_parquet(tmp / "geography.parquet", index=False)
        geo.attrs = geo_attrs
        (tmp / "quality.json").write_text(data["quality"].to_json(), encoding="utf-8")
        meta = dict(meta, geography_attrs=geo_attrs.get("sna", {}),
                    population_attrs=population_attrs, files=_file_hashes(tmp))
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        try:
            os.replace(tmp, folder)
        except OSError:  # another process wrote it first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def restore_categoricals(inc: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns of a table read from Parquet as the incidents table has them:
    Parquet gives back an all-missing categorical as object: make it categorical again."""
    from .schemas import CATEGORICAL_COLUMNS

    for col in CATEGORICAL_COLUMNS:
        if col not in inc:
            continue
        if isinstance(inc[col].dtype, pd.CategoricalDtype):
            cats = inc[col].cat.categories
            if cats.dtype != "str":
                inc[col] = inc[col].cat.set_categories(pd.Index([str(c) for c in cats], dtype="str"))
        else:
            values = inc[col].astype("string")
            cats = pd.Index(sorted(values.dropna().unique()), dtype="str")
            inc[col] = values.astype(pd.CategoricalDtype(cats))
    return inc


class _CacheDamaged(Exception):
    pass


class _LastRead:
    """The tables of the cache folder this process read last, kept for the next read of the
    same folder with the same file hashes. A chapter kernel of ``sna run`` runs several
    chapters one after another, each loading the assessment: the Parquet files are read once
    per kernel, and every load gets its own copy of the tables."""

    folder: Path | None = None
    files: dict | None = None  # meta.json's hashes, all checked when the tables were read
    tables: dict | None = None  # name -> DataFrame, as read (restored categoricals, attrs)
    quality: str | None = None  # quality.json's text


_last_read = _LastRead()


def _copied_tables(tables: dict, quality: str) -> dict:
    """A load's own copy of the remembered tables (a chapter may add columns to them) and
    its own QualityLog."""
    data = {name: df.copy() for name, df in tables.items()}
    data["quality"] = QualityLog.from_dict(json.loads(quality))
    return data


def _read_cache(folder: Path) -> tuple[dict, dict] | str:
    """The cached tables and meta, or why the cache cannot be used (damaged, partial or
    changed since it was written: every file is checked against its SHA-256). The tables of
    the folder read last in this process are copied instead of read again when every hash
    still matches (:class:`_LastRead`)."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        expected = meta.get("files")
        if not isinstance(expected, dict) or not expected:
            raise _CacheDamaged("meta.json lists no file hashes")
        found = _file_hashes(folder)
        bad = sorted(n for n in set(expected) | set(found) if expected.get(n) != found.get(n))
        if bad:
            raise _CacheDamaged(f"{', '.join(bad)} changed, missing or unexpected")
        last = _last_read
        if last.folder != folder.resolve() or last.files != found:
            tables, quality = _read_tables(folder, meta)
            last.folder, last.files, last.tables, last.quality = (folder.resolve(), found,
                                                                  tables, quality)
        data = _copied_tables(last.tables, last.quality)
    except Exception as exc:  # a damaged or partial cache is rebuilt
        return f"{type(exc).__name__ if not isinstance(exc, _CacheDamaged) else 'damaged'}: {exc}"
    return data, meta


def _read_tables(folder: Path, meta: dict) -> tuple[dict, str]:
    """The tables of a checked cache folder, and the text of its QualityLog."""
    import geopandas as gpd

    tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in _TABLES}
    tables["incidents"] = restore_categoricals(tables["incidents"])
    geo = gpd.read_parquet(folder / "geography.parquet")
    geo.attrs["sna"] = meta.get("geography_attrs", {})
    tables["geography"] = geo
    tables["population"].attrs["sna"] = meta.get("population_attrs", {})
    return tables, (folder / "quality.json").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# the year
# --------------------------------------------------------------------------------------------
def latest_complete_year(incidents: pd.DataFrame) -> FinancialYear | None:
    """The latest financial year with all 12 months present in the incidents (None if none).

    Examples
    --------
    >>> inc = pd.DataFrame({"month": pd.date_range("2019-01-01", "2021-02-01", freq="MS")})
    >>> str(latest_complete_year(inc))
    '2019/20'
    """
    if incidents.empty:
        return None
    months = pd.Series(pd.unique(incidents["month"].dropna()))
    if months.empty:
        return None
    months = pd.to_datetime(months)
    fy = months.dt.year - (months.dt.month < 4).astype(int)
    counts = fy.value_counts()
    complete = counts[counts >= 12]
    if complete.empty:
        return None
    return FinancialYear(int(complete.index.max()))


def choose_year(config: Config, year, incidents: pd.DataFrame) -> tuple[FinancialYear, str | None]:
    """The assessment year: ``year`` if given, else the config's, else the latest financial
    year complete in ``incidents`` (any frame with a ``month`` column), else the year of the
    latest month (with a note saying so)."""
    if year is not None:
        return FinancialYear.parse(year), None
    if config.fy is not None:
        return config.fy, None
    fy = latest_complete_year(incidents)
    if fy is not None:
        return fy, None
    months = incidents["month"].dropna() if not incidents.empty else pd.Series(dtype="datetime64[ns]")
    if months.empty:
        raise AnalysisInputError(
            "no incidents with a month were kept, so the assessment year cannot be chosen: "
            "set 'year' in sna.yml or check the sources (sna validate)"
        )
    last = months.max()
    fy = FinancialYear(int(last.year - (last.month < 4)))
    return fy, (f"no financial year is complete in the data: the assessment year is {fy}, "
                "the year of the latest month (set 'year' in sna.yml to choose)")


def _months_of(values) -> set[str]:
    if values is None or len(values) == 0:
        return set()
    m = pd.to_datetime(pd.Series(pd.unique(values.dropna())), errors="coerce").dropna()
    return set(m.dt.strftime("%Y-%m"))


def year_coverage(fy: FinancialYear, incidents: pd.DataFrame, participants=None,
                  config: Config | None = None, *, given: str = "year") -> str | None:
    """How much of the financial year ``fy`` the data cover: None when every month of it is
    in the data; a note when only some months are (the year runs, and says so).

    Raises
    ------
    ConfigError
        When no month of ``fy`` is in any source (incidents, participants' start dates):
        naming the year, the config key (or ``--year``) and the months the data hold.

    Examples
    --------
    >>> inc = pd.DataFrame({"month": pd.date_range("2018-10-01", "2019-02-01", freq="MS")})
    >>> year_coverage(FinancialYear(2018), inc)
    'the assessment year 2018/19 is partly covered: 5 of its 12 months are in the data (2018-10..2019-02); rates and counts for it are for those months only'
    >>> year_coverage(FinancialYear(2023), inc)
    Traceback (most recent call last):
    ...
    sna.errors.ConfigError: the assessment year 2023/24 (year) is outside the data: no source has a month in 2023-04..2024-03 (the data cover 2018-10..2019-02); choose a year the data cover with 'year' in sna.yml or --year
    """
    from .errors import ConfigError

    have = set()
    if incidents is not None and "month" in incidents:
        have |= _months_of(incidents["month"])
    if participants is not None and len(participants) and "start_date" in participants:
        have |= _months_of(participants["start_date"])
    wanted = [f"{m:%Y-%m}" for m in pd.date_range(fy.start, periods=12, freq="MS")]
    inside = sorted(set(wanted) & have)
    span = f"{min(have)}..{max(have)}" if have else "no month at all"
    if not inside:
        raise ConfigError(
            f"the assessment year {fy} ({given}) is outside the data: no source has a month in "
            f"{wanted[0]}..{wanted[-1]} (the data cover {span}); choose a year the data cover "
            "with 'year' in sna.yml or --year",
            file=config.config_path if config is not None else None,
        )
    if len(inside) < 12:
        return (f"the assessment year {fy} is partly covered: {len(inside)} of its 12 months are "
                f"in the data ({inside[0]}..{inside[-1]}); rates and counts for it are for those "
                "months only")
    return None


def assessment_year(config: Config, year, incidents: pd.DataFrame,
                    participants: pd.DataFrame | None = None) -> tuple[FinancialYear, list[str]]:
    """The assessment year (:func:`choose_year`) and the notes on it: how it was chosen, and
    how much of it the data cover (:func:`year_coverage`). ``incidents``: any frame with a
    ``month`` column (the incidents, or counts by month)."""
    fy, note = choose_year(config, year, incidents)
    if note:
        logger.warning(note)
    notes = [note] if note else []
    coverage = year_coverage(fy, incidents, participants, config,
                             given="--year" if year is not None else "year")
    if coverage:  # (in the QualityLog's notes and the report, not a warning on every run)
        logger.info(coverage)
        notes.append(coverage)
    return fy, notes


def year_geography(fy: FinancialYear, geography: "gpd.GeoDataFrame", population: pd.DataFrame,
                   populations: pd.DataFrame) -> tuple["gpd.GeoDataFrame", pd.DataFrame]:
    """The geography and population of the year ``fy``: the estimate for that year when
    several are configured (its total in the geography's ``population``), else as read."""
    if len(populations):
        from .io.geography import population_for_year, with_population

        method = population.attrs.get("sna", {}).get("population_age_method")
        population = population_for_year(populations, fy)
        population.attrs["sna"]["population_age_method"] = method
        geography = with_population(geography, population)
    return geography, population


# --------------------------------------------------------------------------------------------
# the entry point
# --------------------------------------------------------------------------------------------
def load_assessment(
    config: "str | os.PathLike | dict | Config | None" = None,
    year: "str | int | FinancialYear | None" = None,
    *,
    use_cache: bool = True,
    progress: Progress | None = None,
    engine=None,
) -> Assessment:
    """Load, clean (once) and cache an area's data for an assessment year.

    Parameters
    ----------
    config
        A path to ``sna.yml`` (or its folder), a mapping, a :class:`~sna.config.Config`, or
        None for the bundled demo (:func:`sna.datasets.demo_config`).
    year
        The assessment's financial year ("2020/21"); by default the config's ``year``, else
        the latest financial year complete in the data (else the year of the latest month,
        noted in the QualityLog).
    use_cache
        Reuse (and write) the clean tables cached under ``config.cache_dir()``; False reads
        and cleans from the raw files and writes nothing (the inputs' contents are then not
        hashed: ``inputs`` holds their size and modification time only).
    progress
        Called with short messages while reading (the command line prints them).
    engine
        ``"pandas"`` or ``"dask"`` (or a Dask ``distributed.Client``): overrides the config's
        ``engine`` for reading and cleaning (:mod:`sna.engine`); same results either way.

    Returns
    -------
    Assessment

    Raises
    ------
    SnaError
        ConfigError, InputFormatError, GeographyError naming the file, line or key.

    Notes
    -----
    The cache key hashes the version of sna, the config and every input file's size,
    modification time and contents (SHA-256), so an edited input or config is read again.
    The year is not part of the key: one cache serves every year.

    Examples
    --------
    >>> import tempfile
    >>> from sna.datasets import nottingham_sample_config
    >>> cfg = load_config(nottingham_sample_config()).model_copy(update={"cache": tempfile.mkdtemp()})
    >>> a = load_assessment(cfg)
    >>> str(a.year), len(a.incidents), a.quality.sources["police"].rows_read
    ('2018/19', 24123, 24988)
    >>> load_assessment(cfg).cache_key == a.cache_key
    True
    """
    from .datasets import demo_config

    cfg = load_config(demo_config() if config is None else config)
    if engine is not None:
        from .engine import engine_settings

        cfg = cfg.model_copy(update={"engine": engine_settings(engine, cfg)})
    inputs = input_fingerprints(cfg, content=use_cache)
    key = cache_key(cfg, inputs)
    folder = cfg.cache_dir() / key
    data = None
    notes: list[str] = []
    if use_cache:
        _remove_stale_temps(folder.parent)
    if use_cache and folder.is_dir():
        cached = _read_cache(folder)
        if isinstance(cached, str):  # damaged: rebuilt from the raw files, and said so
            note = f"the cache {folder} could not be used ({cached}): rebuilt from the input files"
            logger.warning(note)
            notes.append(note)
            if progress:
                progress(note)
            shutil.rmtree(folder, ignore_errors=True)
        else:
            data, _ = cached
            logger.info("clean tables read from the cache %s", folder)
            if progress:
                progress(f"using the cache {folder}")
    if data is None:
        data = _build(cfg, progress)
        if use_cache:
            meta = {"key": key, "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "inputs": inputs,
                    "area": cfg.area}
            try:
                _write_cache(folder, data, meta)
            except OSError as exc:
                logger.warning("could not write the cache %s: %s", folder, exc)
    fy, year_notes = assessment_year(cfg, year, data["incidents"], data.get("participants"))
    notes += year_notes
    geography, population = year_geography(fy, data["geography"], data["population"],
                                           data["populations"])
    return Assessment(
        config=cfg,
        year=fy,
        synthetic=bool(cfg.synthetic),
        incidents=data["incidents"],
        geography=geography,
        population=population,
        populations=data["populations"],
        quality=data["quality"],
        quarantine=data["quarantine"],
        participants=data["participants"],
        interventions=data["interventions"],
        cache_key=key,
        cache_path=folder if use_cache else None,
        inputs=inputs,
        notes=notes,
    )
