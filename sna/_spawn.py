"""Worker processes started with multiprocessing's ``spawn`` (the Dask engine's LocalCluster,
``sna run``'s chapter workers) import the main script again. A script that starts them at its
top level, without ``if __name__ == "__main__":``, would start them again in each worker: these
helpers let the caller say so in words instead of a broken pool."""

from __future__ import annotations

import sys

GUARD_HELP = ("each worker process runs the main script again, up to that line; see "
              "https://docs.python.org/3/library/multiprocessing.html"
              "#the-spawn-and-forkserver-start-methods")


def main_script() -> str | None:
    """The file of the script Python was started with (``python script.py``), else None
    (``python -m``, ``python -c``, a notebook or an interactive session)."""
    # a spawned worker runs the parent's main script as __mp_main__
    main = sys.modules.get("__mp_main__") or sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or getattr(main, "__spec__", None) is not None:
        return None
    return str(path)


def starting_worker() -> bool:
    """True in a spawned worker process that is still importing the main script."""
    import multiprocessing

    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))
