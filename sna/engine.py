"""Execution engines for ingest and aggregation: ``pandas`` (this process) or ``dask`` (a cluster).

:func:`run_tasks` runs one function over many items (ingest runs one task per input file:
:func:`sna.io.police_uk.clean_police_uk`) and :func:`aggregate` counts incidents, on the
chosen engine, with the same results whatever the engine.

Engines
-------
``pandas`` (default)
    The tasks run on a pool of threads of this process (the parsing, coordinate
    conversion and most array work release the GIL): ``engine.workers`` threads, else one per
    core.
``dask``
    The tasks run on a ``dask.distributed`` cluster: the scheduler at
    ``engine.scheduler`` (``tcp://host:8786``; every worker must see the input files at the
    same paths, e.g. on a shared file system), else a ``LocalCluster`` of ``engine.workers``
    processes (one per core by default) on the loopback interface. The results are identical
    to the pandas engine's: the same incidents (same rows, order and dtypes), QualityLog and
    quarantine, and the same aggregates.

Choose the engine in ``sna.yml``::

    engine:
      name: dask
      scheduler: tcp://10.0.0.5:8786   # omit for a LocalCluster on this machine
      workers: 8                        # LocalCluster workers (or pandas threads)

or per call: ``sna.load_assessment(cfg, engine="dask")``, ``aggregate(inc, engine="dask")``;
a ``dask.distributed.Client`` may be given as the engine.
"""

from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import pandas as pd

from ._spawn import GUARD_HELP, main_script, starting_worker
from .errors import ConfigError, EngineError, SnaError

if TYPE_CHECKING:  # pragma: no cover
    from .config import Config, EngineConfig

__all__ = [
    "ENGINES",
    "AGGREGATE_BY",
    "engine_name",
    "engine_settings",
    "get_client",
    "run_tasks",
    "aggregate",
]

logger = logging.getLogger("sna")

#: The engines.
ENGINES: tuple[str, ...] = ("pandas", "dask")
#: The default keys of :func:`aggregate`.
AGGREGATE_BY: tuple[str, ...] = ("lsoa", "month", "category")

Progress = Callable[[str], None]


# --------------------------------------------------------------------------------------------
# choosing the engine
# --------------------------------------------------------------------------------------------
def _is_client(obj: Any) -> bool:
    return type(obj).__name__ == "Client" and hasattr(obj, "submit") and hasattr(obj, "scheduler")


def engine_name(engine: Any = None, config: "Config | None" = None) -> str:
    """The engine to use: ``engine`` if given (a name or a Dask ``Client``), else the config's.

    Raises
    ------
    ConfigError
        For an unknown engine name.

    Examples
    --------
    >>> engine_name(), engine_name("dask")
    ('pandas', 'dask')
    """
    if engine is None:
        if config is not None:
            return config.engine.name
        return "pandas"
    if _is_client(engine):
        return "dask"
    name = getattr(engine, "name", engine)  # an EngineConfig
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}: use one of {', '.join(ENGINES)}",
                          key="engine.name")
    return str(name)


def engine_settings(engine: Any, config: "Config | None" = None) -> "EngineConfig":
    """The :class:`~sna.config.EngineConfig` that ``engine`` stands for.

    A name keeps the config's other settings; a Dask ``Client`` becomes its scheduler's
    address (so the same cluster is used).

    Examples
    --------
    >>> engine_settings("dask").name
    'dask'
    """
    from .config import EngineConfig

    base = config.engine if config is not None else EngineConfig()
    if isinstance(engine, EngineConfig):
        return engine
    if _is_client(engine):
        return base.model_copy(update={"name": "dask", "scheduler": engine.scheduler.address})
    return base.model_copy(update={"name": engine_name(engine)})


def _engine_config(engine: Any, config: "Config | None"):
    from .config import EngineConfig

    if isinstance(engine, EngineConfig):
        return engine
    if config is not None:
        return config.engine
    return EngineConfig()


#: Dask's memory settings for the workers of the clusters sna starts. A worker past 80 % of
#: its limit would *pause*: it keeps the tasks it was given and runs none of them, and memory
#: the worker holds itself (its libraries, freed pages not yet returned), unlike data it can
#: spill, does not go down: the run then waits for ever (seen on the ten-year benchmark: a
#: worker paused at 404 MB of its 500 with the task the driver was waiting for, the other
#: worker idle). Without the pause, a worker still spills its data at 70 % and is restarted by
#: its nanny at 95 %, its tasks run again. For a cluster of your own, set the same
#: (``distributed.worker.memory.pause: false``) in its Dask configuration.
WORKER_MEMORY = {"distributed.worker.memory.pause": False}

_CLIENTS: dict[tuple, Any] = {}
_CLIENTS_LOCK = threading.Lock()


def get_client(engine: "EngineConfig | None" = None):
    """A ``dask.distributed`` client for the engine settings (made once per process).

    Parameters
    ----------
    engine
        ``scheduler`` (an address: connect to that cluster) and ``workers`` and
        ``memory_limit`` (the size of the ``LocalCluster`` started otherwise: worker processes
        on 127.0.0.1, one thread each, no dashboard, each limited to ``memory_limit``). None: a
        LocalCluster with one worker per core.

    Returns
    -------
    distributed.Client
        Cached: later calls with the same settings reuse it (closed when Python exits).

    Notes
    -----
    Dask: https://distributed.dask.org/. Every worker of a remote cluster must have ``sna``
    installed (same version) and see the input files at the same paths.
    """
    from .config import EngineConfig

    engine = engine or EngineConfig()
    key = (engine.scheduler, engine.workers, engine.memory_limit)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is not None and client.status == "running":
            return client
        from dask.distributed import Client, LocalCluster

        if engine.scheduler:
            try:
                client = Client(engine.scheduler)
            except OSError as exc:
                raise EngineError(
                    f"the Dask scheduler at {engine.scheduler} does not answer ({exc}): start "
                    "it (`dask scheduler`) and its workers, check the address and that this "
                    "machine can reach it, or remove engine.scheduler to start a LocalCluster "
                    "on this machine", key="engine.scheduler") from exc
            logger.info("dask engine: connected to %s", engine.scheduler)
        else:
            import dask

            _refuse_in_a_starting_worker()
            n = engine.workers or os.cpu_count() or 1
            extra = {"memory_limit": engine.memory_limit} if engine.memory_limit else {}
            try:
                with dask.config.set(WORKER_MEMORY):  # the workers' nannies pass it on
                    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None, **extra)
            except Exception as exc:
                raise _cluster_failed(exc) from exc
            client = Client(cluster)
            logger.info("dask engine: LocalCluster of %d worker process(es) at %s", n,
                        cluster.scheduler_address)
        _CLIENTS[key] = client
        return client


def _refuse_in_a_starting_worker() -> None:
    """In a worker process that is still importing the main script (a script without the
    ``__main__`` guard runs its top level again there), say so at once rather than start a
    cluster of its own."""
    if starting_worker():
        script = main_script() or "the main script"
        raise EngineError(
            "a Dask LocalCluster cannot be started while one of its worker processes is "
            f'starting: put the code that starts it under `if __name__ == "__main__":` in '
            f"{script} (each worker process runs the main script again, up to that line)",
            key="engine")


def _cluster_failed(exc: BaseException) -> EngineError:
    """The error for a LocalCluster whose workers did not start."""
    script = main_script()
    if script is not None:
        return EngineError(
            "the Dask engine's LocalCluster did not start its worker processes "
            f"({type(exc).__name__}: {exc}). When sna runs from a script, the code that "
            f'starts it must run only in the main process: put it under `if __name__ == '
            f'"__main__":` in {script} ({GUARD_HELP}); otherwise see the workers\' messages '
            "above, or use `engine: {name: pandas}`", key="engine")
    return EngineError(
        "the Dask engine's LocalCluster did not start its worker processes "
        f"({type(exc).__name__}: {exc}): see the workers' messages above (a memory_limit "
        "too small for a worker to start, no free ports on 127.0.0.1, a worker that cannot "
        "import sna), or use `engine: {name: pandas}`", key="engine")


def _close_clients() -> None:  # pragma: no cover - at exit
    for client in list(_CLIENTS.values()):
        try:
            cluster = client.cluster
            client.close()
            if cluster is not None:
                cluster.close()
        except Exception:
            pass
    _CLIENTS.clear()


import atexit  # noqa: E402

atexit.register(_close_clients)


# --------------------------------------------------------------------------------------------
# running tasks
# --------------------------------------------------------------------------------------------
@dataclass
class _Failed:
    """An SnaError raised in a task, carried back whole (its file and line survive pickling)."""

    cls: type
    message: str
    where: dict


def _task(item, fn: Callable, context):
    """``fn(item, context)``, an SnaError returned as a :class:`_Failed`."""
    try:
        return fn(item, context)
    except SnaError as exc:
        return _Failed(type(exc), exc.message, {"file": exc.file, "line": exc.line,
                                                "column": exc.column, "key": exc.key})


def _raise(result):
    if isinstance(result, _Failed):
        raise result.cls(result.message, **result.where)
    return result


def run_tasks(fn: Callable, items: Sequence, context: Any, *, engine: Any = None,
              config: "Config | None" = None, progress: Progress | None = None,
              label: Callable[[Any], str] = str,
              on_result: Callable[[Any], None] | None = None) -> list:
    """``fn(item, context)`` for every item, on an engine; the results in the items' order.

    Parameters
    ----------
    fn
        A module-level function (the Dask engine sends it to its workers by name).
    items
        What the tasks work on (e.g. input files).
    context
        What every task needs besides its item (small and picklable: the Dask engine sends it
        once to every worker).
    engine
        ``"pandas"`` (threads of this process), ``"dask"``, an
        :class:`~sna.config.EngineConfig` or a Dask ``distributed.Client``; None: the
        config's engine.
    config
        The config whose ``engine`` settings apply.
    progress
        Called with a message per item (``reading <label> (i/n)``).
    label
        An item's name in the messages.
    on_result
        Called with each result, in the items' order, as soon as it and every earlier one
        are in; the results are then not kept (the list returned holds None), so this process
        holds one result at a time (e.g. to add up counts as they come).

    Returns
    -------
    list
        ``fn``'s results, in the items' order (Nones with ``on_result``).

    Raises
    ------
    SnaError
        The first failure in the items' order (with its file and line), once every earlier
        item is done.

    Examples
    --------
    >>> def square(x, context):
    ...     return x * x + context
    >>> run_tasks(square, [1, 2, 3], 10, engine="pandas")
    [11, 14, 19]
    """
    if engine_name(engine, config) == "dask":
        client = engine if _is_client(engine) else get_client(_engine_config(engine, config))
        return _run_dask(fn, list(items), context, client, progress, label, on_result)
    return _run_pandas(fn, list(items), context, _engine_config(engine, config).workers,
                       progress, label, on_result)


def _keep(parts: list, result, on_result: Callable[[Any], None] | None) -> None:
    """Keep a task's result, or hand it to ``on_result`` (keeping a None in its place)."""
    if on_result is None:
        parts.append(result)
    else:
        on_result(result)
        parts.append(None)


def _run_pandas(fn: Callable, items: list, context: Any, workers: int | None,
                progress: Progress | None, label: Callable[[Any], str],
                on_result: Callable[[Any], None] | None = None) -> list:
    from concurrent.futures import ThreadPoolExecutor

    n = len(items)
    threads = max(1, min(workers or os.cpu_count() or 1, n))
    parts: list = []
    if threads == 1:
        for i, f in enumerate(items, 1):
            if progress:
                progress(f"reading {label(f)} ({i}/{n})")
            _keep(parts, _raise(_task(f, fn, context)), on_result)
        return parts
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sna-ingest") as ex:
        futures = [ex.submit(_task, f, fn, context) for f in items]
        try:
            for i, (f, fut) in enumerate(zip(items, futures), 1):
                if progress:
                    progress(f"reading {label(f)} ({i}/{n})")
                res = _raise(fut.result())
                futures[i - 1] = None  # (the future would hold the result)
                _keep(parts, res, on_result)
                del res
        except BaseException:
            for fut in futures:
                if fut is not None:
                    fut.cancel()
            raise
    return parts


#: The most rows of one aggregation task on Dask (a few tens of MB of keys and counts: small
#: enough for workers with a memory limit of a few hundred MB).
PIECE_ROWS = 500_000

#: How many times a task whose worker died (e.g. past its memory limit) is run again.
TASK_RETRIES = 3


def _run_dask(fn: Callable, items: list, context: Any, client, progress: Progress | None,
              label: Callable[[Any], str],
              on_result: Callable[[Any], None] | None = None) -> list:
    """The tasks on a Dask cluster, their results gathered in the items' order.

    At most two tasks per worker are in flight (submitted and not yet gathered): a worker
    holds at most that many results, so workers with a small memory limit are not filled with
    finished results waiting for the driver (they would pause, and their tasks could be
    forgotten). A task whose worker dies is run again (``TASK_RETRIES``). A failure is raised
    once every earlier item is done, so that the error reported is the first item's in
    order, as with the pandas engine. (``client.gather`` in order, not ``as_completed``: with
    the latter a run in CI once waited forever for a file task on a loaded machine.)"""
    n = len(items)
    ctx_f = client.scatter(context, broadcast=True, hash=False)
    window = 2 * (len(client.scheduler_info().get("workers", {})) or 1)
    futures: dict[int, Any] = {}
    parts: list = []
    submitted = 0

    def submit_up_to(k: int) -> None:
        nonlocal submitted
        while submitted < min(k, n):
            futures[submitted] = client.submit(_task, items[submitted], fn=fn, context=ctx_f,
                                               pure=False, retries=TASK_RETRIES)
            submitted += 1

    try:
        submit_up_to(window)
        for i in range(n):
            fut = futures.pop(i)
            res = fut.result()
            fut.release()
            submit_up_to(i + 1 + window)
            if progress:
                progress(f"read {label(items[i])} ({i + 1}/{n})")
            if isinstance(res, _Failed):
                _raise(res)
            _keep(parts, res, on_result)
            del res
    except BaseException:
        if futures:
            client.cancel(list(futures.values()))
        raise
    return parts


# --------------------------------------------------------------------------------------------
# aggregation
# --------------------------------------------------------------------------------------------
def _key_values(s: pd.Series) -> Any:
    """What the codes of a key column stand for: its categories (categorical), else its
    distinct non-missing values, sorted."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.dtype
    return pd.Index(pd.unique(s)).dropna().sort_values()


def _key_codes(s: pd.Series, what: Any) -> np.ndarray:
    """The codes of a key that is neither categorical nor of a numpy dtype (those are coded
    once for all rows: see :func:`_count`), in ``what`` (-1: not among them)."""
    if s.dtype.kind in "Mmiuf" and what.dtype == s.dtype:
        # sorted distinct numbers or dates: a binary search, no hashing (-1: not among them)
        ref, v = what.to_numpy(), s.to_numpy()
        if not len(ref):
            return np.full(len(v), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(ref, v), len(ref) - 1)
        return np.where(ref[pos] == v, pos, -1)
    return what.get_indexer(s)


def _sorted_codes(s: pd.Series) -> tuple[np.ndarray, pd.Index] | None:
    """A numeric or date key (a numpy dtype) in one hashing pass: each row's position among
    the column's distinct non-missing values, sorted (-1: missing), and those values (as
    :func:`_key_values` gives them); None for other columns."""
    if not (isinstance(s.dtype, np.dtype) and s.dtype.kind in "Mmiuf"):
        return None
    codes, uniq = pd.factorize(s.to_numpy())  # (-1: missing)
    order = np.argsort(uniq, kind="stable")
    rank = np.empty(len(order) + 1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    rank[-1] = -1
    np.take(rank, codes, out=codes, mode="wrap")  # (in place; -1 -> rank[-1], -1)
    return codes, pd.Index(uniq[order])


def _split_cells(cells: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """The code of each key in sorted combined keys (``cells``, ascending; the first key
    the most significant), each as int32 (int64 for keys of 2**31 values or more). When the
    keys after the first span few combinations (at most 2**16: LSOA x month x category has
    168), the first key's codes are found from where each of its values starts in ``cells``
    and the others through small tables, without dividing every cell."""
    width = [np.int32 if k < 2**31 else np.int64 for k in sizes]
    inner = 1
    for k in sizes[1:]:
        inner *= k
    if len(sizes) < 2 or inner > 1 << 16 or sizes[0] >= 2**31:
        out = []
        rem = cells
        for k, w in zip(reversed(sizes), reversed(width)):
            out.append((rem % k).astype(w))
            rem = rem // k
        return out[::-1]
    k0 = sizes[0]
    starts = np.searchsorted(cells, np.arange(k0 + 1, dtype=np.int64) * inner)
    first = np.repeat(np.arange(k0, dtype=np.int32), np.diff(starts))
    rem = cells - first.astype(np.int64) * inner
    out = [first]
    stride = inner
    for k in sizes[1:]:
        stride //= k
        out.append(((np.arange(inner, dtype=np.int64) // stride) % k).astype(np.int32)[rem])
    return out


def _decode(codes: np.ndarray, what: Any):
    if isinstance(what, pd.CategoricalDtype):
        return pd.Categorical.from_codes(codes, dtype=what)
    return what.take(codes)


_CHUNK = 1 << 20

_PAGES = {"lock": threading.Lock(), "depth": 0, "saved": None}


@contextmanager
def small_pages():
    """Inside, numpy does not ask the kernel for transparent huge pages for its large arrays
    (its default for arrays of 4 MiB and more); the setting is restored on leaving (nested and
    concurrent uses are counted: the last to leave restores it). Where a process has churned
    through memory (an ingest), huge pages are found by compacting memory at the page fault
    (``defrag=madvise``, the usual kernel setting): in the first :func:`aggregate` after the
    national benchmark's ingest, about 0.2 s of system time for the same counts. A no-op where
    numpy has no such switch (it is private: numpy >= 1.20 on Linux)."""
    try:
        from numpy._core.multiarray import _set_madvise_hugepage as switch
    except ImportError:
        try:
            from numpy.core.multiarray import _set_madvise_hugepage as switch
        except ImportError:
            switch = None
    if switch is None:
        yield
        return
    with _PAGES["lock"]:
        if _PAGES["depth"] == 0:
            _PAGES["saved"] = switch(False)
        _PAGES["depth"] += 1
    try:
        yield
    finally:
        with _PAGES["lock"]:
            _PAGES["depth"] -= 1
            if _PAGES["depth"] == 0:
                switch(_PAGES["saved"])


def _count(frame: pd.DataFrame, by: list[str], weights: str | None = None) -> pd.DataFrame:
    """Counts (or sums of ``weights``) by ``by``: one combined integer key per row, counted
    with ``numpy.bincount`` in chunks of at least a million rows (dense keys) or ``numpy.unique``
    (sparse keys); the same result as ``groupby(by, observed=True, sort=True).size()``."""
    n = len(frame)
    whats, coded = [], []  # coded: each key's codes for all rows, when found in one pass
    for c in by:
        s = frame[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            pair = (np.asarray(s.array.codes), s.dtype)
        else:
            pair = _sorted_codes(s) or (None, _key_values(s))
        coded.append(pair[0])
        whats.append(pair[1])
    sizes = [max(len(w.categories) if isinstance(w, pd.CategoricalDtype) else len(w), 1)
             for w in whats]
    total = 1
    for k in sizes:
        total *= k
    if total >= 2**62 or any(frame[c].dtype == object for c in by):  # let pandas do it
        g = frame.groupby(by, observed=True, sort=True, dropna=True)
        s = g[weights].sum() if weights else g.size()
        out = s.rename("count").reset_index()
        out["count"] = out["count"].astype("int64")
        return out

    def keys(a: int, b: int) -> np.ndarray:
        """The combined key of rows a..b (-1 where a key is missing)."""
        key = None
        missing = None
        for c, what, k, done in zip(by, whats, sizes, coded):
            codes = done[a:b] if done is not None else _key_codes(frame[c].iloc[a:b], what)
            if codes.min(initial=0) < 0:
                missing = (codes < 0) if missing is None else (missing | (codes < 0))
            if key is None:
                key = codes.astype(np.int64)  # (a copy: the codes may be the column's own)
            else:
                key *= k
                key += codes
        if key is None:  # (no keys: one cell)
            key = np.zeros(b - a, dtype=np.int64)
        if missing is not None:
            key[missing] = -1
        return key

    w_all = frame[weights].to_numpy(dtype=np.int64) if weights else None
    if total <= max(4 * n, 1 << 16):  # dense: count in place, a chunk at a time
        counts = np.zeros(total, dtype=np.int64)
        # a chunk's keys take no more memory than the counts: one chunk when the keys are
        # about as many as the rows (one pass, no partial counts to add up)
        chunk = max(_CHUNK, total)
        for a in range(0, n, chunk):
            key = keys(a, min(a + chunk, n))
            if a + chunk >= n:  # (the last chunk: the keys' codes are not needed any more)
                coded[:] = [None] * len(coded)
            ok = key >= 0
            if w_all is None:
                part = np.bincount(key if ok.all() else key[ok], minlength=total)
                if a == 0:
                    counts = part
                else:
                    counts += part
                del part
            else:  # (summing counts: small frames)
                np.add.at(counts, key[ok], w_all[a:a + len(key)][ok])
        cells = np.flatnonzero(counts)
        counts = counts[cells]
    else:
        key = keys(0, n)
        coded[:] = [None] * len(coded)
        ok = key >= 0
        cells, inverse = np.unique(key[ok], return_inverse=True)
        w = None if w_all is None else w_all[ok]
        counts = np.rint(np.bincount(inverse, weights=w, minlength=len(cells))).astype(np.int64)
    del coded
    split = _split_cells(cells, sizes)
    del cells
    cols = {c: _decode(split[i], what) for i, (c, what) in enumerate(zip(by, whats))}
    del split
    out = pd.DataFrame(cols, copy=False)
    out["count"] = counts
    return out


def _add_counts(a: pd.DataFrame, b: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return _count(pd.concat([a, b], ignore_index=True), by, weights="count")


def aggregate(
    incidents: pd.DataFrame,
    by: Sequence[str] = AGGREGATE_BY,
    *,
    engine: Any = None,
    partitions: int | None = None,
) -> pd.DataFrame:
    """Count incidents by ``by`` (LSOA x month x category by default), on an engine.

    Parameters
    ----------
    incidents
        An incidents table (or any frame with the ``by`` columns); not modified.
    by
        The keys. Categorical keys are grouped on their codes (fast); rows with a missing key
        are not counted.
    engine
        ``"pandas"`` (default), ``"dask"``, an :class:`~sna.config.EngineConfig` or a Dask
        ``distributed.Client``. On Dask the table is cut into ``partitions`` (default: two per
        worker, at most ``PIECE_ROWS`` rows each), counted on the workers and the counts summed
        pairwise (a tree); a task whose worker died is run again.
    partitions
        Number of pieces for the Dask engine.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns (same dtypes) and ``count`` (int64), one row per combination with
        at least one incident, sorted by the keys; identical whatever the engine.
        ``attrs["sna"]["engine"]`` records the engine.

    Examples
    --------
    >>> inc = pd.DataFrame({"lsoa": pd.Categorical(["A", "B", "A", None]),
    ...                     "month": pd.to_datetime(["2019-01-01"] * 4),
    ...                     "category": pd.Categorical(["Robbery"] * 4)})
    >>> aggregate(inc)[["lsoa", "count"]].values.tolist()
    [['A', 2], ['B', 1]]
    """
    by = list(by)
    missing = [c for c in by if c not in incidents.columns]
    if missing:
        from .errors import AnalysisInputError

        raise AnalysisInputError(f"aggregate: no column(s) {', '.join(missing)} in the table; "
                                 f"it has: {', '.join(map(str, incidents.columns))}")
    which = engine_name(engine)
    frame = incidents[by]
    if which == "dask" and len(frame):
        client = engine if _is_client(engine) else get_client(_engine_config(engine, None))
        k = partitions or max(2, 2 * len(client.scheduler_info().get("workers", {}) or [0]),
                              -(-len(frame) // PIECE_ROWS))
        k = max(1, min(k, len(frame)))
        bounds = np.linspace(0, len(frame), k + 1).astype(int)
        # each piece travels inside its task (not scattered): a task whose worker died is run
        # again elsewhere, its data with it
        level = [client.submit(_count, frame.iloc[a:b], by, pure=False, retries=TASK_RETRIES)
                 for a, b in zip(bounds[:-1], bounds[1:])]
        while len(level) > 1:  # tree: sum neighbours pairwise
            nxt = [client.submit(_add_counts, level[i], level[i + 1], by, pure=False,
                                 retries=TASK_RETRIES)
                   for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        out = level[0].result().reset_index(drop=True)
    else:
        with small_pages():  # (fresh large arrays, fast: see small_pages)
            out = _count(frame, by)
    out.attrs["sna"] = {"engine": which, "by": by}
    logger.info("aggregate: %d row(s) -> %d cell(s) by %s (%s)", len(frame), len(out),
                "x".join(by), which)
    return out
