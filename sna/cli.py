"""The command line: ``sna run | init | validate | check-outputs | notebooks``, one parser.

Exit codes (a contract): 0 success; 1 the run finished but something failed (a chapter, a
check); 2 bad input or config — a one-paragraph message naming the file, line or key, and no
traceback unless ``--debug``.

>>> main(["--version"])  # doctest: +ELLIPSIS
sna ...
0
"""

from __future__ import annotations

import argparse
import errno
import importlib
import json
import logging
import math
import os
import sys
import textwrap
import traceback
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .errors import ConfigError, DisclosureError, InputFormatError, SnaError

__all__ = ["main", "build_parser", "FORMAT_DETECTORS", "detect_source_format", "check_outputs_cli",
           "os_error_message"]

logger = logging.getLogger("sna")

#: Detectors used by ``sna init`` for a source path besides those of the registry of formats
#: (:data:`sna.formats.FORMATS`): ``detector(path) -> dict | None``; the dict is the source's
#: config (``{"format": ..., "path": ..., "columns": {...}}``) proposed for ``sna.yml``.
FORMAT_DETECTORS: list[Callable[[Path], "dict | None"]] = []


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _eprint(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def _progress(quiet: bool) -> Callable[[str], None] | None:
    if quiet:
        return None
    return lambda msg: _eprint(f"sna: {msg}")


def _fmt_int(n) -> str:
    return f"{int(n):,}"


def _version() -> str:
    from . import __version__

    return __version__


# --------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------
def _validate_json(a) -> dict:
    q = a.quality.to_dict()
    return {
        "area": a.config.area,
        "year": str(a.year),
        "synthetic": a.synthetic,
        "config": str(a.config.config_path) if a.config.config_path else None,
        "sources": q["sources"],
        "geography": q["geography"],
        "notes": list(a.notes),
    }


def _validate_text(a) -> str:
    lines = []
    banner = "  ** SYNTHETIC DATA **" if a.synthetic else ""
    lines.append(f"sna validate: {a.config.area}, assessment year {a.year}{banner}")
    if a.config.config_path:
        lines.append(f"config: {a.config.config_path}")
    lines.append("")
    header = ("source", "format", "rows read", "kept", "set aside", "months", "missing", "geocoded")
    rows = []
    for s in a.quality.sources.values():
        months = f"{s.months[0]}..{s.months[-1]} ({len(s.months)})" if s.months else "none"
        geo = "-" if s.share_geocoded != s.share_geocoded else f"{100 * s.share_geocoded:.1f}%"
        rows.append((s.name, s.format, _fmt_int(s.rows_read), _fmt_int(s.rows_kept),
                     _fmt_int(s.rows_set_aside), months, str(len(s.missing_months)), geo))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {2, 3, 4, 6, 7}
    fmt_row = lambda r: "  ".join(c.rjust(w) if i in right else c.ljust(w)  # noqa: E731
                                  for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    lines.append(fmt_row(header))
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append(fmt_row(r))
    for s in a.quality.sources.values():
        details = []
        if s.set_aside:
            details.append("set aside: " + ", ".join(f"{k} {_fmt_int(v)}" for k, v in sorted(s.set_aside.items())))
        if s.missing_months:
            details.append("missing months: " + ", ".join(s.missing_months))
        dup = getattr(s, "duplicate_rows", None)
        if dup:
            details.append(f"{_fmt_int(dup)} rows identical to an earlier row, kept (real records)")
        if details:
            lines.append(f"  {s.name}: " + "; ".join(details))
        lines.append(f"  {s.name}: rows read {_fmt_int(s.rows_read)} = kept {_fmt_int(s.rows_kept)}"
                     f" + set aside {_fmt_int(s.rows_set_aside)}")
    g = a.quality.geography
    lines.append("")
    lines.append(f"geography: {_fmt_int(g.get('lsoas', 0))} LSOAs ({g.get('lsoa_vintage')} vintage) in "
                 f"{g.get('districts', 0)} district(s)")
    for name, p in g.get("partnerships", {}).items():
        pop = f", population {_fmt_int(p['population'])}" if p.get("population") is not None else ""
        lines.append(f"  {name}: {', '.join(p['districts'])} - {_fmt_int(p['lsoas'])} LSOAs{pop}")
    for note in [*g.get("notes", []), *a.notes]:
        lines.append(f"  note: {note}")
    if len(a.quarantine):
        lines.append("")
        lines.append(f"{_fmt_int(len(a.quarantine))} set-aside rows are in the quarantine (file, line, reason)"
                     + (f": {a.cache_path / 'quarantine.parquet'}" if a.cache_path else ""))
    if a.synthetic:
        lines.append("")
        lines.append("SYNTHETIC DATA: these records are generated, not real.")
    return "\n".join(lines)


def _cmd_validate(args) -> int:
    from .assessment import load_assessment
    from .datasets import demo_config

    config = args.config if args.config else demo_config()
    if not args.config:
        _eprint(f"sna: no --config given: validating the bundled data ({config.parent.name})")
    a = load_assessment(config, use_cache=not args.no_cache, progress=_progress(args.quiet))
    if args.json:
        print(json.dumps(_validate_json(a), indent=2, default=str))
    else:
        print(_validate_text(a))
    empty = [s.name for s in a.quality.sources.values() if s.rows_kept == 0]
    if empty:
        _eprint(f"sna: source(s) with no row kept: {', '.join(empty)}")
        return 1
    return 0


# --------------------------------------------------------------------------------------------
# init
# --------------------------------------------------------------------------------------------
def detect_source_format(path: Path) -> dict | None:
    """Propose a source config for ``path``: data.police.uk street files, else the detectors
    (:data:`FORMAT_DETECTORS`, then those of the registry of formats :data:`sna.formats.FORMATS`).

    Returns
    -------
    dict or None
        ``{"format": ..., ...}`` (plus e.g. ``columns`` from a partner-data detector), or None
        when no reader recognises the files.
    """
    from .formats import FORMATS
    from .io.police_uk import detect_police_uk

    found = detect_police_uk(path)
    if found:
        return found
    detectors = list(FORMAT_DETECTORS)
    for name, spec in FORMATS.items():
        if name == "police_uk":
            continue
        try:
            module = importlib.import_module(spec.module)
        except ModuleNotFoundError:
            continue
        if hasattr(module, spec.detector):
            detectors.append(getattr(module, spec.detector))
    for det in detectors:
        try:
            found = det(path)
        except SnaError:
            found = None
        if found:
            return dict(found)
    return None


def _rel(path: Path, base: Path) -> str:
    """``path`` relative to the config's folder (absolute when far outside it)."""
    full = Path(path).expanduser().resolve()
    try:
        rel = os.path.relpath(full, base.resolve())
    except ValueError:  # another drive on Windows
        return str(full)
    ups = Path(rel).parts.count("..")
    return str(full) if ups > 2 else rel


def _force_name(name: str) -> str:
    for suffix in (" Police Service", " Police", " Constabulary", " Police Force"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


_POPULATION_NAMES = ("*population*", "*sape*", "*pop_lsoa*")
_IMD_NAMES = ("*imd*", "*iod*", "*deprivation*")
_TABLE_EXT = (".csv", ".csv.gz", ".xlsx")


def find_nearby(folders: Sequence[Path], patterns: Sequence[str]) -> str | None:
    """A population or deprivation file beside the user's data, for ``sna init``: in the
    given folders or in their sub-folders one level down, a table (CSV, gzipped CSV, xlsx)
    whose name matches one of ``patterns`` (case-insensitive). The first by name, or None.

    Examples
    --------
    >>> from sna.datasets import nottingham_sample_config
    >>> Path(find_nearby([nottingham_sample_config().parent], _IMD_NAMES)).name
    'File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv'
    """
    import fnmatch

    seen: set[Path] = set()
    for folder in folders:
        folder = Path(folder)
        if folder in seen or not folder.is_dir():
            continue
        seen.add(folder)
        candidates = [p for p in folder.iterdir() if p.is_file()]
        for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if any(fnmatch.fnmatch(sub.name.lower(), pat) for pat in patterns):
                candidates += [p for p in sub.iterdir() if p.is_file()]
        found = sorted(p for p in candidates
                       if p.name.lower().endswith(_TABLE_EXT)
                       and (any(fnmatch.fnmatch(p.name.lower(), pat) for pat in patterns)
                            or any(fnmatch.fnmatch(p.parent.name.lower(), pat) for pat in patterns)))
        if found:
            return str(found[0])
    return None


def _cmd_init(args) -> int:
    """``sna init``: find the data, propose the area, name it, and write a config that loads."""
    out = Path(args.output)
    if out.exists() and not args.force:
        raise ConfigError(f"{out} exists already: choose another -o FILE or add --force to overwrite it",
                          file=out)
    base = out.resolve().parent
    report: list[str] = []
    police = Path(args.police)
    sources, fmt = _init_sources(args, police, base, report)
    months, forces, located = _init_police_summary(args, police, fmt, report)
    geography, districts, csp = _init_geography(args, base, forces, located, report)
    _init_population_imd(args, base, police, geography, report)
    partnerships = _init_partnerships(args, districts, csp, report)
    area = args.area or _init_area_name(districts, csp, forces, report)
    cfg: dict = {"area": area, "synthetic": False}
    year = _latest_year(months)
    if year:
        cfg["year"] = year
    cfg.update({"baseline_years": 3, "partnerships": partnerships, "geography": geography,
                "sources": sources, "output": "outputs"})
    _write_init_config(out, cfg, boundaries=bool(args.boundaries))
    print("\n".join(report))
    print(f"wrote {out}")
    print(f"next: sna validate --config {out}")
    return 0


def _init_sources(args, police: Path, base: Path, report: list[str]) -> tuple[dict, dict]:
    """``sna init``, finding the data: the police source and each ``--source NAME=PATH``, as
    the config's ``sources``; and the police data's detected format."""
    fmt = detect_source_format(police)
    if fmt is None:
        raise InputFormatError(
            "no supported police data found: expected data.police.uk street files "
            "(YYYY-MM-<force>-street.csv, in folders or the downloaded zip)",
            file=police,
        )
    sources: dict = {"police": {"format": fmt["format"], "path": _rel(police, base),
                                **{k: v for k, v in fmt.items() if k not in ("format", "path")}}}
    for spec in args.source or []:
        if "=" not in spec:
            raise ConfigError(f"--source expects NAME=PATH, got {spec!r}")
        name, p = spec.split("=", 1)
        found = detect_source_format(Path(p))
        if found is None:
            raise InputFormatError("no reader recognises these files; add the source to sna.yml by hand",
                                   file=p)
        sources[name] = {"format": found["format"], "path": _rel(Path(p), base),
                         **{k: v for k, v in found.items() if k not in ("format", "path")}}
        report.append(f"source {name}: {found['format']} ({p})")
    return sources, fmt


def _init_police_summary(args, police: Path, fmt: dict, report: list[str]):
    """``sna init``: the months and forces of data.police.uk street files, and the rows of
    each LSOA code (none for another format)."""
    import pandas as pd

    from .io.police_uk import read_police_uk

    months: list = []
    forces: list[str] = []
    located = pd.Series(dtype="int64")
    if fmt["format"] == "police_uk":
        raw = read_police_uk(police, columns=["Crime ID", "Month", "Falls within", "Longitude",
                                              "Latitude", "LSOA code", "Crime type"],
                             progress=_progress(args.quiet))
        files = raw.attrs["sna"]["files"]
        months = sorted(str(m) for m in raw["Month"].dropna().unique())
        forces = sorted(str(f) for f in raw["Falls within"].dropna().unique())
        located = raw["LSOA code"].value_counts()
        located = located[located > 0]
        report.append(f"police: data.police.uk street-level crime, {len(files)} file(s), "
                      f"{_fmt_int(len(raw))} rows, months {months[0]}..{months[-1]}"
                      if months else "police: no months")
        report.append(f"force(s): {', '.join(forces)}")
    return months, forces, located


def _init_geography(args, base: Path, forces: list[str], located, report: list[str]):
    """``sna init``: the boundaries (given, or a to-do when the area is proposed from the
    LSOAs of the police data), the best-fit lookup when the police data's LSOA vintages differ
    from the boundaries'; the config's ``geography``, the districts of the area (a count by
    ``(district, district_name)``) and the district -> CSP / PFA lookup."""
    import pandas as pd

    from .io.geography import (
        detect_vintage,
        read_boundaries,
        read_district_csp_lookup,
        read_lsoa_district_lookup,
        vintage_mix,
    )

    geography: dict = {}
    csp = read_district_csp_lookup()
    if args.boundaries:
        b = read_boundaries(args.boundaries)
        vintage = b.attrs["sna"]["lsoa_vintage"]
        lookup = read_lsoa_district_lookup(vintage=vintage)
        d = b.merge(lookup[["lsoa", "district", "district_name"]], on="lsoa", how="left")
        districts = d.dropna(subset=["district"]).groupby(["district", "district_name"]).size()
        report.append(f"boundaries: {len(b)} LSOAs ({vintage} vintage, column "
                      f"{b.attrs['sna']['lsoa_column']}) in {len(districts)} district(s)")
        geography["boundaries"] = _rel(Path(args.boundaries), base)
    else:
        vintage = detect_vintage(located.index.astype(str)) or 2011
        lookup = read_lsoa_district_lookup(vintage=vintage)
        by_district = (pd.DataFrame({"lsoa": located.index.astype(str), "rows": located.to_numpy()})
                       .merge(lookup, on="lsoa").groupby(["district", "district_name"])["rows"].sum())
        pfa = csp.set_index("district")["pfa"]
        force_names = {_force_name(f).lower() for f in forces}
        keep = [i for i in by_district.index if str(pfa.get(i[0], "")).lower() in force_names]
        if not keep and len(by_district):
            keep = list(by_district[by_district >= 0.005 * by_district.sum()].index)
        districts = by_district.loc[keep]
        report.append("no --boundaries: the area is proposed from the LSOAs in the police data")
        geography["boundaries"] = "boundaries/"
    # records coded on both LSOA vintages (data.police.uk moved to 2021 LSOAs), or on another
    # vintage than the boundaries: harmonise them through the bundled ONS best-fit lookup
    mix = vintage_mix(located.index.astype(str))
    if mix - {vintage}:
        geography["lsoa_best_fit"] = "bundled"
        report.append(f"police data coded on {' and '.join(str(v) for v in sorted(mix))} LSOAs, boundaries on "
                      f"{vintage} LSOAs: records harmonised by the ONS best-fit lookup (lsoa_best_fit: bundled)")
    return geography, districts, csp


#: ``sna init`` without a population / deprivation file: (what it is, what the report does).
_INIT_MISSING = {
    "population": ("population", "none given or found, so the report gives counts and says "
                   "'rates need a population file' where a rate would be; add --population "
                   "with the ONS mid-year LSOA population estimates for rates per 1,000"),
    "imd": ("deprivation", "none given or found, so chapter 5 says it needs one; add --imd with "
            "the English IMD 2019 / IoD 2025 File 1 (or, in Wales, set geography.imd: "
            "bundled-wimd2019 to use the bundled WIMD 2019 ranks)"),
}


def _init_population_imd(args, base: Path, police: Path, geography: dict, report: list[str]) -> None:
    """``sna init``: the population and deprivation files, given (``--population``,
    ``--imd``) or found beside the config, the police data or the boundaries
    (:func:`find_nearby`), into ``geography``, in place."""
    near = [base, police.resolve().parent] + ([Path(args.boundaries).resolve().parent]
                                              if args.boundaries else [])
    for key, names in (("population", _POPULATION_NAMES), ("imd", _IMD_NAMES)):
        given = getattr(args, key)
        found = given or find_nearby(near, names)
        what, absent = _INIT_MISSING[key]
        if not given:
            report.append(f"{what}: found {found} (--{key} to choose another)" if found
                          else f"{what}: {absent}")
        if found:
            geography[key] = _rel(Path(found), base)


def _init_partnerships(args, districts, csp, report: list[str]) -> dict[str, list[str]]:
    """``sna init``: the partnerships, one per CSP (``--partnerships csp``) or per district,
    each with its district codes."""
    partnerships: dict[str, list[str]] = {}
    cspmap = csp.set_index("district")["csp"]
    for (code, dname) in districts.index:
        if args.partnerships == "csp" and code in cspmap.index and isinstance(cspmap[code], str):
            pname = cspmap[code]
        else:
            pname = str(dname)
        partnerships.setdefault(pname, []).append(str(code))
    partnerships = {k: sorted(v) for k, v in sorted(partnerships.items())}
    report.append(f"districts: " + ", ".join(f"{c} {n}" for c, n in districts.index))
    report.append(f"partnerships (per {'CSP' if args.partnerships == 'csp' else 'district'}): "
                  + "; ".join(f"{k}: {', '.join(v)}" for k, v in partnerships.items()))
    return partnerships


def _init_area_name(districts, csp, forces: list[str], report: list[str]) -> str:
    """``sna init`` without ``--area``: the police force area of the districts, or, when they
    are part of one (city-only boundaries), the districts' names; else the force's name."""
    pfa_of = csp.set_index("district")["pfa"]
    pfas = sorted({str(pfa_of.get(c, "")) for c, _ in districts.index} - {"", "nan"})
    area = pfas[0] if len(pfas) == 1 else (_force_name(forces[0]) if forces else "My area")
    if len(pfas) == 1 and 0 < len(districts) < int((pfa_of == pfas[0]).sum()):
        # part of a force area (city-only boundaries): named after what the data cover
        names = [str(n) for _, n in districts.index]
        area = (" and ".join(names) if len(names) <= 2 else f"{pfas[0]} (part)")
        report.append(f"area: {area} ({len(names)} of the {int((pfa_of == pfas[0]).sum())} "
                      f"districts of {pfas[0]}; --area to name it otherwise)")
    return area


def _latest_year(months: list[str]) -> str | None:
    """The latest financial year with all twelve of the given months (``YYYY-MM``), else the
    latest with any; None without months."""
    import pandas as pd

    from .periods import FinancialYear

    if not months:
        return None
    m = pd.to_datetime(pd.Series(months), format="%Y-%m", errors="coerce").dropna()
    fy = m.dt.year - (m.dt.month < 4).astype(int)
    counts = fy.value_counts()
    complete = counts[counts >= 12]
    return str(FinancialYear(int(complete.index.max() if len(complete) else fy.max())))


def _write_init_config(out: Path, cfg: dict, *, boundaries: bool) -> None:
    """``sna init``, writing the config: a header saying what is still to do, the YAML, and a
    check that it loads."""
    import yaml

    from .config import load_config

    text = (f"# sna.yml written by `sna init` (sna {_version()}); edit freely.\n"
            "# Paths are relative to this file. Check: sna validate --config " + out.name + "\n")
    if not boundaries:
        text += "# TODO: LSOA boundaries are needed: set geography.boundaries to your boundary files.\n"
    if "population" not in cfg["geography"]:
        text += ("# No population file: the report gives counts, and says 'rates need a population "
                 "file' where a rate would be. Set geography.population for rates.\n")
    text += yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    load_config(out)  # prove it loads


# --------------------------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------------------------
def _cmd_run(args) -> int:
    """``sna run``: :func:`sna.report.run` with the command line's options."""
    from .report import run

    if args.extra:
        _eprint(f"sna run: error: unrecognised arguments: {' '.join(args.extra)}")
        return 2
    try:
        result = run(args.config, args.year, chapters=args.chapters, build=args.build,
                     output=args.output, jobs=args.jobs, pdf=args.pdf, progress=not args.quiet,
                     timeout=args.timeout, fresh_kernels=args.fresh_kernels, cache=args.cache)
    except SnaError as exc:
        if args.debug:
            raise
        _eprint(f"sna run: error: {exc}")
        return int(getattr(exc, "exit_code", 2))
    if args.quiet:  # --quiet silences progress, never a failure
        from .report.batch import failure_lines

        for line in failure_lines(result):
            _eprint(line)
    return result.exit_code


# --------------------------------------------------------------------------------------------
# narrative
# --------------------------------------------------------------------------------------------
def _cmd_narrative(args) -> int:
    """``sna narrative``: write the template of the analyst's narrative sections."""
    from .narrative import write_template

    area = year = ""
    try:
        if args.config:
            from .config import load_config

            cfg = load_config(args.config)
            area, year = cfg.area, str(cfg.year or "")
        path = write_template(args.output, area=area, year=year, overwrite=args.force)
    except SnaError as exc:
        if args.debug:
            raise
        _eprint(f"sna narrative: error: {exc}")
        return int(getattr(exc, "exit_code", 2))
    if not args.quiet:
        _eprint(f"sna narrative: wrote {path}; write each section under its heading, then name "
                f"the file in sna.yml:\n  report:\n    narrative: {path.name}")
    return 0


# --------------------------------------------------------------------------------------------
# check-outputs
# --------------------------------------------------------------------------------------------
def _finding_line(f: Mapping[str, Any]) -> str:
    where = [str(f["file"])]
    if f.get("table") not in (None, "") and not str(f["file"]).endswith(
            f"{f['table']}.csv"):
        where.append(f"table {f['table']!r}")
    row = f.get("row")
    if row is not None and not (isinstance(row, float) and math.isnan(row)) and str(row) != "<NA>":
        lab = f.get("label")
        where.append(f"row {row}" + (f" ({lab})" if lab not in (None, "") else ""))
    if f.get("column") not in (None, ""):
        where.append(f"column {f['column']!r}")
    text = ", ".join(where) + ": "
    if f.get("value") not in (None, ""):
        text += f"{f['value']} - "
    text += str(f["problem"])
    if f.get("rule"):
        text += f" [{f['check']}, {f['rule']}]"
    else:
        text += f" [{f['check']}]"
    return text


def check_outputs_cli(args: Any) -> int:
    """``sna check-outputs DIR``: print the findings; the exit code says whether any.

    Parameters
    ----------
    args
        An argparse Namespace with ``dir`` (the folder), ``config`` (optional config path),
        ``json`` (bool: print the findings as JSON), and optionally ``rule`` (the rule for
        tables without metadata) and ``debug``.

    Returns
    -------
    int
        0 when nothing is found, 1 when anything is, 2 when the folder does not exist or the
        config or rule is invalid (the message goes to stderr).

    Examples
    --------
    >>> import argparse, tempfile
    >>> check_outputs_cli(argparse.Namespace(dir=tempfile.mkdtemp(), config=None, json=False))
    sna check-outputs: no findings in 0 tables of 0 files under ...
    0
    >>> check_outputs_cli(argparse.Namespace(dir="/no/such/folder", config=None, json=False))
    2
    """
    from .disclosure import check_outputs

    folder = getattr(args, "dir", None)
    try:
        if folder is None:
            raise DisclosureError("give the output folder to check: sna check-outputs DIR")
        findings = check_outputs(folder, rules=getattr(args, "rule", None),
                                 config=getattr(args, "config", None))
    except SnaError as exc:
        if getattr(args, "debug", False):
            raise
        print(f"sna check-outputs: {exc}", file=sys.stderr)
        return 2
    info = findings.attrs["sna"]["check_outputs"]
    records = [
        {k: (None if (v is None or str(v) in ("<NA>", "nan")) else (int(v) if k == "row" else v))
         for k, v in r.items()}
        for r in findings.to_dict(orient="records")
    ]
    if getattr(args, "json", False):
        print(json.dumps({"dir": info["dir"], "files": info["files"], "tables": info["tables"],
                          "default_rule": info["default_rule"], "findings": records},
                         indent=2, default=str))
    else:
        for r in records:
            print(_finding_line(r))
        if records:
            by_check = findings["check"].value_counts()
            kinds = ", ".join(f"{n} {c}" for c, n in by_check.items())
            n_files = findings["file"].nunique()
            print(f"sna check-outputs: {len(records)} finding(s) ({kinds}) in {n_files} of "
                  f"{info['files']} files ({info['tables']} tables) under {info['dir']}")
        else:
            print(f"sna check-outputs: no findings in {info['tables']} tables of "
                  f"{info['files']} files under {info['dir']}")
    return 1 if records else 0


# --------------------------------------------------------------------------------------------
# notebooks
# --------------------------------------------------------------------------------------------
def _cmd_notebooks(args) -> int:
    """``sna notebooks DIR``: editable copies of the chapter notebooks and the tutorial."""
    from .report import copy_notebooks, notebooks_dir

    dest = Path(args.dir)
    written = copy_notebooks(dest, overwrite=args.force)
    kept = sorted({p.name for p in notebooks_dir().glob("*.ipynb")} - {p.name for p in written})
    for path in written:
        print(f"wrote {path}")
    if kept:
        _eprint(f"sna notebooks: kept {len(kept)} notebook(s) already in {dest} "
                f"({', '.join(kept)}); --force replaces them")
    print(f"next: open them in JupyterLab, or run an edited chapter with "
          f"sna run --chapters {dest / '04_geography.ipynb'}")
    return 0


# --------------------------------------------------------------------------------------------
# the parser
# --------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The ``sna`` argument parser."""
    p = argparse.ArgumentParser(
        prog="sna",
        description="Serious Violence Strategic Needs Assessments: read, clean and analyse partner "
        "data, and publish the yearly assessment.",
    )
    p.add_argument("--version", action="store_true", help="print the version and exit")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser("run", help="run the yearly batch (all chapter notebooks) and assemble the report")
    r.add_argument("--config", help="sna.yml (default: the bundled demo)")
    r.add_argument("--year", help="financial year, e.g. 2020/21 (default: the config's)")
    r.add_argument("--chapters", help="comma-separated chapter list (default: all)")
    r.add_argument("--build", choices=["restricted", "public"], default="restricted",
                   help="restricted (default) or public (disclosure-controlled)")
    r.add_argument("--output", help="output folder (default: the config's)")
    r.add_argument("--cache", help="folder of the cleaned-data cache, record-level data kept out "
                   "of the output folder (default: the config's 'cache', else .sna-cache beside "
                   "the config)")
    r.add_argument("--jobs", type=int, default=None,
                   help="chapters run in parallel (default: the number of cores)")
    r.add_argument("--pdf", action="store_true",
                   help="also print report.html to report.pdf with headless Chromium")
    r.add_argument("--fresh-kernels", action="store_true",
                   help="a new kernel for every chapter (default: one warm kernel per worker, "
                   "reset between chapters; same tables, about half the CPU)")
    r.add_argument("--timeout", type=int, default=None,
                   help="seconds one cell may run before its chapter is stopped (default: no limit)")
    r.add_argument("--quiet", action="store_true",
                   help="no progress messages (failures are still printed)")
    r.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show tracebacks and debug logging (as sna --debug run)")

    i = sub.add_parser("init", help="write a config (sna.yml) for your own files, detecting formats")
    i.add_argument("--police", required=True, help="police data: folder, zip, glob or file")
    i.add_argument("--boundaries", help="LSOA boundaries: file or folder (GeoJSON, GeoPackage, shapefile)")
    i.add_argument("--population", help="population by LSOA and age (CSV or Excel; either LSOA vintage)")
    i.add_argument("--imd", help="deprivation index as published: IoD 2025 or IMD 2019 File 1, or the WIMD "
                   "2019 ranks (CSV or Excel)")
    i.add_argument("--source", action="append", metavar="NAME=PATH",
                   help="another source (ambulance, A&E, ...); repeatable")
    i.add_argument("--partnerships", choices=["csp", "district"], default="csp",
                   help="propose one partnership per Community Safety Partnership (default) or per district")
    i.add_argument("--area", help="name of the area (default: the police force area)")
    i.add_argument("-o", "--output", default="sna.yml", help="config file to write (default: sna.yml)")
    i.add_argument("--force", action="store_true", help="overwrite an existing file")
    i.add_argument("--quiet", action="store_true", help="no progress messages")

    v = sub.add_parser("validate", help="read and clean every source and print the QualityLog")
    v.add_argument("--config", help="sna.yml (default: the bundled demo)")
    v.add_argument("--json", action="store_true", help="machine-readable output")
    v.add_argument("--no-cache", action="store_true", help="read the raw files even if a cache exists")
    v.add_argument("--quiet", action="store_true", help="no progress messages")

    n = sub.add_parser("narrative", help="write the template of the analyst's narrative "
                       "sections (drivers, services and gaps, community voice, ... "
                       "recommendations)")
    n.add_argument("--config", help="sna.yml: its area and year head the template")
    n.add_argument("-o", "--output", default="narrative.md",
                   help="file to write (default: narrative.md)")
    n.add_argument("--force", action="store_true", help="overwrite an existing file")
    n.add_argument("--quiet", action="store_true", help="no message")

    c = sub.add_parser("check-outputs", help="run the disclosure checker over an output folder")
    c.add_argument("dir", help="a finished output folder")
    c.add_argument("--config", help="sna.yml (for the disclosure rules)")
    c.add_argument("--json", action="store_true", help="print the findings as JSON")
    c.add_argument("--rule", choices=("nhs2018", "legacy5", "none"),
                   help="the rule for tables without disclosure metadata")

    n = sub.add_parser("notebooks", help="copy the chapter notebooks (and the explore tutorial) "
                       "into a folder to edit")
    n.add_argument("dir", help="the folder (created if needed)")
    n.add_argument("--force", action="store_true", help="replace notebooks already there")

    from .io.fetch import add_fetch_parser

    add_fetch_parser(sub)
    return p


#: What to do about the errors of the file system a user can fix (exit code 2).
_OS_ERROR_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space on it, or write elsewhere (--output; "
                  "'cache' in sna.yml or --cache for the cache), and run again",
    errno.EDQUOT: "your disk quota is used up: free some space, or write elsewhere (--output, "
                  "--cache), and run again",
    errno.EROFS: "the file system is read-only: write elsewhere (--output; --cache for the "
                 "cache), and run again",
    errno.EACCES: "permission denied: the folder is read-only or not yours; make it writable "
                  "(or choose another with --output or --cache) and run again",
    errno.EPERM: "operation not permitted: make the folder writable (or choose another with "
                 "--output or --cache) and run again",
    errno.ENOENT: "check the path",
    errno.EISDIR: "a folder where a file was expected: check the path",
    errno.ENOTDIR: "a file where a folder was expected: check the path",
    errno.EEXIST: "move it away or choose another path",
}


def os_error_message(exc: OSError) -> str | None:
    """The message of a file-system error a user can fix (disk full, read-only or missing
    folder): the path and what to do; None for another OSError (a bug in sna)."""
    advice = _OS_ERROR_ADVICE.get(exc.errno)
    if advice is None:
        return None
    path = exc.filename if exc.filename is not None else "a file"
    also = f" (and {exc.filename2})" if exc.filename2 else ""
    return f"cannot use {path}{also}: {exc.strerror or exc}; {advice}"


def _setup_logging(debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("sna: %(levelname)s: %(message)s"))
    handler._sna_cli = True  # type: ignore[attr-defined]
    for h in list(logger.handlers):
        if getattr(h, "_sna_cli", False):
            logger.removeHandler(h)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``sna`` command line; returns the exit code.

    Parameters
    ----------
    argv
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 success; 1 finished but something failed; 2 bad input or config.
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    if args.version:
        print(f"sna {_version()}")
        return 0
    if extra and args.command != "run":
        parser.print_usage(sys.stderr)
        _eprint(f"sna: error: unrecognised arguments: {' '.join(extra)}")
        return 2
    args.extra = extra
    if args.command is None:
        parser.print_help()
        return 2
    _setup_logging(args.debug)
    try:
        if args.command == "validate":
            return _cmd_validate(args)
        if args.command == "init":
            return _cmd_init(args)
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "narrative":
            return _cmd_narrative(args)
        if args.command == "check-outputs":
            return check_outputs_cli(args)
        if args.command == "notebooks":
            return _cmd_notebooks(args)
        if args.command == "fetch":
            return args.func(args)
        parser.print_help()
        return 2
    except SnaError as exc:
        if args.debug:
            traceback.print_exc()
        msg = " ".join(str(exc).split())
        _eprint(textwrap.fill(f"sna: error: {msg}", width=100, break_long_words=False,
                              break_on_hyphens=False))
        return exc.exit_code
    except KeyboardInterrupt:
        _eprint("sna: interrupted")
        return 130
    except OSError as exc:
        message = os_error_message(exc)
        if message is None:  # an OSError sna did not expect: a bug
            if args.debug:
                traceback.print_exc()
            else:
                _eprint(f"sna: internal error ({type(exc).__name__}: {exc}); this is a bug in sna"
                        " - rerun with --debug for the traceback and report it")
            return 1
        if args.debug:
            traceback.print_exc()
        _eprint(textwrap.fill(f"sna: error: {message}", width=100, break_long_words=False,
                              break_on_hyphens=False))
        return 2
    except Exception as exc:  # a bug in sna, not a user error
        if args.debug:
            traceback.print_exc()
        else:
            _eprint(f"sna: internal error ({type(exc).__name__}: {exc}); this is a bug in sna - "
                    "rerun with --debug for the traceback and report it")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
