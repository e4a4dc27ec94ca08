"""The yearly batch, :func:`~sna.report.run`: prepare the assessment once, check and execute the chapters,
assemble the folder, write the manifest.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._log import logger
from ..chapter import chapter_number, source_words
from ..errors import ChapterError, OutputError, SnaError
from .assemble import assemble_report
from .execute import (
    WEIGHTS,
    ChapterPool,
    default_jobs,
    execute_all,
    kernel_env,
    previous_timings,
)
from .manifest import write_manifest
from .notebooks import check_notebook, notebook_kernel, resolve_chapters
from .pdf import print_pdf
from .folder import (
    claim_folder,
    clear_assembled,
    clear_folder,
    earlier_chapters,
    folder_build,
    has_outputs,
    previous_manifest,
)
from .results import ChapterResult, RunResult
from .xlsx import write_tables_xlsx

__all__ = [
    "run",
]


# ---- the run ------------------------------------------------------------------------------
def _stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)

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
    cache: str | os.PathLike | None = None,
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
        namespace and matplotlib's settings between them (``sna.report._kernels``): the same
        tables, about half the CPU.
    cache
        Folder of the cleaned-data cache (replaces the config's ``cache``; default
        ``.sna-cache`` beside the config file). It holds record-level data: a public build
        refuses a cache inside its output folder.

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
    _refuse_in_a_starting_worker()
    t_start = time.perf_counter()
    notebooks = resolve_chapters(chapters)
    jobs = max(1, min(jobs or default_jobs(), len(notebooks)))
    # the chapter workers start (and warm their kernels) at once: while the config and the
    # notebooks are checked and the assessment is prepared
    pool = ChapterPool(jobs, reuse=not fresh_kernels, kernel_name=notebook_kernel(notebooks[0]))
    try:
        cfg, config_path, prep_cfg, cache_dir, moved_cache = _run_configs(config, output, cache)
        for nb in notebooks:  # before anything runs
            check_notebook(nb)
        _narrative_of(cfg)  # a narrative file named but missing stops the run now, not at the end
        if cfg.report.template and not cfg.resolve(cfg.report.template).is_file():
            raise SnaError(f"the Word template {cfg.resolve(cfg.report.template)} does not exist",
                           key="report.template")
        if build == "public":
            _check_cache_outside(cache_dir, Path(cfg._output_base()).resolve())
    except BaseException:  # nothing ran: the workers and their kernels go at once
        pool.kill()
        raise
    with pool:
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
        with claim_folder(out, build) as lock:  # one run (and one build) in a folder at once
            names = [p.stem for p in notebooks]
            kept = _start_outputs(out, assessment, names, chapters, build, lock, say)

            # 2. execute the chapters
            params = {"config_path": str(config_path), "year": str(fy), "build": build,
                      "output_dir": str(out),
                      "cache_dir": str(cache_dir) if moved_cache else None}
            tasks = _chapter_tasks(notebooks, params, out, timeout, jobs, pool.reuse)
            how = ("each in its own kernel" if not pool.reuse else
                   "in one warm kernel per worker, reset between chapters")
            say(f"sna run: executing {len(tasks)} chapter(s), {jobs} at a time ({how})")
            t0 = time.perf_counter()
            done: dict = {}
            try:
                results = execute_all(tasks, pool, previous_timings(out) or WEIGHTS, say,
                                      done=done)
            except KeyboardInterrupt:
                pool.kill()  # the workers and their kernels, before anything is cleared
                _record_interrupted(out, cfg, config_path, params, jobs, assessment, build,
                                    tasks, done, kept, cache_reused)
                raise
            t_chapters = time.perf_counter() - t0

            # 3. assemble; a chapter worker (idle now) writes tables.xlsx meanwhile
            t0 = time.perf_counter()
            result = RunResult(output_dir=out, area=cfg.area, year=str(fy), build=build,
                               synthetic=bool(assessment.synthetic), chapters=results,
                               cache_reused=cache_reused)
            xlsx = _workbook_elsewhere(pool, out, source_words(cfg))
            docx = _docx_elsewhere(pool, result, cfg) if jobs > 1 else None
            pool.finish()  # the other worker, and this one after the workbook, end meanwhile
            _assemble(result, assessment, cache_dir, pdf, say, kept, xlsx=xlsx, docx=docx)
            pool.close(keep_logs_in=out / "chapters")  # kernels' logs, before the manifest
            t_assemble = time.perf_counter() - t0
            result.timings = {"prepare": round(t_prepare, 2), "chapters": round(t_chapters, 2),
                              "assemble": round(t_assemble, 2),
                              "total": round(time.perf_counter() - t_start, 2)}
            result.manifest = write_manifest(result, cfg, config_path, params, jobs,
                                             assessment, kept=kept)
    _summarise(result, say)
    return result


def _refuse_in_a_starting_worker() -> None:
    """A chapter worker is started with ``spawn``, which runs the main script again up to its
    ``__main__`` guard: a script that calls :func:`run` at its top level would start a run in
    each worker. Say so there at once (the main process then reports its broken workers)."""
    from .._spawn import GUARD_HELP, main_script, starting_worker

    if starting_worker():
        raise ChapterError(
            "sna.report.run cannot start a run inside one of its own chapter workers: put the "
            f'call under `if __name__ == "__main__":` in {main_script() or "the main script"} '
            f"({GUARD_HELP})")


def _run_configs(config, output, cache=None):
    """The run's config (with ``output`` and ``cache`` applied), its path, the config the
    assessment is prepared with, the cache folder and whether ``cache`` moved it."""
    from ..config import load_config
    from ..datasets import demo_config

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
    if cache is not None:
        cfg.cache = str(Path(cache).expanduser().resolve())
    cache_dir = Path(cfg.cache_dir()).resolve()
    # The config the assessment is prepared with must be the one every chapter rebuilds
    # (load_config(path), with the cache folder set only when --cache moved it): the cache
    # key hashes the config, so `sna validate` then `sna run` share one cache.
    prep_cfg = load_config(config_path)
    moved_cache = Path(prep_cfg.cache_dir()).resolve() != cache_dir
    if moved_cache:
        prep_cfg.cache = str(cache_dir)
    return cfg, config_path, prep_cfg, cache_dir, moved_cache

def _check_cache_outside(cache_dir: Path, output_root: Path) -> None:
    """A public build's output folder must not hold the cache (record-level data)."""
    if _is_within(cache_dir, output_root):
        raise OutputError(
            f"the cache folder {cache_dir} is inside the output folder {output_root}; a public "
            "build must not carry the cleaned records: set 'cache' in sna.yml (or --cache) to "
            "a folder outside it", key="cache")

def _start_outputs(out: Path, assessment, names: list[str], chapters, build: str, lock,
                   say) -> list[dict]:
    """Make the folder ready for this run: an earlier run's outputs of another build (or of
    a run that died) cleared whole, the previous outputs of the chapters run removed (all of
    them for a full run), the folders made and the quarantine written. Returns the chapters
    of earlier runs the report keeps (:func:`earlier_chapters`)."""
    if lock.stale is not None:
        say(f"sna run: the previous run in this folder (process {lock.stale.get('pid')}, "
            f"{lock.stale.get('build')} build, started {lock.stale.get('started')}) did not "
            "finish (it was killed): its outputs are cleared")
    previous = previous_manifest(out)
    if previous and previous.get("status") == "interrupted":
        unfinished = [c["name"] for c in previous.get("chapters", [])
                      if c.get("status") == "interrupted"]
        say(f"sna run: the previous run in this folder was interrupted ({previous.get('created')})"
            + (f"; chapter(s) it did not finish: {', '.join(unfinished)}" if unfinished else ""))
    before = folder_build(lock, previous)
    other = has_outputs(out) and (lock.stale is not None or before != build)
    if other or chapters is None:  # a full run starts from an empty folder too
        if other and lock.stale is None and chapters is not None:
            say(f"sna run: the folder held a {before or 'build of unknown kind'} build: its "
                f"outputs are cleared, the {build} report holds only the chapters run now")
        clear_folder(out)
        previous = None
    else:
        _clean_outputs(out, names)
    if build == "public":  # never a record-level file in a public folder
        shutil.rmtree(out / "data", ignore_errors=True)
        (out / "quarantine" / "quarantine.csv").unlink(missing_ok=True)
    for sub in ("chapters", "figures", "tables", "maps", "quarantine"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    _write_quarantine(assessment, out / "quarantine", build)
    kept = earlier_chapters(previous, out, set(names), getattr(assessment, "cache_key", None))
    stale = [c["name"] for c in kept if c.get("stale")]
    if stale:
        say(f"sna run: {len(stale)} chapter(s) kept from an earlier run were computed from other "
            f"inputs or settings: {', '.join(stale)}; the report marks them stale: run them again "
            f"(sna run --chapters {','.join(stale)}, or the whole run)")
    return kept

def _record_interrupted(out: Path, cfg, config_path, params, jobs, assessment, build, tasks,
                        done: dict, kept: list[dict], cache_reused) -> None:
    """After Ctrl-C: the chapters that did not finish leave nothing (no half-written notebook
    presented as a chapter), the report and workbook of the folder go (they no longer match
    it), and the manifest says the run was interrupted and which chapters did not finish."""
    unfinished = [t["name"] for t in tasks if t["name"] not in done]
    _clean_outputs(out, unfinished)
    clear_assembled(out)
    results = [done.get(t["name"]) or ChapterResult(name=t["name"], notebook=t["notebook"],
                                                     status="interrupted")
               for t in tasks]
    result = RunResult(output_dir=out, area=cfg.area, year=params["year"], build=build,
                       synthetic=bool(assessment.synthetic), chapters=results,
                       cache_reused=cache_reused, interrupted=True)
    try:
        write_manifest(result, cfg, config_path, params, jobs, assessment, kept=kept)
    except Exception as exc:  # noqa: BLE001 - interrupted: say so, do not hide the Ctrl-C
        logger.warning("could not write the manifest of the interrupted run: %s", exc)
    print(f"sna run: interrupted; chapter(s) not finished: {', '.join(unfinished) or 'none'} "
          f"(the manifest in {out} says so; run again to complete the report)",
          file=sys.stderr, flush=True)

def _chapter_tasks(notebooks: list[Path], params: dict, out: Path, timeout, jobs: int,
                   reuse: bool) -> list[dict]:
    """What a worker needs to execute each chapter."""
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
            "timeout": timeout, "env": kernel_env(jobs), "reuse_kernel": reuse,
            "kernel_name": notebook_kernel(nb),
        })
    return tasks

def _assemble(result: RunResult, assessment, cache_dir: Path, pdf: bool, say,
              kept: list[dict] = (), xlsx=None, docx=None) -> None:
    """The data copy (restricted build), tables.xlsx, report.html, the Word documents and
    the PDF if asked for. ``xlsx``, ``docx``: the futures of tables.xlsx and report.docx when
    other processes write them (:func:`run`), else they are written here. Chapters kept from
    an earlier run on other inputs are marked stale in the report; the chapters an
    interrupted run did not finish are named in a banner."""
    out = result.output_dir
    if result.build == "restricted":
        _copy_cache(assessment, cache_dir, out / "data")
    cfg = assessment.config
    sections = _narrative_of(cfg)
    if xlsx is None:  # no worker writes it: here, first
        xlsx = write_tables_xlsx(out, source_words=source_words(cfg))
    stale = {c["name"]: c["stale"] for c in kept if c.get("stale")}
    missing = [c["name"] for c in kept if c.get("status") == "interrupted"]
    notices = []
    if missing:
        notices.append(f"An earlier run in this folder was interrupted: chapter(s) "
                       f"{', '.join(missing)} did not finish and are not in this report. Run "
                       "them again (sna run --chapters …, or the whole run).")
    # what the data cover, under the title (an assessment stand-in may not say)
    coverage = assessment.coverage_text() if hasattr(assessment, "coverage_text") else None
    result.report = assemble_report(out, area=result.area, year=result.year, build=result.build,
                                    synthetic=result.synthetic, results=result.chapters,
                                    narrative=sections, stale=stale, notices=notices,
                                    coverage=coverage)
    _write_documents(result, cfg, sections, say, docx=docx)
    result.xlsx = _workbook(xlsx, out, source_words(cfg))
    if pdf:
        say("sna run: printing report.pdf with headless Chromium ...")
        try:
            result.pdf = print_pdf(result.report, out / "report.pdf")
        except ChapterError as exc:
            result.pdf_message = exc.message

def _workbook_elsewhere(pool, out: Path, words: dict):
    """``tables.xlsx`` given to an idle chapter worker: its future, or None when the pool
    cannot take it (a worker died during the chapters, and the pool with it)."""
    try:
        return pool.pool.submit(write_tables_xlsx, out, source_words=words)
    except Exception:  # noqa: BLE001 - BrokenProcessPool, or a pool already shut down
        return None


def _workbook(xlsx, out: Path, words: dict) -> Path:
    """The path of ``tables.xlsx``: written already (a path), by a worker (its future), or
    here when the worker died before it was done."""
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    if isinstance(xlsx, Future):
        try:
            return xlsx.result()
        except BrokenProcessPool:
            logger.warning("the worker writing tables.xlsx died; writing it here")
            return write_tables_xlsx(out, source_words=words)
    return xlsx


def _narrative_of(cfg) -> list:
    """The analyst's narrative sections named in the config (``report.narrative``), or []."""
    if not cfg.report.narrative:
        return []
    from ..narrative import read_narrative

    return read_narrative(cfg.resolve(cfg.report.narrative))


def _doc_info(result: RunResult) -> dict:
    """What the Word documents say of the run (their banners and title)."""
    return {"area": result.area, "year": result.year, "build": result.build,
            "synthetic": result.synthetic}


def _docx_elsewhere(pool, result: RunResult, cfg):
    """``report.docx`` given to an idle chapter worker (the old one removed first), written
    while this process assembles report.html and the board paper: its future, or None (not
    asked for, no chapter ran, or the pool cannot take it). The worker reads the narrative
    file itself."""
    from ..office import write_docx

    out, rep = result.output_dir, cfg.report
    if not rep.word or not any(out.glob("chapters/*.ipynb")):
        return None
    (out / "report.docx").unlink(missing_ok=True)
    try:
        return pool.pool.submit(
            write_docx, out, template=cfg.resolve(rep.template) if rep.template else None,
            styles=rep.styles, narrative=cfg.resolve(rep.narrative) if rep.narrative else None,
            info=_doc_info(result))
    except Exception:  # noqa: BLE001 - BrokenProcessPool, or a pool already shut down
        return None


def _write_documents(result: RunResult, cfg, sections: list, say, docx=None) -> None:
    """``report.docx``, ``board_paper.docx`` and ``slides.pptx`` as the config asks; the old
    ones go first, so a folder never holds a document of an earlier run. ``docx``: the future
    of report.docx when a chapter worker writes it (:func:`_docx_elsewhere`)."""
    from concurrent.futures.process import BrokenProcessPool

    from .. import office

    out, rep = result.output_dir, cfg.report
    for name in ("report.docx", "board_paper.docx", "slides.pptx"):
        if not (name == "report.docx" and docx is not None):  # removed before it was given
            (out / name).unlink(missing_ok=True)
    if not any(out.glob("chapters/*.ipynb")):
        return
    info = _doc_info(result)
    template = cfg.resolve(rep.template) if rep.template else None
    if rep.word and docx is None:
        result.docx = office.write_docx(out, template=template, styles=rep.styles,
                                        narrative=sections, info=info)
    if rep.board_paper:
        result.board_paper = office.write_board_paper(out, template=template, styles=rep.styles,
                                                      narrative=sections, details=rep.board,
                                                      info=info)
    if rep.slides:
        result.slides = office.write_slides(out, info=info)
    if docx is not None:
        try:
            result.docx = Path(docx.result())
        except BrokenProcessPool:  # the worker died: written here
            logger.warning("the worker writing report.docx died; writing it here")
            result.docx = office.write_docx(out, template=template, styles=rep.styles,
                                            narrative=sections, info=info)
    written = [p.name for p in (result.docx, result.board_paper, result.slides) if p]
    if written:
        say(f"sna run: wrote {', '.join(written)}")


def _summarise(result: RunResult, say) -> None:
    """The run's last lines on stderr: chapters run, the report, the failures."""
    ok = sum(c.ok for c in result.chapters)
    say(f"sna run: {ok}/{len(result.chapters)} chapter(s) ran in {result.timings['total']:.1f} s; "
        f"report: {result.report}")
    for line in failure_lines(result):
        say(line)
    if result.pdf:
        say(f"sna run: PDF: {result.pdf}")

def failure_lines(result: RunResult) -> list[str]:
    """What failed in a run (each chapter, its cell and error, its executed notebook; the
    PDF), as the run's last lines: printed even by ``sna run --quiet``."""
    lines = []
    if result.failed:
        lines.append("sna run: FAILED chapters (the executed notebook of each is kept):")
        for c in result.failed:
            lines.append(f"  - {c.summary()}")
            if c.executed:
                lines.append(f"    executed notebook: {c.executed}")
    if result.pdf_message:
        lines.append(f"sna run: {result.pdf_message}")
    return lines

def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False

def _prepare(cfg, year, progress=None):
    """Load (or build and cache) the assessment; tell whether the cache was reused."""
    from ..assessment import load_assessment

    folder = Path(cfg.cache_dir())
    before = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    assessment = load_assessment(cfg, year, use_cache=True, progress=progress)
    rebuilt = any("could not be used" in n for n in getattr(assessment, "notes", []))
    return assessment, assessment.cache_key in before and not rebuilt

def _clean_outputs(out: Path, names: list[str]) -> None:
    """Remove the previous run's files of these chapters (a full run clears the folder:
    :func:`sna.report.folder.clear_folder`)."""
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

    from ..inert import write_csv

    q = getattr(assessment, "quarantine", None)
    if q is None:
        q = pd.DataFrame(columns=["source", "reason"])
    summary = (q.groupby(["source", "reason"], dropna=False).size().rename("rows").reset_index()
               if len(q) else pd.DataFrame(columns=["source", "reason", "rows"]))
    write_csv(summary, folder / "summary.csv", index=False)
    if build == "restricted":
        write_csv(q, folder / "quarantine.csv", index=False)

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
