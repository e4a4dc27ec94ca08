"""The yearly batch: run every chapter notebook with papermill and assemble the report.

``sna run`` (and :func:`run`) does, in order:

1. **prepare** the :class:`~sna.assessment.Assessment` once (ingest, clean, cache as Parquet;
   a second run with unchanged inputs reuses the cache);
2. **check** the parameters against every chapter notebook (:func:`check_notebook`, with
   ``papermill.inspect_notebook``): a notebook without a ``parameters`` cell, or one that does
   not declare a parameter the run passes, stops the run before anything executes (exit 2);
3. **execute** the chapters with papermill in parallel (``jobs`` worker processes, each with
   one warm kernel started while step 1 runs and reset between chapters, see
   ``sna._kernels``; ``fresh_kernels=True`` starts one per chapter), with a progress line
   per chapter on stderr. A kernel that dies while starting is started again. A failing chapter
   does not stop the others: its executed notebook is kept (it *is* the log), and the run
   ends with a summary (chapter, cell, error) and exit code 1;
4. **assemble** the output folder ``outputs/<area>/<FY as 2020-21>/``::

       report.html          all chapters, a contents list, no code; synthetic banner for the demo
       chapters/            executed notebooks, their HTML (nbconvert, no input), sidecars (.json)
       figures/*.png        every figure, numbered as in the report
       tables/*.csv         every table; tables.xlsx has one sheet per table
       maps/*.gpkg          map layers for QGIS
       quarantine/          rows set aside (restricted build; a summary only in a public one)
       manifest.json        inputs and hashes, parameters, versions, timings, chapter status
       data/                the cleaned Parquet cache (restricted build only)
       report.pdf           with --pdf, printed by headless Chromium

Exit codes (the command-line contract): 0 every chapter ran; 1 the run finished but a
chapter failed (or the PDF could not be made); 2 bad input or config, including a chapter
notebook that cannot take the run's parameters (nothing was executed).

Examples
--------
>>> from sna.report import CHAPTERS, resolve_chapters
>>> CHAPTERS[:2]
('00_data_quality', '01_key_findings')
>>> [p.stem for p in resolve_chapters("4,geography,09")]
['04_geography', '09_appendix']
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ._kernels import drop_noise_log, stderr_to
from ._log import logger
from .chapter import CHAPTER_TITLES, chapter_number, read_sidecars
from .errors import ChapterError, SnaError

__all__ = [
    "CHAPTERS",
    "PARAMETERS",
    "ChapterResult",
    "RunResult",
    "NotebookParameterError",
    "notebooks_dir",
    "copy_notebooks",
    "resolve_chapters",
    "check_notebook",
    "run",
    "run_cli",
    "assemble_report",
    "export_chapter_html",
    "input_files",
    "write_tables_xlsx",
    "print_pdf",
    "find_chromium",
]

#: The standard chapters, in report order.
CHAPTERS: tuple[str, ...] = tuple(CHAPTER_TITLES)

#: The parameters ``sna run`` passes to every chapter notebook.
PARAMETERS: tuple[str, ...] = ("config_path", "year", "build", "output_dir", "cache_dir")

#: Chapters run after all the others (they read the others' sidecars).
RUN_LAST: frozenset[str] = frozenset({"09_appendix"})

# Expected relative cost, to start the slowest chapters first (a previous manifest's
# timings replace these when there is one).
_WEIGHTS = {
    "04_geography": 10.0, "02_volume_and_trend": 8.0, "01_key_findings": 6.0,
    "03_timing": 5.0, "05_deprivation": 4.0, "06_people": 4.0, "07_health": 4.0,
    "08_interventions": 3.0, "00_data_quality": 2.0, "09_appendix": 1.0,
}

_CLEANED_SUBDIRS = ("chapters", "figures", "tables", "maps", "quarantine", "data")


class NotebookParameterError(ChapterError):
    """A chapter notebook cannot take the run's parameters (no ``parameters`` cell, or an
    undeclared parameter). Raised before anything executes: exit code 2."""

    exit_code = 2


@dataclass
class ChapterResult:
    """What happened to one chapter."""

    name: str
    notebook: str
    status: str = "pending"  # ok | failed
    seconds: float = 0.0
    executed: str | None = None
    html: str | None = None
    error: dict | None = None
    attempts: int = 1  # > 1 when the kernel died while starting and was started again

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def summary(self) -> str:
        """One line: chapter, cell and error."""
        if self.ok:
            return f"{self.name}: ok ({self.seconds:.1f} s)"
        e = self.error or {}
        where = e.get("where") or "before the first cell"
        return f"{self.name}: FAILED at {where}: {e.get('ename', 'Error')}: {e.get('evalue', '')}"


@dataclass
class RunResult:
    """The outcome of :func:`run`."""

    output_dir: Path
    area: str
    year: str
    build: str
    synthetic: bool
    chapters: list[ChapterResult] = field(default_factory=list)
    report: Path | None = None
    manifest: Path | None = None
    xlsx: Path | None = None
    pdf: Path | None = None
    pdf_message: str | None = None
    cache_reused: bool | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> list[ChapterResult]:
        return [c for c in self.chapters if not c.ok]

    @property
    def ok(self) -> bool:
        return not self.failed and self.pdf_message is None

    @property
    def exit_code(self) -> int:
        """0 when every chapter ran (and the PDF, if asked for, was made), else 1."""
        return 0 if self.ok else 1


# ---- notebooks ----------------------------------------------------------------------------
def notebooks_dir() -> Path:
    """The chapter notebooks shipped inside the package (the source of truth).

    The top-level ``notebooks/`` folder of the repository is a copy for analysts, kept
    identical by ``tests/test_chapters.py::test_notebook_copies_do_not_drift``.
    """
    return Path(__file__).resolve().parent / "notebooks"


def copy_notebooks(dest: str | os.PathLike, *, overwrite: bool = False) -> list[Path]:
    """Copy the chapter notebooks (and the ``explore`` tutorial) into a folder to edit.

    Parameters
    ----------
    dest
        The folder (created if needed).
    overwrite
        Replace notebooks already there (default: keep them).

    Returns
    -------
    list of pathlib.Path
        The notebooks written.

    Notes
    -----
    Edited chapters run with ``sna run --chapters path/to/04_geography.ipynb``. The
    repository's top-level ``notebooks/`` folder is made with this function and checked
    against the packaged copies by the tests.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for nb in sorted(notebooks_dir().glob("*.ipynb")):
        target = dest / nb.name
        if target.exists() and not overwrite:
            continue
        shutil.copyfile(nb, target)
        written.append(target)
    return written


def resolve_chapters(spec: str | Sequence[str] | None = None) -> list[Path]:
    """Chapter notebooks from names, numbers, short names or paths.

    Parameters
    ----------
    spec
        ``None`` for all standard chapters; else a comma-separated string or a list of items,
        each a number (``4``, ``"04"``), a name (``"04_geography"``, ``"geography"``) or the
        path of a ``.ipynb`` file (your own chapter).

    Returns
    -------
    list of pathlib.Path
        In report order (standard chapters), then custom notebooks in the order given.

    Raises
    ------
    ChapterError
        naming an unknown chapter and listing the valid ones (exit code 2).
    """
    folder = notebooks_dir()
    if spec is None:
        return [folder / f"{name}.ipynb" for name in CHAPTERS]
    items = spec.split(",") if isinstance(spec, str) else [str(s) for s in spec]
    items = [i.strip() for i in items if i and i.strip()]
    standard: set[str] = set()
    custom: list[Path] = []
    for item in items:
        p = Path(item).expanduser()
        if item.endswith(".ipynb"):
            if not p.exists():
                raise NotebookParameterError(f"chapter notebook not found: {p}", file=p)
            custom.append(p.resolve())
            continue
        match = _match_chapter(item)
        if match is None:
            raise NotebookParameterError(
                f"unknown chapter {item!r}; valid chapters are {', '.join(CHAPTERS)} "
                "(by number, name or short name), or the path of a .ipynb notebook",
                key="chapters",
            )
        standard.add(match)
    out = [folder / f"{name}.ipynb" for name in CHAPTERS if name in standard]
    return out + custom


def _match_chapter(item: str) -> str | None:
    key = item.lower().replace("-", "_")
    for name in CHAPTERS:
        num = name.split("_", 1)[0]
        short = name.split("_", 1)[1]
        if key in (name, short) or (key.isdigit() and int(key) == int(num)):
            return name
    return None


def check_notebook(path: str | os.PathLike, parameters: Iterable[str] = PARAMETERS) -> dict:
    """Check that a notebook can take the run's parameters, as papermill would see them.

    Parameters
    ----------
    path
        The notebook.
    parameters
        The names the run passes.

    Returns
    -------
    dict
        ``papermill.inspect_notebook``'s description of the declared parameters.

    Raises
    ------
    NotebookParameterError
        when the notebook cannot be read, has no cell tagged ``parameters`` (or several), or
        does not declare one of ``parameters`` (papermill would only warn and inject it,
        leaving the chapter to run on its defaults: a silent wrong report).
    """
    import nbformat
    import papermill

    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - any unreadable notebook
        raise NotebookParameterError(f"cannot read the notebook: {exc}", file=path) from None
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise NotebookParameterError(
            f"notebook {path.name} has no cell tagged 'parameters', so sna run cannot pass it "
            f"{', '.join(PARAMETERS)}; add the tag 'parameters' to the cell that sets their "
            "defaults (JupyterLab: Property Inspector > Cell Tags)",
            file=path,
        )
    if len(tagged) > 1:
        raise NotebookParameterError(
            f"notebook {path.name} has {len(tagged)} cells tagged 'parameters' (cells "
            f"{', '.join(str(i + 1) for i in tagged)}); keep the tag on one cell only",
            file=path,
        )
    declared = papermill.inspect_notebook(str(path))
    unknown = [p for p in parameters if p not in declared]
    if unknown:
        raise NotebookParameterError(
            f"notebook {path.name} does not declare the parameter(s) {', '.join(unknown)} that "
            f"sna run passes; add them to its parameters cell (cell {tagged[0] + 1}) with a "
            f"default, e.g. '{unknown[0]} = None' (declared there: "
            f"{', '.join(declared) or 'nothing'})",
            file=path,
        )
    return declared


# ---- executing one chapter (runs in a worker process) -------------------------------------
def _execute_chapter(task: dict) -> dict:
    """Execute one notebook with papermill and export its HTML. Never raises."""
    import logging
    import warnings

    logging.getLogger("papermill").setLevel(logging.ERROR)
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="papermill")
    for var in task.get("env", {}):
        os.environ.setdefault(var, task["env"][var])
    import papermill

    src, out, html_path = task["notebook"], task["executed"], task["html"]
    result = ChapterResult(name=task["name"], notebook=src, executed=out)
    t0 = time.perf_counter()
    log_path = Path(out).with_suffix(".log")
    with stderr_to(log_path):  # the kernel's own stderr: kept in chapters/<name>.log
        _run_papermill(papermill, task, result)
    result.seconds = round(time.perf_counter() - t0, 2)
    if Path(out).exists():
        try:
            export_chapter_html(out, html_path)
            result.html = html_path
        except Exception as exc:  # noqa: BLE001
            logger.warning("cannot export %s to HTML: %s", out, exc)
    else:
        result.executed = None
    return asdict(result)


#: How often a chapter's kernel is started when it dies before running a cell (a kernel that
#: cannot start on a busy machine, e.g. "Kernel died before replying to kernel_info").
KERNEL_START_ATTEMPTS = 3

_START_FAILURE = re.compile(r"Kernel died before replying to kernel_info|"
                            r"Kernel didn't respond in \d+ seconds|"
                            r"Kernel died|DeadKernel", re.I)


def _ran_a_cell(executed_path: str) -> bool:
    """Whether the executed notebook shows any code cell run (so a failure is not a start-up one)."""
    try:
        import nbformat

        nb = nbformat.read(executed_path, as_version=4)
    except Exception:  # noqa: BLE001 - no notebook written: nothing ran
        return False
    return any(c.cell_type == "code" and c.get("execution_count") is not None
               and "injected-parameters" not in c.get("metadata", {}).get("tags", [])
               for c in nb.cells)


def _run_papermill(papermill, task: dict, result: ChapterResult) -> None:
    """Run one notebook; a kernel that dies while starting is started again (up to
    :data:`KERNEL_START_ATTEMPTS` times). A failure inside a cell is never retried."""
    src, out = task["notebook"], task["executed"]
    attempts = int(task.get("kernel_start_attempts", KERNEL_START_ATTEMPTS))
    for attempt in range(1, attempts + 1):
        result.attempts = attempt
        try:
            if task.get("reuse_kernel"):
                from . import _kernels

                _kernels.execute(papermill, src, out, task)
            else:
                papermill.execute_notebook(
                    src, out, parameters=task["parameters"], progress_bar=False,
                    log_output=False, cwd=task.get("cwd"),
                    start_timeout=task.get("start_timeout", 180),
                    execution_timeout=task.get("timeout"), kernel_name=task.get("kernel_name"),
                )
            result.status = "ok"
            result.error = None
            return
        except papermill.PapermillExecutionError as exc:
            result.status = "failed"
            result.error = _describe_execution_error(exc, out)
            return
        except Exception as exc:  # noqa: BLE001 - a dead kernel, a timeout...: record, go on
            text = str(exc).strip()
            result.status = "failed"
            result.error = {"where": None, "cell": None, "ename": type(exc).__name__,
                            "evalue": text.splitlines()[0] if text else "",
                            "traceback": None}
            start_failure = (_START_FAILURE.search(f"{type(exc).__name__}: {text}")
                             and not _ran_a_cell(out))
            if not start_failure or attempt == attempts:
                if start_failure:
                    result.error["evalue"] += (f" (the kernel was started {attempts} times;"
                                               " see the chapter's .log)")
                return
            print(f"sna: {task['name']}: the kernel died while starting ({text.splitlines()[0]});"
                  f" starting it again ({attempt + 1}/{attempts})", file=sys.stderr, flush=True)
            time.sleep(1.0 * attempt)


def _describe_execution_error(exc, executed_path: str) -> dict:
    """Chapter, cell and error from a PapermillExecutionError, numbered as the user sees it."""
    from papermill.exceptions import strip_color

    source = exc.source or ""
    first = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    cell = None
    try:  # the cell's position in the notebook as stored (without papermill's injected cells)
        import nbformat

        nb = nbformat.read(executed_path, as_version=4)
        plain = [c for c in nb.cells
                 if not set(c.get("metadata", {}).get("tags", []))
                 & {"injected-parameters", "papermill-error-cell-tag"}]
        for i, c in enumerate(plain):
            if c.cell_type == "code" and c.source == source:
                cell = i + 1
                break
    except Exception:  # noqa: BLE001
        pass
    parts = []
    if cell is not None:
        parts.append(f"cell {cell}")
    if exc.exec_count is not None:
        parts.append(f"In [{exc.exec_count}]")
    where = " ".join(parts[:1]) + (f" ({parts[1]})" if len(parts) > 1 else "") if parts else None
    if first:
        where = (where or "a cell") + f" `{first[:80]}`"
    return {"where": where, "cell": cell, "exec_count": exc.exec_count, "ename": exc.ename,
            "evalue": strip_color(str(exc.evalue)), "source": source,
            "traceback": strip_color("\n".join(exc.traceback or []))}


def export_chapter_html(executed: str | os.PathLike, html_path: str | os.PathLike) -> Path:
    """Export an executed notebook to HTML with nbconvert, without input cells or prompts."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(executed), as_version=4)
    nb.cells = [c for c in nb.cells
                if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    for c in nb.cells:  # stderr (warnings) is for the executed notebook, not the reader
        if c.cell_type == "code":
            c.outputs = [o for o in c.get("outputs", [])
                         if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                         and o.get("output_type") != "execute_result"]
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    title = _notebook_title(nb) or Path(executed).stem
    body = re.sub(r"<title>.*?</title>", f"<title>{html.escape(title)}</title>", body, count=1,
                  flags=re.S)
    body = body.replace("</head>", f"<style>{_CHAPTER_CSS}</style>\n</head>", 1)
    path = Path(html_path)
    path.write_text(body, encoding="utf-8")
    return path


# ---- the run ------------------------------------------------------------------------------
def _stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run(
    config: Any = None,
    year: str | int | None = None,
    *,
    chapters: str | Sequence[str] | None = None,
    build: str = "restricted",
    output: str | os.PathLike | None = None,
    jobs: int | None = None,
    pdf: bool = False,
    progress: bool | Callable[[str], None] = True,
    timeout: int | None = None,
    fresh_kernels: bool = False,
) -> RunResult:
    """Run the yearly needs assessment: every chapter notebook, then the report.

    Parameters
    ----------
    config
        Path of ``sna.yml``, a mapping, or a :class:`~sna.config.Config`; ``None`` runs the
        bundled demo.
    year
        Financial year ("2020/21"); ``None`` uses the config's year (or the latest complete).
    chapters
        Which chapters (see :func:`resolve_chapters`); ``None`` runs all ten. With a subset,
        only those chapters' outputs are replaced and ``report.html`` is assembled from every
        executed chapter in the folder.
    build
        ``"restricted"`` (partners; with the cleaned data in ``data/``) or ``"public"``
        (disclosure control on every table; no record-level data, no cache in the folder).
    output
        Output base folder (replaces the config's ``output``); results go to
        ``<output>/<area>/<FY as 2020-21>/``.
    jobs
        Chapters executed at once (worker processes, each with its own kernel); default the
        number of cores.
    pdf
        Also print ``report.html`` to ``report.pdf`` with headless Chromium.
    progress
        Print a line per step on stderr (True), stay silent (False), or call a function.
    timeout
        Seconds one cell may run before its chapter is stopped (default: no limit).
    fresh_kernels
        Start a new kernel for every chapter (papermill's own way). By default each worker
        keeps one warm kernel and runs its chapters in it one after another, clearing the
        namespace and matplotlib's settings between them (``sna._kernels``): the same
        tables, about half the CPU.

    Returns
    -------
    RunResult
        The output folder, per-chapter results (status, seconds, error), the report,
        manifest and exit code (0 all ran; 1 a chapter failed).

    Raises
    ------
    SnaError
        Bad config or input (exit code 2), including :class:`NotebookParameterError` for a
        notebook that cannot take the parameters.

    Notes
    -----
    The design follows papermill's failure model: the executed notebook is saved first (it
    is the log), then the error names the cell and the exception.
    """
    say = _stderr_progress if progress is True else (progress or (lambda _m: None))
    if build not in ("restricted", "public"):
        raise SnaError(f"--build must be 'restricted' or 'public', not {build!r}", key="build")
    t_start = time.perf_counter()
    from .config import load_config
    from .datasets import demo_config

    config_path = None
    if config is None or isinstance(config, (str, os.PathLike)):
        config_path = Path(config) if config is not None else demo_config()
        cfg = load_config(config_path)
        config_path = cfg.config_path
    else:
        cfg = load_config(config)
        config_path = cfg.config_path
    if config_path is None:
        raise SnaError(
            "sna run needs the config as a file (the chapter notebooks load it by path); save "
            "the mapping as sna.yml and pass its path", key="config")
    if output is not None:
        cfg.output = str(Path(output).expanduser().resolve())
    cache_dir = Path(cfg.cache_dir()).resolve()
    # The config the assessment is prepared with must be the one every chapter rebuilds
    # (load_config(path), with the cache folder set only when --output moved it): the cache
    # key hashes the config, so `sna validate` then `sna run` share one cache.
    prep_cfg = load_config(config_path)
    moved_cache = Path(prep_cfg.cache_dir()).resolve() != cache_dir
    if moved_cache:
        prep_cfg.cache = str(cache_dir)

    notebooks = resolve_chapters(chapters)
    for nb in notebooks:  # before anything runs
        check_notebook(nb)
    jobs = max(1, min(jobs or _default_jobs(), len(notebooks)))
    # the chapter workers start (and warm their kernels) while the assessment is prepared
    with _ChapterPool(jobs, reuse=not fresh_kernels,
                      kernel_name=_kernel_name(notebooks[0])) as pool:
        # 1. prepare the assessment once
        say(f"sna run: preparing the assessment ({cfg.area}"
            f"{', ' + str(year) if year else ''}) ...")
        t0 = time.perf_counter()
        assessment, cache_reused = _prepare(prep_cfg, year, progress=lambda m: say(f"  {m}"))
        t_prepare = time.perf_counter() - t0
        fy = assessment.year
        out = Path(cfg.output_dir(fy)).resolve()
        say(f"sna run: {'reused the cached' if cache_reused else 'prepared and cached the'} "
            f"assessment in {t_prepare:.1f} s -> {out}")
        if build == "public" and _is_within(cache_dir, out):
            raise SnaError(
                f"the cache folder {cache_dir} is inside the output folder {out}; a public build "
                "must not carry the cleaned records: set 'cache' in the config to another folder",
                key="cache")

        names = [p.stem for p in notebooks]
        previous = None
        if chapters is not None:  # keep the earlier run's record of the other chapters
            try:
                previous = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                previous = None
        _clean_outputs(out, names, everything=chapters is None)
        for sub in ("chapters", "figures", "tables", "maps", "quarantine"):
            (out / sub).mkdir(parents=True, exist_ok=True)
        _write_quarantine(assessment, out / "quarantine", build)

        # 2. execute the chapters
        params = {"config_path": str(config_path), "year": str(fy), "build": build,
                  "output_dir": str(out), "cache_dir": str(cache_dir) if moved_cache else None}
        weights = _previous_timings(out) or _WEIGHTS
        tasks = []
        for nb in notebooks:
            name = nb.stem
            tasks.append({
                "name": name, "notebook": str(nb), "parameters": params,
                "executed": str(out / "chapters" / f"{name}.ipynb"),
                # the kernel works in the caller's folder, as the prepared config did: a bundled
                # config resolves its output and cache against it (the chapters write to
                # output_dir by absolute path)
                "html": str(out / "chapters" / f"{name}.html"), "cwd": str(Path.cwd()),
                "timeout": timeout, "env": _kernel_env(jobs), "reuse_kernel": pool.reuse,
                "kernel_name": _kernel_name(nb),
            })
        how = ("each in its own kernel" if not pool.reuse else
               "in one warm kernel per worker, reset between chapters")
        say(f"sna run: executing {len(tasks)} chapter(s), {jobs} at a time ({how})")
        t0 = time.perf_counter()
        results = _execute_all(tasks, pool, weights, say)
        pool.close(keep_logs_in=out / "chapters")  # kernels' logs, before the manifest lists files
    t_chapters = time.perf_counter() - t0

    # 3. assemble
    t0 = time.perf_counter()
    result = RunResult(output_dir=out, area=cfg.area, year=str(fy), build=build,
                       synthetic=bool(assessment.synthetic), chapters=results,
                       cache_reused=cache_reused)
    if build == "restricted":
        _copy_cache(assessment, cache_dir, out / "data")
    result.xlsx = write_tables_xlsx(out)
    result.report = assemble_report(out, area=cfg.area, year=str(fy), build=build,
                                    synthetic=bool(assessment.synthetic), results=results)
    if pdf:
        say("sna run: printing report.pdf with headless Chromium ...")
        try:
            result.pdf = print_pdf(result.report, out / "report.pdf")
        except ChapterError as exc:
            result.pdf_message = exc.message
    t_assemble = time.perf_counter() - t0
    result.timings = {"prepare": round(t_prepare, 2), "chapters": round(t_chapters, 2),
                      "assemble": round(t_assemble, 2),
                      "total": round(time.perf_counter() - t_start, 2)}
    result.manifest = _write_manifest(result, cfg, config_path, params, jobs, assessment,
                                      previous=previous)

    # 4. summary
    ok = sum(c.ok for c in results)
    say(f"sna run: {ok}/{len(results)} chapter(s) ran in {result.timings['total']:.1f} s; "
        f"report: {result.report}")
    if result.failed:
        say("sna run: FAILED chapters (the executed notebook of each is kept):")
        for c in result.failed:
            say(f"  - {c.summary()}")
            if c.executed:
                say(f"    executed notebook: {c.executed}")
    if result.pdf_message:
        say(f"sna run: {result.pdf_message}")
    elif result.pdf:
        say(f"sna run: PDF: {result.pdf}")
    return result


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _prepare(cfg, year, progress=None):
    """Load (or build and cache) the assessment; tell whether the cache was reused."""
    from .assessment import load_assessment

    folder = Path(cfg.cache_dir())
    before = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    assessment = load_assessment(cfg, year, use_cache=True, progress=progress)
    return assessment, assessment.cache_key in before


def _kernel_env(jobs: int) -> dict[str, str]:
    env = {"PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    if jobs > 1:  # several kernels at once: one BLAS thread each
        env.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    return env


def _kernel_name(notebook: Path) -> str:
    """The kernel a notebook asks for (its kernelspec), ``python3`` if it names none."""
    try:
        meta = json.loads(Path(notebook).read_text(encoding="utf-8")).get("metadata", {})
        return (meta.get("kernelspec") or {}).get("name") or "python3"
    except (OSError, ValueError):
        return "python3"


class _ChapterPool:
    """The worker processes that execute chapters; with ``reuse`` each keeps a warm kernel,
    started as soon as the pool is made (see ``sna._kernels``)."""

    def __init__(self, jobs: int, reuse: bool, kernel_name: str = "python3"):
        import multiprocessing as mp
        import tempfile
        from concurrent.futures import ProcessPoolExecutor

        self.reuse = reuse
        self.log_dir = tempfile.mkdtemp(prefix="sna-kernels-") if reuse else None
        kwargs = {}
        if reuse:
            from . import _kernels

            kwargs = {"initializer": _kernels.warm_worker,
                      "initargs": (kernel_name, str(Path.cwd()), _kernel_env(jobs),
                                   self.log_dir)}
        self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"),
                                        **kwargs)
        if reuse:  # workers are spawned on demand: one no-op each starts them all now
            for _ in range(jobs):
                self.pool.submit(_noop)

    def __enter__(self) -> "_ChapterPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self, keep_logs_in: Path | None = None) -> None:
        if self.pool is None:
            return
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = None
        if self.log_dir is not None:  # kernels' own stderr: kept when it says something
            for log in Path(self.log_dir).glob("*.log"):
                drop_noise_log(log)
                if log.exists() and keep_logs_in is not None:
                    keep_logs_in.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(log), str(keep_logs_in / log.name))
            shutil.rmtree(self.log_dir, ignore_errors=True)


def _noop() -> None:
    return None


def _execute_all(tasks: list[dict], pool: _ChapterPool, weights: dict,
                 say) -> list[ChapterResult]:
    from concurrent.futures import FIRST_COMPLETED, wait

    first = sorted([t for t in tasks if t["name"] not in RUN_LAST],
                   key=lambda t: -weights.get(t["name"], 1.0))
    last = [t for t in tasks if t["name"] in RUN_LAST]
    done: dict[str, ChapterResult] = {}
    total = len(tasks)
    width = max(len(t["name"]) for t in tasks)

    def report(res: ChapterResult) -> None:
        done[res.name] = res
        status = "ok    " if res.ok else "FAILED"
        extra = "" if res.ok else f"  {res.error.get('ename')}: {res.error.get('evalue', '')[:100]}"
        if res.attempts > 1:
            extra += f"  (kernel started {res.attempts} times)"
        say(f"  [{len(done):>2}/{total}] {res.name:<{width}}  {status} {res.seconds:6.1f} s{extra}")

    for phase in (first, last):
        if not phase:
            continue
        futures = {pool.pool.submit(_execute_chapter, t): t for t in phase}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                t = futures[f]
                try:
                    res = ChapterResult(**f.result())
                except BaseException as exc:  # noqa: BLE001 - a crashed worker
                    res = ChapterResult(name=t["name"], notebook=t["notebook"],
                                        status="failed",
                                        error={"where": None, "ename": type(exc).__name__,
                                               "evalue": str(exc)})
                report(res)
    return [done[t["name"]] for t in tasks]


def _previous_timings(out: Path) -> dict[str, float] | None:
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        return {c["name"]: float(c["seconds"]) for c in manifest.get("chapters", [])
                if c.get("seconds")}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _clean_outputs(out: Path, names: list[str], everything: bool) -> None:
    """Remove the previous run's files of these chapters (all outputs for a full run)."""
    if everything:
        for sub in _CLEANED_SUBDIRS:
            shutil.rmtree(out / sub, ignore_errors=True)
        for f in ("report.html", "report.pdf", "tables.xlsx", "tables.meta.json", "manifest.json"):
            (out / f).unlink(missing_ok=True)
        return
    for name in names:
        num = chapter_number(name)
        prefix = f"{num:02d}_" if num is not None else f"{name}_"
        for sub in ("figures", "tables", "maps"):
            for p in (out / sub).glob(prefix + "*"):
                p.unlink()
        for p in (out / "chapters").glob(name + ".*"):
            p.unlink()


def _write_quarantine(assessment, folder: Path, build: str) -> None:
    import pandas as pd

    q = getattr(assessment, "quarantine", None)
    if q is None:
        q = pd.DataFrame(columns=["source", "reason"])
    summary = (q.groupby(["source", "reason"], dropna=False).size().rename("rows").reset_index()
               if len(q) else pd.DataFrame(columns=["source", "reason", "rows"]))
    summary.to_csv(folder / "summary.csv", index=False)
    if build == "restricted":
        q.to_csv(folder / "quarantine.csv", index=False)


def _copy_cache(assessment, cache_dir: Path, dest: Path) -> None:
    """Copy the prepared assessment's Parquet cache into ``data/`` (restricted build)."""
    src = None
    for attr in ("cache_path", "cache_dir"):
        p = getattr(assessment, attr, None)
        if p and Path(p).is_dir():
            src = Path(p)
            break
    key = getattr(assessment, "cache_key", None)
    if src is None and key and (cache_dir / str(key)).is_dir():
        src = cache_dir / str(key)
    dest.mkdir(parents=True, exist_ok=True)
    if src is None:
        logger.warning("no cache folder found for the assessment; data/ left empty")
        return
    for p in src.rglob("*"):
        if p.is_file():
            target = dest / p.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, target)


# ---- tables.xlsx --------------------------------------------------------------------------
def write_tables_xlsx(out: str | os.PathLike) -> Path | None:
    """Write every ``tables/*.csv`` of a run folder into ``tables.xlsx``, a sheet per table.

    The first sheet, ``contents``, lists each sheet with its table number and caption.
    """
    import pandas as pd

    out = Path(out)
    csvs = sorted((out / "tables").glob("*.csv"))
    path = out / "tables.xlsx"
    if not csvs:
        path.unlink(missing_ok=True)
        return None
    captions = {}
    for side in read_sidecars(out).values():
        for t in side.get("tables", []):
            captions[Path(t["file"]).name] = (t.get("label", ""), t.get("caption", ""),
                                              t.get("disclosure", ""))
    used: set[str] = set()
    index_rows, records = [], []
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        sheets = []
        for csv in csvs:
            name = _sheet_name(csv.stem, used)
            label, caption, rule = captions.get(csv.name, ("", "", ""))
            index_rows.append({"sheet": name, "table": label, "caption": caption,
                               "file": f"tables/{csv.name}", "disclosure": rule})
            try:
                df = pd.read_csv(csv)
            except pd.errors.EmptyDataError:
                df = pd.DataFrame()
            for col in df.columns:  # a controlled column reads as text ("*" among numbers)
                if df[col].dtype == object:
                    df[col] = df[col].map(_number_or_text)
            sheets.append((name, df))
            meta = csv.with_name(csv.stem + ".meta.json")
            if meta.exists():  # public build: the checker's metadata, by sheet
                rec = json.loads(meta.read_text(encoding="utf-8"))
                rec.update({"table": name, "file": f"tables/{csv.name}"})
                records.append(rec)
        pd.DataFrame(index_rows).to_excel(xw, sheet_name="contents", index=False)
        for name, df in sheets:
            df.to_excel(xw, sheet_name=name, index=False)
    meta_path = out / "tables.meta.json"
    if records:
        records.insert(0, {"table": "contents", "rule": "none", "counts": [], "derived": {},
                           "total_rows": [], "total_columns": []})
        meta_path.write_text(json.dumps({"file": "tables.xlsx", "tables": records}, indent=2),
                             encoding="utf-8")
    else:
        meta_path.unlink(missing_ok=True)
    return path


def _number_or_text(v):
    """'35' -> 35, '2.5' -> 2.5, '*' and other text unchanged (for Excel cells)."""
    if isinstance(v, str) and re.fullmatch(r"-?\d+", v.strip()):
        return int(v)
    if isinstance(v, str) and re.fullmatch(r"-?\d*\.\d+(e-?\d+)?", v.strip()):
        return float(v)
    return v


def _sheet_name(stem: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]\:\*\?\/\\]", "_", stem)[:31]
    name, k = base, 2
    while name.lower() in used or name.lower() == "contents":
        suffix = f"~{k}"
        name = base[: 31 - len(suffix)] + suffix
        k += 1
    used.add(name.lower())
    return name


# ---- report.html --------------------------------------------------------------------------
def _notebook_title(nb) -> str | None:
    for c in nb.cells:
        if c.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", c.source, flags=re.M)
            if m:
                return m.group(1).strip()
    return None


def _markdown(text: str) -> str:
    import mistune

    global _MD
    try:
        md = _MD
    except NameError:
        md = _MD = mistune.create_markdown(escape=False, plugins=["table", "strikethrough"])
    return md(text)


def _render_output(o: dict, state: dict) -> str:
    """One notebook output as report HTML (no code, no stderr)."""
    otype = o.get("output_type")
    if otype in ("stream", "execute_result"):  # code artefacts: printed text, a cell's value
        return ""
    if otype == "error":
        return (f'<div class="sna-error"><strong>Error in this chapter:</strong> '
                f'{html.escape(str(o.get("ename")))}: {html.escape(str(o.get("evalue")))}</div>')
    data = o.get("data", {})
    meta = (o.get("metadata") or {}).get("sna") or {}
    kind = meta.get("kind")
    if kind == "banner":
        return ""  # the report has its own banner
    if kind == "caption":
        return ""  # rendered with its figure
    if kind == "figure" and "image/png" in data:
        label, caption = meta.get("label", ""), meta.get("caption", "")
        src = meta.get("source")
        cap = (f"<strong>{html.escape(label)}.</strong> {html.escape(caption)}"
               + (f" <em>{html.escape(src)}</em>" if src else ""))
        png = data["image/png"].replace("\n", "") if isinstance(data["image/png"], str) else ""
        return (f'<figure class="sna-figure" id="{_anchor(label)}"><img alt="{html.escape(label)}: '
                f'{html.escape(caption)}" src="data:image/png;base64,{png}"/>'
                f"<figcaption>{cap}</figcaption></figure>")
    if kind == "table" and "text/html" in data:
        text = _join(data["text/html"])
        return f'<div id="{_anchor(meta.get("label", ""))}">{text}</div>'
    if kind == "not_available":
        return f'<div class="sna-na">{_markdown(_join(data.get("text/markdown", "")))}</div>'
    if "text/html" in data:
        return _join(data["text/html"])
    if "image/png" in data:
        return f'<img src="data:image/png;base64,{_join(data["image/png"]).strip()}"/>'
    if "text/markdown" in data:
        return _markdown(_join(data["text/markdown"]))
    if "text/plain" in data:
        return f"<pre>{html.escape(_join(data['text/plain']))}</pre>"
    return ""


def _join(v) -> str:
    return "".join(v) if isinstance(v, list) else str(v)


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def _render_chapter(executed: Path, result: ChapterResult | None) -> tuple[str, str, list]:
    """(title, html body, [(h2 id, h2 text)]) of one executed chapter."""
    import nbformat

    nb = nbformat.read(str(executed), as_version=4)
    title = _notebook_title(nb) or executed.stem
    parts: list[tuple[bool, str]] = []  # (is a bare section heading, html)
    state: dict = {}
    seen_title = False
    for c in nb.cells:
        tags = set(c.get("metadata", {}).get("tags", []))
        if tags & {"injected-parameters", "papermill-error-cell-tag", "parameters"}:
            continue
        if c.cell_type == "markdown":
            src = c.source
            if not seen_title and re.search(r"^#\s+", src, flags=re.M):
                src = re.sub(r"^#\s+.+$", "", src, count=1, flags=re.M)
                seen_title = True
            if src.strip():
                bare = bool(re.fullmatch(r"\s*#{2,6}\s+[^\n]+\s*", src))
                parts.append((bare, _markdown(src)))
        elif c.cell_type == "code":
            for o in c.get("outputs", []):
                text = _render_output(o, state)
                if text:
                    parts.append((False, text))
    # a section heading with nothing under it (the chapter said its data are missing) goes
    kept = [html_ for i, (bare, html_) in enumerate(parts)
            if not (bare and (i + 1 == len(parts) or parts[i + 1][0]))]
    body = "\n".join(kept)
    # ids for the section headings, so the contents list can link to them
    heads: list[tuple[str, str]] = []

    def _h2(m):
        text = re.sub("<[^>]+>", "", m.group(2))
        hid = f"{executed.stem}-{_anchor(text)}"
        heads.append((hid, html.unescape(text)))
        return f'<h2{m.group(1)} id="{hid}">{m.group(2)}</h2>'

    body = re.sub(r"<h2([^>]*)>(.*?)</h2>", _h2, body, flags=re.S)
    if result is not None and not result.ok:
        body += (f'<div class="sna-error"><strong>This chapter did not finish.</strong> '
                 f"{html.escape(result.summary())}. The executed notebook "
                 f"<code>chapters/{html.escape(executed.name)}</code> shows the full error.</div>")
    return title, body, heads


def assemble_report(
    out: str | os.PathLike,
    *,
    area: str,
    year: str,
    build: str = "restricted",
    synthetic: bool = False,
    results: Sequence[ChapterResult] | None = None,
) -> Path:
    """Assemble ``report.html`` from the executed notebooks in ``<out>/chapters``.

    One self-contained page (figures embedded), no code: a title block, the banners
    (synthetic data; restricted or public build), a contents list linking every chapter and
    its sections, then each chapter on a new printed page. A4-portrait print styles.

    Parameters
    ----------
    out
        The run folder.
    area, year, build, synthetic
        For the title block and banners.
    results
        The run's chapter results (failed chapters are flagged); optional.

    Returns
    -------
    pathlib.Path
        ``<out>/report.html``.
    """
    from . import __version__

    out = Path(out)
    by_name = {r.name: r for r in (results or [])}
    executed = sorted((out / "chapters").glob("*.ipynb"),
                      key=lambda p: (CHAPTERS.index(p.stem) if p.stem in CHAPTERS else 99, p.stem))
    sections, contents = [], []
    for nb_path in executed:
        res = by_name.get(nb_path.stem)
        title, body, heads = _render_chapter(nb_path, res)
        num = chapter_number(nb_path.stem)
        sid = f"ch-{nb_path.stem}"
        failed = res is not None and not res.ok
        flag = ' <span class="sna-flag">did not finish</span>' if failed else ""
        sub = "".join(f'<li><a href="#{h}">{html.escape(t)}</a></li>' for h, t in heads)
        contents.append(f'<li><a href="#{sid}">{html.escape(title)}</a>{flag}'
                        + (f"<ol>{sub}</ol>" if sub else "") + "</li>")
        tag = '<span class="sna-tag">Synthetic data</span>' if synthetic else ""
        sections.append(
            f'<section class="chapter" id="{sid}" data-chapter="{num if num is not None else ""}">'
            f"<h1>{html.escape(title)}{tag}</h1>\n{body}\n</section>")
    banners = []
    if synthetic:
        banners.append('<div class="sna-banner sna-synthetic"><strong>Synthetic data.</strong> '
                       "This report is made from the bundled synthetic demo dataset. No figure "
                       "in it describes real people or places.</div>")
    if build == "public":
        banners.append('<div class="sna-banner sna-public"><strong>Public build.</strong> Every '
                       "table is under statistical disclosure control; the rule applied is named "
                       "under each table and listed in the technical appendix.</div>")
    else:
        banners.append('<div class="sna-banner sna-restricted"><strong>Restricted.</strong> '
                       "Full detail for partner agencies; not for publication.</div>")
    when = _dt.datetime.now().strftime("%d %B %Y")
    doc = f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<meta name="generator" content="sna {html.escape(__version__)}"/>
<title>Serious Violence Strategic Needs Assessment — {html.escape(area)} {html.escape(year)}</title>
<style>{_REPORT_CSS}</style>
</head>
<body>
<header class="sna-title">
<p class="sna-kicker">Serious Violence Strategic Needs Assessment</p>
<h1 class="sna-doc-title">{html.escape(area)} — {html.escape(year)}</h1>
<p class="sna-meta">{'Restricted' if build == 'restricted' else 'Public'} build · produced {when} with sna {html.escape(__version__)}</p>
{''.join(banners)}
</header>
<nav class="sna-contents" aria-label="Contents">
<h2>Contents</h2>
<ol>
{''.join(contents)}
</ol>
</nav>
<main>
{''.join(sections)}
</main>
</body>
</html>
"""
    path = out / "report.html"
    path.write_text(doc, encoding="utf-8")
    return path


# ---- PDF ----------------------------------------------------------------------------------
# one place knows how to find and start Chromium: sna._browser
from ._browser import CHROMIUM_FLAGS, find_chromium  # noqa: E402


def print_pdf(report: str | os.PathLike, pdf: str | os.PathLike, *, timeout: int = 180) -> Path:
    """Print ``report.html`` to PDF with headless Chromium (A4 portrait, the page's styles).

    Raises
    ------
    ChapterError
        when no Chromium is installed (the message says how to get one) or printing fails.
    """
    exe = find_chromium()
    if exe is None:
        raise ChapterError(
            "report.pdf was not made: no headless Chromium or Chrome was found. Install it "
            "(Debian/Ubuntu: 'sudo apt-get install chromium'; macOS/Windows: install Google "
            "Chrome) or set SNA_CHROMIUM to its path, then run again with --pdf; or open "
            "report.html in a browser and print it to PDF.")
    report, pdf = Path(report).resolve(), Path(pdf).resolve()
    try:  # the DevTools driver: the same page a browser shows, with a PDF outline
        from ._browser import Browser

        with Browser(exe, timeout=timeout) as browser:
            page = browser.new_page()
            page.goto(report)
            page.print_pdf(pdf, outline=True)
        if pdf.exists() and pdf.stat().st_size > 0:
            return pdf
    except ImportError:
        pass
    except Exception as exc:  # noqa: BLE001 - fall back to Chromium's own --print-to-pdf
        logger.warning("printing with the DevTools driver failed (%s); using --print-to-pdf", exc)
    with tempfile.TemporaryDirectory(prefix="sna-chromium-") as profile:
        cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
               f"--print-to-pdf={pdf}", report.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ChapterError(f"Chromium did not finish printing {report} in {timeout} s") from None
    if not pdf.exists() or pdf.stat().st_size == 0:
        raise ChapterError(f"Chromium could not print {report}: {proc.stderr.strip()[-500:]}")
    return pdf


# ---- manifest -----------------------------------------------------------------------------
def input_files(cfg, fingerprints: Sequence[dict] | None = None) -> list[dict]:
    """Every input file a config names, with its role, size and SHA-256 (for the manifest).

    The config file, then ``sna.io._files.input_files``. The fingerprints the assessment
    computed for its cache key (:attr:`sna.assessment.Assessment.inputs`) are reused: a file
    is hashed once per run.
    """
    from .io._files import file_fingerprint
    from .io._files import input_files as roles_and_files

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

    names = ["sna", "numpy", "pandas", "geopandas", "shapely", "pyproj", "pyogrio", "pyarrow",
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


def _write_manifest(result: RunResult, cfg, config_path, params, jobs, assessment,
                    previous: dict | None = None) -> Path:
    from . import __version__

    sidecars = read_sidecars(result.output_dir)
    chapters = []
    for c in result.chapters:
        side = sidecars.get(c.name, {})
        entry = {"name": c.name, "status": c.status, "seconds": c.seconds,
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
    if previous:  # a partial re-run: the other chapters of the report are from an earlier run
        done = {c["name"] for c in chapters}
        chapters_dir = result.output_dir / "chapters"
        kept = [dict(c, run="previous") for c in previous.get("chapters", [])
                if c.get("name") not in done and (chapters_dir / f"{c.get('name')}.ipynb").exists()]
        chapters = sorted(chapters + kept, key=lambda c: (
            CHAPTERS.index(c["name"]) if c["name"] in CHAPTERS else 99, c["name"]))
    files = sorted(str(p.relative_to(result.output_dir)) for p in result.output_dir.rglob("*")
                   if p.is_file() and p.name != "manifest.json")
    manifest = {
        "sna_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "area": result.area, "year": result.year, "build": result.build,
        "synthetic": result.synthetic,
        "status": "ok" if result.ok else "failed",
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
        "source_rules": {n: s.default_disclosure for n, s in cfg.sources.items()},
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


# ---- command line -------------------------------------------------------------------------
def run_cli(args: Any) -> int:
    """``sna run``: the command-line front of :func:`run`; returns the exit code.

    ``args`` is the parsed ``argparse.Namespace`` of ``sna run`` (attributes ``config``,
    ``year``, ``chapters``, ``build``, ``output``, ``jobs``, ``pdf``, ``debug``), or a list of
    command-line words.
    """
    if isinstance(args, (list, tuple)):
        args = _parser().parse_args(list(args))
    extra = list(getattr(args, "extra", None) or [])
    if extra:  # options the main parser did not know (e.g. an older sna.cli without --pdf)
        known, rest = _parser().parse_known_args(extra)
        if rest:
            print(f"sna run: error: unrecognised arguments: {' '.join(rest)}", file=sys.stderr)
            return 2
        for key, value in vars(known).items():
            if value not in (None, False) and not getattr(args, key, None):
                setattr(args, key, value)
    get = lambda name, default=None: getattr(args, name, default)  # noqa: E731
    chapters = get("chapters")
    if isinstance(chapters, (list, tuple)):
        chapters = ",".join(str(c) for c in chapters)
    try:
        result = run(get("config"), get("year"), chapters=chapters,
                     build=get("build") or "restricted", output=get("output"),
                     jobs=get("jobs"), pdf=bool(get("pdf", False)),
                     progress=not get("quiet", False), timeout=get("timeout"),
                     fresh_kernels=bool(get("fresh_kernels", False)))
    except SnaError as exc:
        if get("debug"):
            raise
        print(f"sna run: error: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    return result.exit_code


def _parser():
    import argparse

    p = argparse.ArgumentParser(prog="sna run", description="Run the yearly needs assessment.")
    p.add_argument("--config")
    p.add_argument("--year")
    p.add_argument("--chapters")
    p.add_argument("--build", choices=("restricted", "public"), default="restricted")
    p.add_argument("--output")
    p.add_argument("--jobs", type=int)
    p.add_argument("--pdf", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--timeout", type=int)
    p.add_argument("--fresh-kernels", action="store_true")
    p.add_argument("--debug", action="store_true")
    return p


# ---- styles -------------------------------------------------------------------------------
_BASE_CSS = """
.sna-banner{padding:.6em .9em;margin:.6em 0;border-radius:4px;border-left:6px solid;font-size:.95em}
.sna-banner,.sna-na,.sna-error,.sna-tag,.sna-flag{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.sna-synthetic{background:#fff4e5;border-color:#e67e00}
.sna-restricted{background:#fdecea;border-color:#b3261e}
.sna-public{background:#e8f3ea;border-color:#2e7d32}
.sna-na{background:#f3f4f6;border-left:4px solid #6b7280;padding:.1em .9em;margin:.8em 0}
.sna-na blockquote{margin:0;padding:0;border:0}
.sna-error{background:#fdecea;border-left:6px solid #b3261e;padding:.6em .9em;margin:1em 0}
.sna-tablewrap{margin:1em 0;max-width:100%;overflow-x:auto}
.sna-caption{font-weight:normal;margin:.2em 0 .4em 0}
.sna-tablenote{font-size:.85em;color:#444;margin:.3em 0 0 0}
table.sna-table{border-collapse:collapse;font-size:.85em;font-variant-numeric:tabular-nums}
table.sna-table th{border-bottom:2px solid #333;padding:.25em .45em;vertical-align:bottom;font-weight:600}
table.sna-table td{border-bottom:1px solid #ddd;padding:.2em .45em;vertical-align:top}
table.sna-table .num{text-align:right}
table.sna-table .txt{text-align:left}
table.sna-table th.num{hyphens:auto}
"""

_CHAPTER_CSS = _BASE_CSS

_REPORT_CSS = _BASE_CSS + """
:root{--text:#1f2328;--muted:#57606a;--accent:#1f4e79}
html{font-size:16px}
body{font-family:"Source Sans 3","Segoe UI",Helvetica,Arial,sans-serif;color:var(--text);
 line-height:1.5;max-width:46rem;margin:0 auto;padding:1.5rem 1.25rem 4rem}
h1,h2,h3{color:var(--accent);line-height:1.25}
section.chapter>h1{font-size:1.7rem;border-bottom:3px solid var(--accent);padding-bottom:.2em;margin-top:2.5rem}
h2{font-size:1.25rem;margin-top:1.6em}
h3{font-size:1.05rem}
.sna-title{border-bottom:1px solid #ccc;margin-bottom:1rem}
.sna-kicker{text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:0;font-size:.85rem}
.sna-doc-title{font-size:2rem;margin:.1em 0}
.sna-meta{color:var(--muted);margin:.2em 0 .8em}
a{color:var(--accent)}
.sna-contents a{text-decoration:none}.sna-contents a:hover{text-decoration:underline}
.sna-contents>ol{list-style:none;padding-left:0;columns:2 20rem;column-gap:2rem}
.sna-contents li{margin:.15em 0}
.sna-contents>ol>li{break-inside:avoid;margin-bottom:.5em}
.sna-contents>ol>li>a{font-weight:600}
.sna-contents ol ol{font-size:.9em;list-style:none;padding-left:1.1em;color:var(--muted)}
.sna-contents ol ol a{color:#3d4b5c}
.sna-flag{background:#b3261e;color:#fff;border-radius:3px;padding:0 .4em;font-size:.8em;margin-left:.4em}
.sna-tag{font-size:.7rem;font-weight:normal;color:#8a4b00;background:#fff4e5;border:1px solid #e67e00;
 border-radius:3px;padding:0 .4em;margin-left:.6em;vertical-align:middle}
figure.sna-figure{margin:1.2em 0;text-align:center}
figure.sna-figure img{max-width:100%;height:auto}
figure.sna-figure figcaption{text-align:left;font-size:.92em;color:#333;margin-top:.3em}
img{max-width:100%;height:auto}
pre{white-space:pre-wrap;font-size:.85em}
@page{size:A4 portrait;margin:15mm 14mm;
 @bottom-right{content:"page " counter(page) " of " counter(pages);font:8pt sans-serif;color:#57606a}}
@media print{
 html{font-size:10.5pt}
 p,li{orphans:3;widows:3}
 body{max-width:none;padding:0}
 .sna-contents{break-after:page}
 section.chapter{break-before:page}
 section.chapter>h1{margin-top:0}
 figure,.sna-tablewrap,.sna-banner,.sna-na{break-inside:avoid}
 tr{break-inside:avoid}
 h1,h2,h3,.sna-caption{break-after:avoid}
 .sna-tablenote{break-before:avoid}
 .sna-tablewrap{overflow:visible}
 thead{display:table-header-group}
 table.sna-table{font-size:8.5pt;width:auto;max-width:100%}
 table.sna-table:has(tr>:nth-child(12)){font-size:7.5pt}
 table.sna-table:has(tr>:nth-child(16)){font-size:6.5pt}
 a{color:inherit;text-decoration:none}
}
"""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_cli(sys.argv[1:]))
