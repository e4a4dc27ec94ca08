"""Warm, reused chapter kernels for ``sna run`` (runs inside the runner's worker processes).

Starting a Jupyter kernel and importing pandas, geopandas, matplotlib and ``sna`` costs about
4 s of CPU per chapter: on the demo year that is more than half the work of the batch. So each
worker process of :func:`sna.report.run` keeps **one kernel** and runs its chapters in it,
one after another, through papermill with an already-started kernel manager (papermill passes
``km`` on to nbclient, which then neither starts nor stops the kernel).

What a chapter sees is what a fresh kernel gives it:

- before every chapter but the kernel's first, the IPython user namespace is cleared
  (IPython's ``reset(new_session=True)``: every variable and import name, the input and
  output history, cells numbered from 1 again), open figures are
  closed and matplotlib's settings are put back as they were when the kernel was fresh;
- the kernel is started in the chapter's working folder with the run's environment;
- a chapter that fails (an error in a cell, a kernel that died, a timeout) takes its kernel
  with it: the next chapter gets a new one.

What is shared is only what a Python process caches for itself: imported modules (``sna`` is
stateless between calls: every chapter builds its own :class:`~sna.chapter.Chapter`) and the
seeded random generators each function creates. ``sna run --fresh-kernels`` restores one kernel
per chapter (papermill's own behaviour) for anyone who wants that isolation at its cost.

The kernel is warmed while the main process prepares the assessment: the worker's initializer
starts it and imports the heavy modules in a throw-away namespace.
"""

from __future__ import annotations

import contextlib
import multiprocessing.util
import os
import re
import sys
import time
from pathlib import Path

#: Modules imported (in a throw-away namespace) when a kernel is warmed.
WARM_IMPORTS = ("numpy", "pandas", "geopandas", "matplotlib.pyplot", "scipy.stats",
                "sna", "sna.chapter", "sna.plot", "sna.maps", "sna.hotspot", "sna.trend",
                "sna.rates", "sna.spc", "sna.disclosure", "sna.people", "sna.interventions")

_PRELUDE = f"""
def __sna_warm():
    import importlib, sys
    for m in {WARM_IMPORTS!r}:
        try:
            importlib.import_module(m)
        except Exception:
            pass
    import matplotlib
    import matplotlib.pyplot as plt
    plt.close(plt.figure())  # resolves the (inline) backend, as a chapter's first figure would
    matplotlib._sna_fresh_rc = matplotlib.rcParams.copy()
    import gc
    gc.collect()
    gc.freeze()  # the imported modules: never scanned again by the collector (nor by a reset)
__sna_warm()
del __sna_warm
"""

_RESET = """
get_ipython().reset(new_session=True)  # as %reset -f, and history and In [n] from 1
def __sna_reset():
    import sys
    mpl = sys.modules.get("matplotlib")
    if mpl is None:
        return
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")
    fresh = getattr(mpl, "_sna_fresh_rc", None)
    if fresh is not None:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mpl.rcParams.clear()
            mpl.rcParams.update(fresh)
__sna_reset()
del __sna_reset
"""


_NOISE = re.compile(r"Kernel is running over TCP without encryption|"
                    r"Debugger warning|frozen modules|PYDEVD_DISABLE_FILE_VALIDATION|"
                    r"^\s*$|Make sure to use an|Note: Debugging will proceed")

class stderr_to:
    """Redirect file descriptor 2 (this process and its kernel) to a log file; on leaving,
    the log is deleted if it holds only start-up chatter (unless ``drop_noise=False``: a
    kernel started inside keeps writing to it)."""

    def __init__(self, path: Path, drop_noise: bool = True):
        self.path, self.drop_noise = path, drop_noise

    def __enter__(self):
        sys.stderr.flush()
        self.saved = os.dup(2)
        self.fh = open(self.path, "w", encoding="utf-8")
        os.dup2(self.fh.fileno(), 2)
        return self

    def __exit__(self, *exc):
        sys.stderr.flush()
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.fh.close()
        if self.drop_noise:
            drop_noise_log(self.path)
        return False

def drop_noise_log(path: Path) -> None:
    """Delete a log that holds only the kernel's usual start-up chatter."""
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
        if all(_NOISE.search(ln) for ln in lines):
            Path(path).unlink()
    except OSError:
        pass


class _Slot:
    """The kernel of this worker process."""

    km = None
    kc = None  # the worker's client of the kernel (channels open) for the set-up code
    kernel_name: str | None = None
    cwd: str | None = None
    chapters = 0  # chapters run in the current kernel
    started = 0  # kernels started by this worker
    log = None  # the kernel's own stderr


_slot = _Slot()


def _run(coro):
    from jupyter_core.utils import ensure_event_loop

    return ensure_event_loop().run_until_complete(coro)


#: Seconds between two saves of the executed notebook while its cells run (papermill saves
#: it before and after every cell: about 30 writes of the whole notebook per chapter).
SAVE_EVERY = 10.0


def _register_engine() -> None:
    """papermill engine ``sna-reuse``: nbclient with the given kernel manager, whose client
    channels are closed after the notebook (the kernel itself stays up). The executed
    notebook is written when a cell fails, at most every :data:`SAVE_EVERY` seconds while
    the cells run, and always when the notebook ends, however it ends (a dead kernel too):
    the saved notebook is still the log of a failure, without a write per cell."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
    from papermill.utils import merge_kwargs, remove_args

    if "sna-reuse" in papermill_engines._engines:
        return

    class SparseSaves(NotebookExecutionManager):
        def save(self, force: bool = False, **kwargs):
            due = (self.now() - self.last_save_time).total_seconds() >= SAVE_EVERY
            if force or due or getattr(self, "_saves", 0) == 0:  # the first: the notebook as started
                self._saves = getattr(self, "_saves", 0) + 1
                super().save(**kwargs)

        def cell_complete(self, cell, cell_index=None, **kwargs):
            super().cell_complete(cell, cell_index=cell_index, **kwargs)
            if cell.metadata.papermill.get("status") == self.FAILED:
                self.save(force=True)

        def notebook_complete(self, **kwargs):
            super().notebook_complete(**kwargs)
            self.save(force=True)

    class ReuseEngine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True,
                             log_output=False, autosave_cell_every=30, **kwargs):
            # papermill's Engine.execute_notebook with the sparse saves
            nb_man = SparseSaves(nb, output_path=output_path, progress_bar=progress_bar,
                                 log_output=log_output, autosave_cell_every=autosave_cell_every)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output,
                                             **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False,
                                     stdout_file=None, stderr_file=None, start_timeout=60,
                                     execution_timeout=None, **kwargs):
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                                 kernel_name=kernel_name, log_output=log_output,
                                 stdout_file=stdout_file, stderr_file=stderr_file)
            from papermill.engines import logger as pm_logger

            client = PapermillNotebookClient(nb_man, log=pm_logger, **final)
            # the chapter's own client, made here: nbclient's would wait a fifth of a second
            # for IOPub to fall quiet before every chapter
            if final.get("km") is not None:
                client.kc = _chapter_client(final["km"], start_timeout)
            try:
                return client.execute()
            finally:
                if client.kc is not None:
                    try:
                        client.kc.stop_channels()
                    except Exception:  # noqa: BLE001
                        pass

    papermill_engines.register("sna-reuse", ReuseEngine)


def _connect(km, timeout: float):
    """A client of the kernel, its channels open and the kernel answering, for the set-up
    code (warming, resets between chapters). Made once per kernel: a client's readiness check
    waits a fifth of a second for IOPub to fall quiet. (nbclient makes its own for each
    chapter: its polling of the shell channel may swallow a reply meant for another caller.)"""
    from jupyter_client.session import Session

    async def go():
        # a session of its own: clients of one session share their sockets' identity, and the
        # kernel would send this client's replies to nbclient's (or the other way round)
        kc = km.client(session=Session(key=km.session.key,
                                       signature_scheme=km.session.signature_scheme))
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=timeout)
        except BaseException:
            kc.stop_channels()
            raise
        return kc

    return _run(go())


def _chapter_client(km, timeout: float):
    """A new client of the (warm, running) kernel for one chapter, as nbclient would make
    it, ready once the kernel has answered ``kernel_info`` on the shell channel and a message
    has reached this client on IOPub (its subscription is live), without the last step of
    jupyter_client's readiness check: waiting until IOPub has been quiet for 0.2 s, a fifth of
    a second idle per chapter. nbclient reads only the messages of its own requests, so a
    late message of another request is ignored."""
    from queue import Empty

    async def go():
        kc = km.client()
        kc.start_channels()
        deadline = time.monotonic() + timeout
        try:
            while True:
                kc.kernel_info()
                try:
                    reply = await kc.shell_channel.get_msg(timeout=1)
                except Empty:
                    reply = None
                if reply is not None and reply["msg_type"] == "kernel_info_reply":
                    try:
                        await kc.iopub_channel.get_msg(timeout=0.2)
                        break
                    except Empty:
                        pass  # not subscribed yet: ask again
                if not await km.is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        except BaseException:
            kc.stop_channels()
            raise
        kc.allow_stdin = False
        return kc

    return _run(go())


def _execute_silently(kc, code: str, timeout: float) -> None:
    """Run set-up code in the kernel through the worker's client (outputs dropped)."""
    async def go():
        reply = await kc.execute_interactive(code, silent=True, store_history=False,
                                             timeout=timeout, output_hook=lambda _m: None)
        if reply["content"].get("status") != "ok":
            raise RuntimeError(f"kernel set-up failed: {reply['content'].get('evalue')}")

    _run(go())


def shutdown() -> None:
    """Stop this worker's kernel (if any)."""
    km, _slot.km = _slot.km, None
    kc, _slot.kc = _slot.kc, None
    _slot.chapters = 0
    if kc is not None:
        try:
            kc.stop_channels()
        except Exception:  # noqa: BLE001
            pass
    if km is not None:
        try:
            _run(km.shutdown_kernel(now=True))
        except Exception:  # noqa: BLE001 - already dead
            pass
    if _slot.log is not None:
        drop_noise_log(_slot.log)
        _slot.log = None


def start(kernel_name: str, cwd: str, log_dir: str | None = None,
          timeout: float = 180) -> None:
    """Start (and warm) this worker's kernel; its stderr goes to ``log_dir/kernel-<n>.log``."""
    from jupyter_client.manager import AsyncKernelManager

    shutdown()
    _slot.started += 1
    km = AsyncKernelManager(kernel_name=kernel_name)
    log = None
    redirect = contextlib.nullcontext()
    if log_dir is not None:
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        log = Path(log_dir) / f"kernel-{os.getpid()}-{_slot.started}.log"
        redirect = stderr_to(log, drop_noise=False)  # the kernel inherits this stderr
    with redirect:
        _run(km.start_kernel(cwd=cwd))
    _slot.km, _slot.kernel_name, _slot.cwd, _slot.log = km, kernel_name, cwd, log
    try:
        _slot.kc = _connect(km, timeout)
        _execute_silently(_slot.kc, _PRELUDE, timeout)
    except BaseException:  # a kernel that cannot be warmed is not kept
        shutdown()
        raise


def alive() -> bool:
    if _slot.km is None:
        return False
    try:
        return bool(_run(_slot.km.is_alive()))
    except Exception:  # noqa: BLE001
        return False


def warm_worker(kernel_name: str, cwd: str, env: dict, log_dir: str | None) -> None:
    """ProcessPoolExecutor initializer: start and warm this worker's kernel at once (while the
    main process is still preparing the assessment). A failure here is not fatal: the first
    chapter starts its own kernel and reports what goes wrong."""
    for var, value in env.items():
        os.environ.setdefault(var, value)
    multiprocessing.util.Finalize(None, shutdown, exitpriority=10)
    try:
        start(kernel_name, cwd, log_dir)
    except Exception:  # noqa: BLE001
        shutdown()


def execute(papermill, src: str, out: str, task: dict) -> None:
    """Run one notebook in this worker's kernel (starting or resetting it first)."""
    _register_engine()
    kernel_name = task.get("kernel_name") or "python3"
    cwd = task.get("cwd") or os.getcwd()
    log_dir = str(Path(out).parent)
    if not alive() or _slot.kc is None or _slot.kernel_name != kernel_name or _slot.cwd != cwd:
        start(kernel_name, cwd, log_dir, timeout=task.get("start_timeout", 180))
    elif _slot.chapters > 0:
        _execute_silently(_slot.kc, _RESET, timeout=task.get("start_timeout", 180))
    _slot.chapters += 1
    ok = False
    try:
        papermill.execute_notebook(
            src, out, parameters=task["parameters"], progress_bar=False, log_output=False,
            start_timeout=task.get("start_timeout", 180), execution_timeout=task.get("timeout"),
            kernel_name=kernel_name, engine_name="sna-reuse", km=_slot.km,
        )
        ok = True
    finally:
        if not ok:  # a failed chapter takes its kernel with it
            shutdown()
