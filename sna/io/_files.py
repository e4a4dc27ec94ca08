"""Expanding a user's "path" (file, folder, glob, zip archive or list) into input files.

Shared by every reader: a source's ``path`` in ``sna.yml`` may be any of these, and each input
file is named in error messages, the quarantine and the ``file`` column as a plain path, or
``archive.zip!inner/path.csv`` for a member of a zip archive.
"""

from __future__ import annotations

import csv
import fnmatch
import glob
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import InputFormatError

__all__ = ["InputFile", "expand_paths", "input_files", "file_fingerprint", "file_sha256",
           "undecodable_hint", "csv_error_cause"]

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


#: The geography inputs of a config, in the order they are listed.
_GEOGRAPHY_INPUTS = ("boundaries", "population", "imd", "lsoa_to_district", "district_to_csp",
                     "lsoa_best_fit")


def input_files(config) -> list[tuple[str, Path]]:
    """Every input file a config reads, once each, with its role.

    The one list of a run's inputs: the cache key of :func:`sna.load_assessment` and the run
    manifest both use it (and the fingerprints the assessment computes from it).

    Parameters
    ----------
    config
        A loaded :class:`~sna.config.Config`.

    Returns
    -------
    list of (str, pathlib.Path)
        ``(role, absolute path)``: the geography's files first (``geography.boundaries``,
        ``geography.population``, ...), then each source's (``sources.<name>``,
        ``sources.<name>.interventions_table``). Folders are listed recursively (hidden files
        left out); bundled reference lookups are not listed (they are part of the installed
        version of sna). A configured path that does not exist is an
        :class:`~sna.errors.InputFormatError`.

    Examples
    --------
    >>> from sna.config import load_config
    >>> from sna.datasets import nottingham_sample_config
    >>> files = input_files(load_config(nottingham_sample_config()))
    >>> files[0][0], sorted({p.suffix for _, p in files})
    ('geography.boundaries', ['.csv', '.json'])
    """
    items: list[tuple[str, Path]] = []
    g = config.geography
    for key in _GEOGRAPHY_INPUTS:
        value = getattr(g, key, None)
        if isinstance(value, dict):  # population by mid-year: year -> file
            value = list(value.values())
        if isinstance(value, list):  # bundled files are part of the installed sna, not inputs
            value = [v for v in value if not str(v).startswith("bundled")]
        if value and not str(value).startswith("bundled"):
            items += [(f"geography.{key}", p) for p in config.resolve_many(value)]
    for name, src in config.sources.items():
        items += [(f"sources.{name}", p) for p in config.resolve_many(src.path)]
        if src.interventions_table:
            items.append((f"sources.{name}.interventions_table",
                          config.resolve(src.interventions_table)))
    out: list[tuple[str, Path]] = []
    seen: set[Path] = set()
    for role, p in items:
        for f in expand_paths([p], patterns=("*",), zips=False, what="input"):
            path = f.path.resolve()
            if path not in seen:
                seen.add(path)
                out.append((role, path))
    return out


def file_fingerprint(path: "str | os.PathLike", *, content: bool = True) -> dict:
    """Size, modification time and (optionally) the SHA-256 hash of a file's bytes.

    Computed once per run: for the cache key of :func:`sna.load_assessment`, then reused by
    the run manifest.

    Examples
    --------
    >>> from sna.datasets import nottingham_sample_config
    >>> fp = file_fingerprint(nottingham_sample_config())
    >>> sorted(fp)
    ['mtime_ns', 'path', 'sha256', 'size']
    """
    p = Path(path)
    st = p.stat()
    out = {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if content:
        out["sha256"] = file_sha256(p)
    return out


def file_sha256(path: "str | os.PathLike") -> str:
    """The SHA-256 hash (hex) of a file's bytes, read in 1 MiB blocks."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def undecodable_hint(data: bytes) -> str:
    """What to do about a file whose bytes are not text in the encoding it was read with: a
    UTF-16 file (a byte-order mark, or NUL bytes between the characters: Excel's "Unicode
    Text") is named as such; otherwise save as UTF-8 or name the encoding (e.g. cp1252)."""
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (head and head.count(b"\x00") * 4 >= len(head)):
        return ("the file is UTF-16 text (as Excel's 'Unicode Text' saves it): save it as "
                "'CSV UTF-8', or set the source's 'encoding' in sna.yml to utf-16")
    return "save it as UTF-8, or set the source's 'encoding' in sna.yml (e.g. cp1252)"


def csv_error_cause(exc: Exception) -> str:
    """The likely cause of an error of Python's csv reader, for a message."""
    if "field larger than field limit" in str(exc):
        return (f"a field is longer than {csv.field_size_limit():,} characters, which no table of "
                "records holds: a line break or a separator is missing there, or the file is "
                "not a CSV table")
    return "a quoted field is never closed, so the file looks truncated or damaged"
