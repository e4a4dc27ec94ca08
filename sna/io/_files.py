"""Expanding a user's "path" (file, folder, glob, zip archive or list) into input files.

Shared by every reader: a source's ``path`` in ``sna.yml`` may be any of these, and each input
file is named in error messages, the quarantine and the ``file`` column as a plain path, or
``archive.zip!inner/path.csv`` for a member of a zip archive.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import InputFormatError

__all__ = ["InputFile", "expand_paths", "file_fingerprint"]

_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class InputFile:
    """One input file: a file on disk, or a member of a zip archive.

    Attributes
    ----------
    name
        Display name used in messages and the ``file`` column: the path, or
        ``archive.zip!member`` for a zip member.
    path
        The file on disk (the archive for a zip member).
    member
        The member's name inside the archive, or None.
    """

    name: str
    path: Path
    member: str | None = None

    @property
    def basename(self) -> str:
        """The file's own name, without folders."""
        return os.path.basename(self.member) if self.member else self.path.name

    def read_bytes(self) -> bytes:
        """The file's bytes (decompressed for a zip member)."""
        if self.member is None:
            return self.path.read_bytes()
        with zipfile.ZipFile(self.path) as zf:
            return zf.read(self.member)


def _matches(name: str, patterns: Sequence[str]) -> bool:
    low = name.lower()
    return any(fnmatch.fnmatch(low, p.lower()) for p in patterns)


def _zip_members(path: Path, patterns: Sequence[str]) -> list[InputFile]:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
    except zipfile.BadZipFile:
        raise InputFormatError(
            "this is not a readable zip archive (it may be truncated: download it again)",
            file=path,
        ) from None
    names = [n for n in names if _matches(os.path.basename(n), patterns)
             and not os.path.basename(n).startswith(".") and "__MACOSX" not in n]
    return [InputFile(f"{path}!{n}", path, n) for n in sorted(names)]


def expand_paths(
    paths: "str | os.PathLike | Iterable[str | os.PathLike]",
    *,
    patterns: Sequence[str] = ("*.csv",),
    zips: bool = True,
    what: str = "input",
) -> list[InputFile]:
    """Expand files, folders, globs, zip archives or a list of them into input files.

    Parameters
    ----------
    paths
        A file, a folder (searched recursively), a glob (``police/*/*.csv``), a zip archive,
        or a list of any of these.
    patterns
        File-name patterns (case-insensitive) selected inside folders and archives. A file
        named explicitly is always taken, whatever its name.
    zips
        Whether zip archives found in folders are opened.
    what
        What the files are, for error messages ("police data", "boundaries").

    Returns
    -------
    list of InputFile
        In a stable order (sorted by name within each folder, archive or glob; the list's
        order otherwise). A file named twice is listed once.

    Raises
    ------
    InputFormatError
        When a path does not exist, or a folder, glob or archive holds no matching file.

    Examples
    --------
    >>> from sna.datasets import nottingham_sample_config
    >>> folder = nottingham_sample_config().parent / "police"
    >>> [f.basename for f in expand_paths(folder)][:2]
    ['2018-10-nottinghamshire-street.csv', '2018-11-nottinghamshire-street.csv']
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[InputFile] = []
    for raw in paths:
        p = Path(os.path.expanduser(str(raw)))
        found: list[InputFile]
        if p.is_dir():
            found = []
            for f in sorted(p.rglob("*")):
                if not f.is_file() or f.name.startswith("."):
                    continue
                if _matches(f.name, patterns):
                    found.append(InputFile(str(f), f))
                elif zips and f.suffix.lower() == ".zip":
                    found.extend(_zip_members(f, patterns))
            if not found:
                raise InputFormatError(
                    f"the folder holds no {what} files (looked for {', '.join(patterns)})",
                    file=p,
                )
        elif p.is_file():
            if p.suffix.lower() == ".zip" and not any(pt.endswith(".zip") for pt in patterns):
                found = _zip_members(p, patterns)
                if not found:
                    raise InputFormatError(
                        f"the zip archive holds no {what} files (looked for {', '.join(patterns)})",
                        file=p,
                    )
            else:
                found = [InputFile(str(p), p)]
        elif _GLOB_CHARS & set(str(raw)):
            matched = sorted(glob.glob(str(p), recursive=True))
            if not matched:
                raise InputFormatError(f"no {what} files match this pattern", file=raw)
            found = []
            for m in matched:
                found.extend(expand_paths(m, patterns=patterns, zips=zips, what=what))
        else:
            raise InputFormatError(
                f"{what} not found: check the path (relative paths in sna.yml are read from the "
                "folder of the config file)",
                file=p,
            )
        out.extend(found)
    seen: set[str] = set()
    unique = []
    for f in out:
        if f.name not in seen:
            seen.add(f.name)
            unique.append(f)
    return unique


def file_fingerprint(path: "str | os.PathLike", *, content: bool = True) -> dict:
    """Size, modification time and (optionally) a BLAKE2b hash of a file's bytes.

    Used for the cache key of :func:`sna.load_assessment` and the run manifest.

    Examples
    --------
    >>> from sna.datasets import nottingham_sample_config
    >>> fp = file_fingerprint(nottingham_sample_config())
    >>> sorted(fp)
    ['blake2b', 'mtime_ns', 'path', 'size']
    """
    import hashlib

    p = Path(path)
    st = p.stat()
    out = {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if content:
        h = hashlib.blake2b(digest_size=16)
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        out["blake2b"] = h.hexdigest()
    return out
