"""The run's ``manifest.json``: inputs with their hashes, parameters, versions, timings, each
chapter's status and outputs, and what disclosure control did.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..chapter import read_sidecars
from ..disclosure.rules import source_rule
from .folder import LOCK_NAME
from .notebooks import CHAPTERS

if TYPE_CHECKING:  # pragma: no cover
    from .results import RunResult

__all__ = [
    "input_files",
]


# ---- manifest -----------------------------------------------------------------------------
def input_files(cfg, fingerprints: Sequence[dict] | None = None) -> list[dict]:
    """Every input file a config names, with its role, size and SHA-256 (for the manifest).

    The config file, then ``sna.io._files.input_files``. The fingerprints the assessment
    computed for its cache key (:attr:`sna.assessment.Assessment.inputs`) are reused: a file
    is hashed once per run.
    """
    from ..io._files import file_fingerprint
    from ..io._files import input_files as roles_and_files

    known = {fp["path"]: fp for fp in fingerprints or () if "sha256" in fp}
    items = [("config", Path(cfg.config_path).resolve())] if cfg.config_path else []
    rows = []
    seen: set[Path] = set()
    for role, f in items + roles_and_files(cfg):
        if f in seen:
            continue
        seen.add(f)
        fp = known.get(str(f)) or file_fingerprint(f)
        rows.append({"role": role, "path": str(f), "bytes": fp["size"], "sha256": fp["sha256"]})
    return rows

def _package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from .. import DISTRIBUTION

    # the project by its distribution name (the import name ``sna`` is not one)
    names = [DISTRIBUTION, "numpy", "pandas", "geopandas", "shapely", "pyproj", "pyogrio", "pyarrow",
             "scipy", "statsmodels", "libpysal", "esda", "mapclassify", "matplotlib",
             "papermill", "nbconvert", "nbformat", "ipykernel", "pydantic", "pandera",
             "openpyxl", "duckdb", "folium"]
    out = {"python": platform.python_version()}
    for n in names:
        try:
            out[n] = version(n)
        except PackageNotFoundError:
            pass
    return out

def write_manifest(result: RunResult, cfg, config_path, params, jobs, assessment,
                    kept: Sequence[dict] = ()) -> Path:
    """Write ``manifest.json``. ``kept``: the chapters of earlier runs the folder still holds
    (:func:`sna.report.folder.earlier_chapters`: each with ``run: "previous"``, and ``stale``
    when computed from other inputs)."""
    from .. import __version__

    sidecars = read_sidecars(result.output_dir)
    chapters = []
    for c in result.chapters:
        side = sidecars.get(c.name, {})
        entry = {"name": c.name, "status": c.status, "seconds": c.seconds,
                 "cache_key": getattr(assessment, "cache_key", None),
                 "kernel_starts": c.attempts,
                 "notebook": _rel(c.executed, result.output_dir),
                 "html": _rel(c.html, result.output_dir),
                 "figures": [f["file"] for f in side.get("figures", [])],
                 "tables": [t["file"] for t in side.get("tables", [])],
                 "maps": [m["file"] for m in side.get("maps", [])],
                 "not_available": [n["what"] for n in side.get("notes", [])]}
        if c.error:
            entry["error"] = {k: c.error.get(k) for k in ("where", "cell", "ename", "evalue")}
        chapters.append(entry)
    if kept:  # a partial re-run: the other chapters of the report are from an earlier run
        chapters = sorted(chapters + [dict(c) for c in kept], key=lambda c: (
            CHAPTERS.index(c["name"]) if c["name"] in CHAPTERS else 99, c["name"]))
    files = sorted(str(p.relative_to(result.output_dir)) for p in result.output_dir.rglob("*")
                   if p.is_file() and p.name not in ("manifest.json", LOCK_NAME))
    manifest = {
        "sna_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "area": result.area, "year": result.year, "build": result.build,
        "synthetic": result.synthetic,
        "status": "interrupted" if result.interrupted else ("ok" if result.ok else "failed"),
        "stale_chapters": [c["name"] for c in kept if c.get("stale")],
        "exit_code": result.exit_code,
        "parameters": {**params, "jobs": jobs,
                       "chapters": [c.name for c in result.chapters]},
        "cache": {"key": getattr(assessment, "cache_key", None),
                  "dir": str(Path(cfg.cache_dir()).resolve()),
                  "reused": result.cache_reused,
                  "copied_to_data": result.build == "restricted"},
        "inputs": input_files(cfg, getattr(assessment, "inputs", None)),
        "packages": _package_versions(),
        "platform": {"system": platform.system(), "machine": platform.machine()},
        "timings": result.timings,
        "chapters": chapters,
        "outputs": files,
    }
    disc_tables = []
    for side in sidecars.values():
        for t in side.get("tables", []) + side.get("maps", []):
            disc_tables.append({k: t.get(k) for k in ("file", "label", "rule", "counts", "derived",
                                                      "total_rows", "total_columns")
                                if t.get(k) is not None} | {"disclosure": t.get("disclosure")})
    manifest["disclosure"] = {
        "build": result.build,
        "default_rule": cfg.disclosure.default_rule,
        "source_rules": {n: source_rule(s) for n, s in cfg.sources.items()},
        "tables": disc_tables if result.build == "public" else [],
    }
    if result.pdf_message:
        manifest["pdf"] = {"made": False, "message": result.pdf_message}
    elif result.pdf:
        manifest["pdf"] = {"made": True, "file": "report.pdf"}
    path = result.output_dir / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    return path

def _rel(p: str | None, base: Path) -> str | None:
    if not p:
        return None
    try:
        return str(Path(p).resolve().relative_to(base))
    except ValueError:
        return str(p)
