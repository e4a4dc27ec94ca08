"""The output folder of one run: claimed by one run at a time, holding one build.

- **A lock.** A run claims its folder with ``.sna-run.lock`` (created exclusively; it names
  the process, the host, the build and when it started) and gives it up when the manifest is
  written. A second run on the same folder stops with exit code 2 naming the holder. A lock
  left by a run that died (``kill -9``, a power cut: its process is gone) is taken over, and
  the run says that the previous run did not finish.
- **One build.** A run whose build differs from the build already in the folder (the
  manifest's, or the lock's of a run that died), or a public run over a folder whose build
  is unknown, clears every output first: a public partial run (``--chapters``) never leaves
  restricted files (``data/``, ``quarantine/quarantine.csv``, restricted chapters) beside it.
- **What the earlier runs left.** :func:`earlier_chapters` turns the previous manifest of a
  partial re-run into the chapters the report keeps, each marked *stale* when it was computed
  from other inputs (another cache key) and listing the chapters an interrupted run did not
  finish.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import socket
from pathlib import Path

from ..errors import OutputError
from .notebooks import CHAPTERS

__all__ = ["LOCK_NAME", "FolderLock", "claim_folder", "earlier_chapters", "clear_folder",
           "clear_assembled"]

#: The lock file of a run in its output folder.
LOCK_NAME = ".sna-run.lock"

#: What a run writes into its folder (cleared whole when the build changes).
OUTPUT_DIRS = ("chapters", "figures", "tables", "maps", "quarantine", "data")
#: The report, workbook and documents made from the chapters (gone when the chapters change).
ASSEMBLED_FILES = ("report.html", "report.pdf", "tables.xlsx", "tables.meta.json",
                   "report.docx", "board_paper.docx", "slides.pptx")
OUTPUT_FILES = (*ASSEMBLED_FILES, "manifest.json")


def _process_start(pid: int) -> str | None:
    """When a process started (Linux: clock ticks since boot), to tell a reused PID apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(holder: dict) -> bool:
    """Whether the run that holds a lock still runs (on another host: assumed so)."""
    if holder.get("host") != socket.gethostname():
        return True
    try:
        pid = int(holder["pid"])
    except (KeyError, TypeError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    started = holder.get("process_start")
    return started is None or _process_start(pid) in (None, started)


class FolderLock:
    """The claim of one run on its output folder (see the module's docstring)."""

    def __init__(self, out: Path, build: str):
        self.out, self.build = Path(out), build
        self.path = self.out / LOCK_NAME
        self.stale: dict | None = None  # the lock of a run that died, taken over
        self.held = False

    def acquire(self) -> "FolderLock":
        self.out.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "process_start": _process_start(os.getpid()),
              "host": socket.gethostname(), "build": self.build,
              "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = _read_json(self.path)
                if holder is not None and _alive(holder):
                    raise OutputError(
                        f"the output folder {self.out} is being written by another sna run "
                        f"(process {holder.get('pid')} on {holder.get('host')}, "
                        f"{holder.get('build')} build, started {holder.get('started')}): wait "
                        "for it to finish, or choose another --output. If no such run exists, "
                        f"delete {self.path}", file=self.path)
                self.stale = holder or {}
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(me, fh)
            self.held = True
            return self
        raise OutputError(f"cannot claim the output folder {self.out}: another run keeps "
                          f"creating {self.path}", file=self.path)

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> "FolderLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def claim_folder(out: Path, build: str) -> FolderLock:
    """Claim ``out`` for this run (:class:`FolderLock`); raises :class:`OutputError` when a
    live run holds it."""
    return FolderLock(out, build).acquire()


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def previous_manifest(out: Path) -> dict | None:
    """The manifest the last finished (or interrupted) run wrote in ``out``, if any."""
    return _read_json(Path(out) / "manifest.json")


def folder_build(lock: FolderLock, manifest: dict | None) -> str | None:
    """The build the folder holds now: the lock's of a run that died (it may have written
    outputs after the last manifest), else the folder's manifest's (:func:`previous_manifest`);
    None when unknown (outputs without a manifest) or the folder holds no outputs."""
    if lock.stale and lock.stale.get("build"):
        return str(lock.stale["build"])
    if manifest and manifest.get("build"):
        return str(manifest["build"])
    return None


def has_outputs(out: Path) -> bool:
    return any((Path(out) / n).exists() for n in (*OUTPUT_DIRS, *OUTPUT_FILES))


def clear_folder(out: Path) -> None:
    """Remove every output of an earlier run (not the lock, not files sna never writes)."""
    out = Path(out)
    for sub in OUTPUT_DIRS:
        shutil.rmtree(out / sub, ignore_errors=True)
    for name in OUTPUT_FILES:
        (out / name).unlink(missing_ok=True)


def clear_assembled(out: Path) -> None:
    """Remove the report, workbook and documents (``ASSEMBLED_FILES``): they no longer
    match the chapters in the folder."""
    for name in ASSEMBLED_FILES:
        (Path(out) / name).unlink(missing_ok=True)


def earlier_chapters(previous: dict | None, out: Path, run_now: set[str],
                     cache_key: str | None) -> list[dict]:
    """The chapters of an earlier run that a partial re-run keeps, as manifest entries with
    ``run: "previous"``.

    A chapter whose notebook is still in ``chapters/`` is kept; ``stale`` (with the reason)
    when it was computed from other inputs or config than this run's (another cache key).
    A chapter an interrupted run did not finish is listed with ``status: "interrupted"``
    (nothing of it is in the folder) until a run executes it.
    """
    if not previous:
        return []
    default_key = (previous.get("cache") or {}).get("key")
    kept = []
    for c in previous.get("chapters", []):
        name = c.get("name")
        if not name or name in run_now:
            continue
        entry = dict(c, run="previous")
        if c.get("status") == "interrupted":
            kept.append(entry)
            continue
        if not (Path(out) / "chapters" / f"{name}.ipynb").exists():
            continue
        key = c.get("cache_key") or default_key
        entry["cache_key"] = key
        if cache_key and key != cache_key:
            entry["stale"] = ("computed from other inputs or settings than this run's (the "
                              "data or sna.yml changed since): run it again")
        else:
            entry.pop("stale", None)
        kept.append(entry)
    return sorted(kept, key=lambda c: (CHAPTERS.index(c["name"]) if c["name"] in CHAPTERS
                                       else 99, c["name"]))
