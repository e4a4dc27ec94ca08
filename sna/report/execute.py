"""Executing chapters: worker processes, each running its chapters with papermill (in one warm
kernel, ``sna.report._kernels``, unless ``fresh_kernels``), a kernel that dies while
starting started again, every failure recorded as the chapter's result (papermill's failure
model: the executed notebook is kept, the error names the cell).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from .._log import logger
from ._kernels import drop_noise_log, stderr_to
from .assemble import export_chapter_html
from .results import ChapterResult

__all__ = [
    "KERNEL_START_ATTEMPTS",
]


#: Chapters run after all the others (they read the others' sidecars).
RUN_LAST: frozenset[str] = frozenset({"09_appendix"})

# Expected relative cost, to start the slowest chapters first (a previous manifest's
# timings replace these when there is one).
WEIGHTS = {
    "04_geography": 10.0, "02_volume_and_trend": 8.0, "01_key_findings": 6.0,
    "03_timing": 5.0, "05_deprivation": 4.0, "06_people": 4.0, "07_health": 4.0,
    "08_interventions": 3.0, "00_data_quality": 2.0, "09_appendix": 1.0,
}


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

def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)

def kernel_env(jobs: int) -> dict[str, str]:
    # PYTHONSAFEPATH: a kernel (``python -m ipykernel_launcher``) must not put the folder it
    # works in first on sys.path, or a folder named ``sna`` there (the parent of a clone)
    # would be imported instead of the installed package
    env = {"PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONSAFEPATH": "1"}
    if jobs > 1:  # several kernels at once: one BLAS thread each
        env.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    return env

def die_with_parent(parent_pid: int) -> None:
    """Make this (worker) process die when the process that started it dies, even by
    ``kill -9``: Linux's parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)``); elsewhere
    a thread that polls the parent. A kernel this worker starts notices its parent's death
    itself (ipykernel polls ``JPY_PARENT_PID``) and stops within a second or so."""
    import signal

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0:
                if os.getppid() != parent_pid:  # the parent died before the signal was set
                    os._exit(1)
                return
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            pass
    import threading

    def watch() -> None:  # pragma: no cover - not Linux
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(1.0)

    threading.Thread(target=watch, name="sna-parent-watch", daemon=True).start()

def _worker_init(parent_pid: int, warm: tuple | None) -> None:
    """ProcessPoolExecutor initializer: die with the main process, then (with ``warm``)
    start and warm this worker's kernel. While the kernel starts and imports its libraries,
    a thread of the worker imports what the worker itself needs for a chapter (papermill,
    nbconvert's HTML exporter): the worker would otherwise wait idle for the kernel, then
    pay for these on its first chapter."""
    import threading

    die_with_parent(parent_pid)
    ready = threading.Thread(target=_worker_imports, name="sna-worker-imports", daemon=True)
    ready.start()
    if warm is not None:
        from . import _kernels

        _kernels.warm_worker(*warm)
    ready.join()

def _worker_imports() -> None:
    """What a chapter worker uses for each chapter, made ready once."""
    try:
        import papermill  # noqa: F401

        from . import _kernels
        from .assemble import html_exporter

        _kernels._register_engine()
        html_exporter()
    except Exception:  # noqa: BLE001 - the first chapter imports them again and says why
        pass

class ChapterPool:
    """The worker processes that execute chapters; with ``reuse`` each keeps a warm kernel,
    started as soon as the pool is made (see ``sna.report._kernels``).

    The workers and their kernels never outlive the main process: they are started with
    Ctrl-C ignored (the main process alone handles it, so an interrupted run prints no
    worker tracebacks), each dies with the main process (:func:`die_with_parent`), and
    :meth:`kill` ends them and their kernels at once (an interrupted run).
    """

    def __init__(self, jobs: int, reuse: bool, kernel_name: str = "python3"):
        import multiprocessing as mp
        import signal
        import tempfile
        from concurrent.futures import ProcessPoolExecutor

        self.reuse = reuse
        self.log_dir = tempfile.mkdtemp(prefix="sna-kernels-") if reuse else None
        warm = ((kernel_name, str(Path.cwd()), kernel_env(jobs), self.log_dir)
                if reuse else None)
        self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"),
                                        initializer=_worker_init,
                                        initargs=(os.getpid(), warm))
        # workers are spawned on demand: one no-op each starts them all now, with SIGINT
        # ignored (a spawned Python keeps an ignored SIGINT ignored)
        sigint = None
        try:
            sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:  # not the main thread: leave signals alone
            pass
        try:
            for _ in range(jobs):
                self.pool.submit(_noop)
        finally:
            if sigint is not None:
                signal.signal(signal.SIGINT, sigint)

    def __enter__(self) -> "ChapterPool":
        return self

    def __exit__(self, *exc) -> None:
        if exc and exc[0] is not None and not issubclass(exc[0], Exception):
            self.kill()  # Ctrl-C: do not wait for the chapters
        self.close()

    def kill(self) -> None:
        """End the workers and their kernels now (SIGKILL), and wait until they are gone."""
        if self.pool is None:
            return
        import psutil

        workers = list(getattr(self.pool, "_processes", {}).values())
        kernels = []
        for p in workers:
            try:
                kernels += psutil.Process(p.pid).children(recursive=True)
            except psutil.Error:
                pass
        for p in workers:  # through multiprocessing, which reaps them: were they reaped by
            p.kill()       # anyone else, the pool would wait at exit for workers it thinks alive
        for proc in kernels:
            try:
                proc.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(kernels, timeout=10)  # not our children: waited for, not reaped
        for p in workers:
            p.join(timeout=10)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = None
        if self.log_dir is not None:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def finish(self) -> None:
        """No more tasks: the workers end (and stop their kernels) as soon as the tasks
        given are done, while this process goes on; :meth:`close` waits for them."""
        if self.pool is not None:
            self.pool.shutdown(wait=False)

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

def execute_all(tasks: list[dict], pool: ChapterPool, weights: dict,
                 say, done: dict | None = None) -> list[ChapterResult]:
    """Run the tasks on the pool (slowest first, :data:`RUN_LAST` after the others); ``done``
    collects each chapter's result as it finishes (what an interrupted run got to)."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    from ..errors import ChapterError

    first = sorted([t for t in tasks if t["name"] not in RUN_LAST],
                   key=lambda t: -weights.get(t["name"], 1.0))
    last = [t for t in tasks if t["name"] in RUN_LAST]
    done = {} if done is None else done
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
        futures = {}
        for t in phase:
            try:
                futures[pool.pool.submit(_execute_chapter, t)] = t
            except BrokenProcessPool as exc:  # the workers are gone: no chapter can run now
                if not done and not futures:
                    raise ChapterError(f"sna run: {broken_pool_words()}") from exc
                report(_failed(t, exc))
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                t = futures[f]
                try:
                    res = ChapterResult(**f.result())
                except BaseException as exc:  # noqa: BLE001 - a crashed worker
                    res = _failed(t, exc)
                report(res)
    return [done[t["name"]] for t in tasks]


def broken_pool_words() -> str:
    """What to say when the chapter workers have died: a script without the ``__main__``
    guard is the cause to name when sna runs from a script."""
    from .._spawn import GUARD_HELP, main_script

    words = ("the chapter worker processes stopped before they could run a chapter (killed, "
             "out of memory, or unable to start)")
    script = main_script()
    if script is not None:
        words += (f'; when sna runs from a script, call sna.report.run under `if __name__ == '
                  f'"__main__":` in {script} ({GUARD_HELP})')
    return words


def _failed(task: dict, exc: BaseException) -> ChapterResult:
    from concurrent.futures.process import BrokenProcessPool

    words = broken_pool_words() if isinstance(exc, BrokenProcessPool) else ""
    return ChapterResult(name=task["name"], notebook=task["notebook"], status="failed",
                         error={"where": None, "ename": type(exc).__name__,
                                "evalue": f"{exc}" + (f" ({words})" if words else "")})


def previous_timings(out: Path) -> dict[str, float] | None:
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        return {c["name"]: float(c["seconds"]) for c in manifest.get("chapters", [])
                if c.get("seconds")}
    except (OSError, ValueError, KeyError, TypeError):
        return None
