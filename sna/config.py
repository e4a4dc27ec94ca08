"""The typed configuration (``sna.yml``), loaded and validated with pydantic.

Relative paths in the file resolve against the folder of the config file. Every error names
the config file and the key path (``sources.police.path``) and, for a misspelt key, suggests
the nearest valid one.

A minimal config::

    area: Nottingham
    year: 2018/19
    partnerships:
      Nottingham City: [E06000018]
    geography:
      boundaries: boundaries/E06000018.json
    sources:
      police:
        format: police_uk
        path: police/
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .formats import FORMATS
from .periods import FinancialYear, check_date_format

__all__ = [
    "Config",
    "GeographyConfig",
    "SourceConfig",
    "DefinitionConfig",
    "TableAConfig",
    "PrivacyConfig",
    "DisclosureConfig",
    "EngineConfig",
    "ReportConfig",
    "load_config",
    "SOURCE_FORMATS",
]

#: The source formats (the registry :data:`sna.formats.FORMATS` says what reads each).
SOURCE_FORMATS = tuple(FORMATS)

DisclosureRule = Literal["nhs2018", "legacy5", "none"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, populate_by_name=True)


class GeographyConfig(_Model):
    """Where the LSOA geography comes from."""

    boundaries: str | list[str] = Field(
        description="LSOA boundary file(s): any format geopandas reads (GeoJSON, GeoPackage, "
        "shapefile), a folder of them, a glob, or a list.",
        examples=["boundaries/"],
    )
    lsoa_column: str | None = Field(
        None, description="Column holding the LSOA code; detected (LSOA11CD, LSOA21CD, ...) if omitted."
    )
    lsoa_vintage: Literal[2011, 2021] | None = Field(
        None, description="LSOA vintage of the boundaries; detected from the column name if omitted."
    )
    lsoa_to_district: str | None = Field(
        None,
        description="CSV lookup from LSOA to local authority district; the bundled national "
        "2011 LSOA -> 2021 district lookup is used if omitted.",
    )
    district_to_csp: str | None = Field(
        None,
        description="CSV lookup from district to Community Safety Partnership and police force "
        "area; the bundled 2024 lookup is used if omitted.",
    )
    lsoa_best_fit: str | None = Field(
        None,
        description="Best-fit lookup between 2011 and 2021 LSOAs ('bundled' for the ONS lookup), "
        "used to harmonise records coded on another vintage than the boundaries. Without it, "
        "mixed vintages in records are an error. (Population and deprivation files of the other "
        "vintage are always converted with the bundled ONS lookup.)",
    )
    population: str | dict[int, str] | None = Field(
        None,
        description="Population by LSOA (single year of age, wide, or age bands), on 2011 or "
        "2021 LSOAs (converted to the boundaries' vintage). One file, or several ONS mid-year "
        "estimates as a mapping year -> file: each financial year then uses the estimate of the "
        "year it starts in (mid-2020 for 2020/21), else the nearest year available (stated).",
        examples=["population/population20_lsoa11.csv.gz",
                  {2019: "population/population19_lsoa11.csv", 2020: "population/population20_lsoa11.csv"}],
    )
    population_year: int | None = Field(
        None, description="Mid-year of the estimate when population is one file (for the report "
        "and the choice of year); optional."
    )
    imd: str | list[str] | None = Field(
        None,
        description="Deprivation index by LSOA as published: English IMD 2019 File 1 (2011 LSOAs), "
        "English Indices of Deprivation 2025 File 1 (2021 LSOAs) or Welsh WIMD 2019 ranks (2011 "
        "LSOAs); a list for an area in both nations. 'bundled-wimd2019' for the bundled WIMD "
        "2019 ranks. Converted to the boundaries' vintage by best fit; deciles stay those of "
        "their own index.",
    )
    level: Literal["lsoa", "msoa", "ward"] = Field(
        "lsoa",
        description="The areas of chapter 4's hot spots (Gi*) and clusters (local Moran): LSOAs, "
        "neighbourhoods (MSOAs) or electoral wards. The LSOA and ward tables and maps are shown "
        "whatever the level.",
    )
    deprivation_index: Literal["auto", "imd2019", "iod2025", "wimd2019"] = Field(
        "auto",
        description="Which index the imd file is (detected from its columns with 'auto').",
    )


class SourceConfig(_Model):
    """One input source."""

    format: Literal[SOURCE_FORMATS] = Field(  # type: ignore[valid-type]
        description="The file format / source family."
    )
    path: str | list[str] = Field(
        description="A file, a folder, a glob, a zip archive, or a list of them."
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Column mapping: canonical name -> the name used in this source's files.",
        examples=[{"record_id": "CrimeRef", "date": "CommittedFrom"}],
    )
    interventions_table: str | None = Field(
        None, description="(interventions only) the table of interventions: name, provider, "
        "level, funding stream, cost."
    )
    disclosure: DisclosureRule | None = Field(
        None,
        description="Disclosure rule for the public build; default nhs2018 for health sources, "
        "legacy5 for force extracts and interventions, none for data.police.uk.",
    )
    sheet: str | int | None = Field(
        None, description="Excel sheet to read (Excel inputs). Required when a workbook has "
        "data on several sheets (sna refuses to guess which one).")
    date_format: str | None = Field(
        None,
        description="(partner data) how the source writes numeric dates: 'dayfirst' "
        "(dd/mm/yyyy, UK), 'monthfirst' (mm/dd/yyyy, US), 'iso' (yyyy-mm-dd), or a strptime "
        "pattern ('%m/%d/%Y %H:%M'). Without it each date column's order is inferred from all its "
        "values; a column where every value reads both ways (every day 12 or less), or that mixes "
        "both orders, stops with an error asking for this key.",
        examples=["dayfirst", "%m/%d/%Y %H:%M"],
    )
    repeated_months: Literal["error", "ignore_later"] = Field(
        "error",
        description="(police_uk) a force-month found in two files (a month as a folder and "
        "inside the zip, or a copy '... (1).csv'): 'error' stops with both files named; "
        "'ignore_later' reads the first only and says so in the QualityLog.",
    )
    encoding: str = Field("utf-8", description="Text encoding of CSV inputs.")

    @field_validator("date_format")
    @classmethod
    def _check_date_format(cls, v):
        if v is None:
            return v
        return check_date_format(v)

    @property
    def default_disclosure(self) -> str:
        if self.disclosure is not None:
            return self.disclosure
        return FORMATS[self.format].disclosure


class TableAConfig(_Model):
    """How the board report's Table A counts police-recorded crime."""

    homicide_in_violence_against_the_person: bool = Field(
        True,
        description="Count homicide within 'Violence against the person', as the ONS "
        "offence group does (False: the SNA category, without homicide).",
    )
    date: Literal["offence", "recorded"] = Field(
        "offence",
        description="Year of a crime by its offence date (when the violence happened) or "
        "its recorded date (as ONS police recorded crime statistics); 'recorded' needs the "
        "source's recorded_date column.",
    )


class DefinitionConfig(_Model):
    """The local definition of serious violence."""

    police_uk_serious_violence: list[str] = Field(
        default_factory=lambda: [
            "Violence and sexual offences",
            "Robbery",
            "Possession of weapons",
        ],
        description="data.police.uk crime types counted as serious violence.",
    )
    serious_violence_categories: list[str] = Field(
        default_factory=lambda: [
            "Homicide",
            "Violence with injury",
            "Robbery",
            "Sexual offences",
            "Possession of weapons",
        ],
        description="SNA categories / subgroups (police extract) counted as serious violence.",
    )
    knife_enabled_only: bool = Field(
        False,
        description="Count only knife-enabled offences (plus homicide) as serious violence.",
    )
    include_domestic: bool = Field(True, description="Include domestic abuse offences.")
    offence_codes: dict[str, str] = Field(
        default_factory=dict,
        description="Overrides: Home Office offence code -> SNA category.",
        examples=[{"8N": "Violence against the person"}],
    )
    table_a: TableAConfig = Field(
        default_factory=TableAConfig,
        description="How Table A counts offences: homicide within violence against the "
        "person, and offence or recorded date.",
    )


class PrivacyConfig(_Model):
    """Where the pseudonymisation key comes from (never from the config file itself)."""

    key_env: str = Field(
        "SNA_PSEUDONYMISATION_KEY",
        description="Environment variable holding the HMAC key.",
    )
    key_file: str | None = Field(None, description="File holding the HMAC key (first line).")


class DisclosureConfig(_Model):
    """Statistical disclosure control for the public build."""

    default_rule: DisclosureRule = Field("legacy5", description="Rule for tables mixing sources.")
    min_group_size: int = Field(
        10, ge=1, description="Groups smaller than this are not shown in outcome analyses."
    )


class EngineConfig(_Model):
    """How ingest and aggregation run."""

    name: Literal["pandas", "dask"] = Field("pandas", description="Execution engine for ingest.")
    scheduler: str | None = Field(
        None, description="Dask scheduler address (e.g. tcp://10.0.0.5:8786); a LocalCluster if omitted."
    )
    workers: int | None = Field(None, ge=1, description="Workers of the LocalCluster.")
    memory_limit: str | None = Field(
        None, description="Memory limit of each LocalCluster worker (e.g. '500MB'); Dask's "
        "default (the machine's memory shared among the workers) if omitted.")
    dataset: str | None = Field(
        None, description="Folder of the Parquet dataset a results-only load "
        "(sna.load_dataset) writes: the kept incidents and the quarantine, one file per input "
        "file, written by the workers, so every worker must be able to write there (a shared "
        "file system for a remote cluster). Default: 'dataset' under the cache folder.")


#: The styles the Word documents use, by role (``report.styles`` maps a role to a style of
#: the VRU's template).
WORD_STYLES = ("title", "subtitle", "heading1", "heading2", "heading3", "body", "caption",
               "table", "bullet", "number", "banner")


class ReportConfig(_Model):
    """The documents a run writes beside ``report.html``, and what the analyst adds to them."""

    word: bool = Field(True, description="Write report.docx: the assessment as a Word document.")
    board_paper: bool = Field(
        True, description="Write board_paper.docx: Table A, the success measures, the reach of "
        "the interventions, funding and three maps, in a board report's order.")
    slides: bool = Field(False, description="Also write slides.pptx of the key figures.")
    template: str | None = Field(
        None, description="The VRU's own .docx (relative to the config file): the Word "
        "documents take its page set-up, fonts and styles.")
    styles: dict[str, str] = Field(
        default_factory=dict, description="Style names of the template where they differ from "
        "Word's own, by role (title, subtitle, heading1-3, body, caption, table, bullet, number, "
        "banner).", examples=[{"heading1": "VRU Heading 1"}])
    narrative: str | None = Field(
        None, description="The analyst's sections (Markdown, one '## ' heading each: drivers "
        "and risk factors, existing services and gaps, community voice, theory of change, "
        "evaluation, funding, data sharing, recommendations), placed into report.html, the PDF "
        "and the Word documents; `sna narrative` writes the template.")
    board: dict[str, str] = Field(
        default_factory=dict, description="The board paper's cover: report_to, date, report_of, "
        "author, email, agenda_item.", examples=[{"report_to": "Strategic Board",
                                                  "agenda_item": "8"}])

    @field_validator("styles")
    @classmethod
    def _check_styles(cls, v):
        unknown = sorted(set(v) - set(WORD_STYLES))
        if unknown:
            raise ValueError(f"unknown style role(s) {unknown}; use {list(WORD_STYLES)}")
        return v

    @field_validator("board")
    @classmethod
    def _check_board(cls, v):
        known = {"report_to", "date", "report_of", "author", "email", "agenda_item"}
        unknown = sorted(set(v) - known)
        if unknown:
            raise ValueError(f"unknown board paper field(s) {unknown}; use {sorted(known)}")
        return v


class Config(_Model):
    """The whole ``sna.yml``."""

    area: str = Field(description="Name of the area, used in titles and the output path.")
    synthetic: bool = Field(
        False, description="True for demo data: every output carries a 'synthetic data' banner."
    )
    year: str | int | None = Field(
        None, description="Assessment financial year ('2020/21'); the latest complete year if omitted."
    )
    baseline_years: int = Field(3, ge=1, le=10, description="Length of the baseline in years.")
    partnerships: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Named groups of district codes. Districts in none are out of the area.",
        examples=[{"Nottingham City": ["E06000018"]}],
    )
    geography: GeographyConfig
    sources: dict[str, SourceConfig] = Field(description="Input sources by name.")
    definition: DefinitionConfig = Field(default_factory=DefinitionConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    disclosure: DisclosureConfig = Field(default_factory=DisclosureConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    output: str = Field("outputs", description="Output folder (relative to the config file).")
    cache: str | None = Field(
        None, description="Folder for the cleaned-data cache (record-level data: keep it out of "
        "any folder you publish); '.sna-cache' beside the config file if omitted (in the "
        "current folder for the bundled datasets)."
    )

    # set by load_config, not by the user
    config_path: Path | None = Field(None, exclude=True, repr=False)

    @field_validator("year")
    @classmethod
    def _check_year(cls, v):
        if v is None:
            return v
        return str(FinancialYear.parse(v))

    @model_validator(mode="after")
    def _check_sources(self):
        if not self.sources:
            raise ValueError("at least one source is needed")
        return self

    # ---- helpers -------------------------------------------------------------------
    @property
    def base_dir(self) -> Path:
        return self.config_path.parent if self.config_path else Path.cwd()

    def resolve(self, path: str | Path | None) -> Path | None:
        """Resolve a path from the config against the config file's folder."""
        if path is None:
            return None
        p = Path(os.path.expandvars(os.path.expanduser(str(path))))
        return p if p.is_absolute() else (self.base_dir / p)

    def resolve_many(self, paths: str | list[str]) -> list[Path]:
        if isinstance(paths, str):
            paths = [paths]
        return [self.resolve(p) for p in paths]

    @property
    def fy(self) -> FinancialYear | None:
        return None if self.year is None else FinancialYear.parse(self.year)

    def district_partnership(self) -> dict[str, str]:
        """district code -> partnership name."""
        out: dict[str, str] = {}
        for name, districts in self.partnerships.items():
            for d in districts:
                out[d] = name
        return out

    @property
    def is_bundled(self) -> bool:
        """True for the configs shipped inside the package (demo, nottingham-sample)."""
        from .datasets import DATASETS_DIR

        return self.config_path is not None and DATASETS_DIR in self.config_path.parents

    def _output_base(self) -> Path:
        # bundled datasets live inside the installed package: write to ./outputs instead
        if self.is_bundled and not Path(self.output).is_absolute():
            return Path.cwd() / self.output
        return self.resolve(self.output)

    def output_dir(self, year=None) -> Path:
        """``<output>/<area>/<FY as 2020-21>``."""
        fy = FinancialYear.parse(year) if year is not None else self.fy
        base = self._output_base()
        slug = _slug(self.area)
        return base / slug / (fy.slug if fy else "all")

    def cache_dir(self) -> Path:
        """The folder of the cleaned-data cache: ``cache`` if set, else ``.sna-cache`` beside
        the config file (in the current folder for the bundled datasets). Never under the
        output folder by default: the cache holds record-level data."""
        if self.cache:
            return self.resolve(self.cache)
        base = Path.cwd() if self.is_bundled or self.config_path is None else self.base_dir
        return base / ".sna-cache"


def _slug(text: str) -> str:
    keep = "".join(c.lower() if c.isalnum() else "-" for c in text)
    return "-".join(part for part in keep.split("-") if part) or "area"


def _valid_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The valid keys at the parent of ``loc``."""
    current: Any = model
    skip_dict_key = False
    for part in loc[:-1]:
        if skip_dict_key or isinstance(part, int):
            skip_dict_key = False
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(part)
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            current = ann
        elif args and isinstance(args[-1], type) and issubclass(args[-1], BaseModel):
            current = args[-1]  # dict[str, Model]: the next part is the dict key
            skip_dict_key = True
        else:
            current = None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [k for k, f in current.model_fields.items() if not f.exclude]
    return []


def _format_errors(err: ValidationError, file: Path | None) -> str:
    lines = []
    for e in err.errors():
        loc = tuple(e["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        if e["type"] == "extra_forbidden":
            valid = _valid_keys(Config, loc)
            hint = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
            msg = f"unknown key '{key}'"
            if hint:
                msg += f" - did you mean '{'.'.join(str(p) for p in loc[:-1] + (hint[0],))}'?"
            elif valid:
                msg += f" (valid keys here: {', '.join(valid)})"
        elif e["type"] == "missing":
            msg = f"missing required key '{key}'"
        else:
            msg = f"key '{key}': {e['msg']}"
            if "input" in e and not isinstance(e["input"], (dict, list)):
                msg += f" (got {e['input']!r})"
        lines.append(msg)
    where = f" in {file}" if file else ""
    return f"invalid configuration{where}: " + "; ".join(lines)


class _DuplicateKey(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key given twice in one mapping (PyYAML keeps the
    last one silently: a second ``police:`` under ``sources`` would replace the first)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: PyYAML reports it
                    continue
                line = key_node.start_mark.line + 1
                if first is not None:
                    raise _DuplicateKey(
                        f"the key {key!r} is given twice in one mapping (lines {first} and {line}); "
                        "YAML would keep only the second: merge the two or rename one", line)
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_config(source: "str | os.PathLike | dict | Config") -> Config:
    """Load and validate a config from a YAML file, a mapping or a Config.

    Raises
    ------
    ConfigError
        naming the file and the key path, with the nearest valid key for a typo.
    """
    if isinstance(source, Config):
        return source
    path: Path | None = None
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source).expanduser().resolve()
        if path.is_dir():
            path = path / "sna.yml"
        if not path.exists():
            raise ConfigError(
                "config file not found; create one with 'sna init' or run without --config "
                "to use the bundled demo",
                file=path,
            )
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
        except _DuplicateKey as exc:
            raise ConfigError(str(exc), file=path, line=exc.line) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise ConfigError(
                f"the config is not valid YAML: {getattr(exc, 'problem', exc)}",
                file=path,
                line=None if mark is None else mark.line + 1,
            ) from None
        except UnicodeDecodeError:
            raise ConfigError("the config is not UTF-8 text", file=path) from None
        if not isinstance(data, dict):
            raise ConfigError("the config must be a YAML mapping of keys to values", file=path)
    try:
        cfg = Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_errors(err, path)) from None
    cfg.config_path = path
    return cfg
