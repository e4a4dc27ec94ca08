"""Download data.police.uk street records: ``sna fetch police``.

data.police.uk publishes its data two ways, both zip archives laid out as
``YYYY-MM/YYYY-MM-<force>-street.csv`` (with ``-outcomes`` and ``-stop-and-search`` files):

- the **monthly archive** ``<base URL>/YYYY-MM.zip``: every force, the 36 months up to that
  month (about 1.5 GB); the base URL is ``https://data.police.uk/data/archive`` unless
  ``--base-url`` or the environment variable ``SNA_POLICE_BASE_URL`` says otherwise (a mirror,
  or a local copy);
- a **custom download** made on the site's download page, whose link (``--url``) serves a zip
  of the forces and months chosen there.

:func:`fetch_police` downloads the archive(s) a range of months needs into
``<out>/.download/``, **resuming** a partial download with an HTTP ``Range`` request,
**verifies** each archive (the zip's central directory and the CRC of every file taken; the
street file of each month of the range), and extracts only the force's street files,
byte for byte, into the layout ``sna init --police`` reads (``<out>/YYYY-MM/...``). It writes
``<out>/ATTRIBUTION.txt`` (the Open Government Licence attribution, the source, the files
and their SHA-256) beside the data. Proxies are taken from the environment (``HTTPS_PROXY``,
``HTTP_PROXY``, ``NO_PROXY``), as local-authority networks need.

Months missing from an archive (a force that did not supply a month: it happens) are not an
error: they are listed in the result and in ``ATTRIBUTION.txt`` and reported by the command;
a month range with no street file at all is.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import logging
import os
import re
import shutil
import sys
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

from ..errors import InputFormatError, SnaError

__all__ = [
    "DEFAULT_BASE_URL",
    "FetchError",
    "FetchResult",
    "archive_months",
    "fetch_police",
    "add_fetch_parser",
    "run_fetch",
    "main",
]

logger = logging.getLogger("sna")

#: Where data.police.uk keeps its monthly archives.
DEFAULT_BASE_URL = "https://data.police.uk/data/archive"
#: The months a monthly archive holds (the archive's month and the 35 before it).
ARCHIVE_MONTHS = 36
_CHUNK = 1 << 20
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")

ATTRIBUTION = """\
Police data: data.police.uk (Home Office), street-level crime.
Contains public sector information licensed under the Open Government Licence v3.0
(https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/).
Locations are anonymised by data.police.uk (each point is snapped to a map point covering at
least eight postal addresses); analyse at LSOA or grid scale, never as exact places.
"""


class FetchError(SnaError):
    """A download that could not be completed (network, server): run the command again."""

    exit_code = 1


@dataclass
class FetchResult:
    """What :func:`fetch_police` did.

    Attributes
    ----------
    files
        The street files written, relative to ``out`` (``YYYY-MM/YYYY-MM-<force>-street.csv``).
    missing_months
        Months of the range with no street file of the force in the archive(s).
    archives
        The archives used: ``{"url", "path", "bytes", "resumed_from"}`` each.
    out
        The output folder.
    """

    files: list[str] = field(default_factory=list)
    missing_months: list[str] = field(default_factory=list)
    archives: list[dict] = field(default_factory=list)
    out: Path | None = None


# --------------------------------------------------------------------------------------------
# months
# --------------------------------------------------------------------------------------------
def _parse_month(text: str, what: str) -> tuple[int, int]:
    m = _MONTH_RE.match(str(text).strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise InputFormatError(f"{what} must be a month written YYYY-MM (got {text!r})", key=what)
    return int(m.group(1)), int(m.group(2))


def _month_index(ym: tuple[int, int]) -> int:
    return ym[0] * 12 + ym[1] - 1


def _month_label(i: int) -> str:
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    """The months from ``first`` to ``last`` inclusive, as ``YYYY-MM``.

    >>> months_between("2018-11", "2019-02")
    ['2018-11', '2018-12', '2019-01', '2019-02']
    """
    a, b = _month_index(_parse_month(first, "--from")), _month_index(_parse_month(last, "--to"))
    if a > b:
        raise InputFormatError(f"--from {first} is after --to {last}", key="--from")
    return [_month_label(i) for i in range(a, b + 1)]


def archive_months(first: str, last: str) -> list[str]:
    """The monthly archives that hold every month from ``first`` to ``last``, latest first.

    A monthly archive holds its own month and the 35 before it.

    >>> archive_months("2018-10", "2019-02")
    ['2019-02']
    >>> archive_months("2014-01", "2019-02")
    ['2019-02', '2016-02']
    """
    months = months_between(first, last)
    a = _month_index(_parse_month(months[0], "--from"))
    i = _month_index(_parse_month(months[-1], "--to"))
    out = []
    while True:
        out.append(_month_label(i))
        if i - ARCHIVE_MONTHS + 1 <= a:
            return out
        i -= ARCHIVE_MONTHS


# --------------------------------------------------------------------------------------------
# download
# --------------------------------------------------------------------------------------------
def _opener() -> urllib.request.OpenerDirector:
    # ProxyHandler() reads HTTP(S)_PROXY / NO_PROXY from the environment at each call
    return urllib.request.build_opener(urllib.request.ProxyHandler())


class _Bar:
    """A one-line text progress bar on a stream (only redrawn when it moves)."""

    def __init__(self, stream: TextIO | None, label: str, total: int | None, start: int = 0):
        self.stream, self.label, self.total, self.done = stream, label, total, start
        self._last = ""
        self.draw()

    def draw(self) -> None:
        if self.stream is None:
            return
        mb = self.done / 1e6
        if self.total:
            frac = min(self.done / self.total, 1.0)
            text = f"\r{self.label} [{'#' * int(frac * 30):<30}] {frac:6.1%} {mb:,.1f} of {self.total / 1e6:,.1f} MB"
        else:
            text = f"\r{self.label} {mb:,.1f} MB"
        if text != self._last:
            self.stream.write(text)
            self.stream.flush()
            self._last = text

    def update(self, n: int) -> None:
        self.done += n
        self.draw()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()


def download(url: str, dest: Path, *, progress: TextIO | None = None, timeout: float = 60.0) -> dict:
    """Download ``url`` to ``dest``, resuming ``dest.part`` with an HTTP Range request.

    Returns
    -------
    dict
        ``url``, ``path``, ``bytes`` and ``resumed_from`` (bytes already there; 0 for a fresh
        download). An existing complete ``dest`` is used as it is.

    Raises
    ------
    FetchError
        The server refused or the connection broke; ``dest.part`` keeps what arrived, so the
        same call resumes.
    """
    if dest.exists():
        return {"url": url, "path": str(dest), "bytes": dest.stat().st_size, "resumed_from": dest.stat().st_size}
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "sna-fetch", "Accept-Encoding": "identity"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = _opener().open(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the part file is already the whole archive
            part.replace(dest)
            return {"url": url, "path": str(dest), "bytes": have, "resumed_from": have}
        raise FetchError(f"the server answered {exc.code} {exc.reason} for {url}"
                         + ("; check the month (data.police.uk keeps an archive for each month) or "
                            "the base URL (--base-url)" if exc.code == 404 else "")) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"cannot reach {url} ({reason}); check the network or the proxy "
                         "(HTTPS_PROXY, HTTP_PROXY, NO_PROXY) and run the command again") from None
    with resp:
        status = getattr(resp, "status", 200)
        mode = "ab"
        if have and status != 206:  # the server ignored the range: start again
            logger.info("the server does not resume downloads: %s is downloaded again", url)
            have, mode = 0, "wb"
        elif not have:
            mode = "wb"
        length = resp.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        bar = _Bar(progress, dest.name, total, have)
        got = have
        try:
            with open(part, mode) as fh:
                while True:
                    chunk = resp.read(_CHUNK)
                    if not chunk:
                        break
                    fh.write(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
        except (OSError, urllib.error.URLError) as exc:  # connection reset, timeout, IncompleteRead
            bar.close()
            raise FetchError(f"the download of {url} broke after {got:,} bytes ({exc}); run the same "
                             "command again to resume it") from None
        bar.close()
    if total is not None and got < total:
        raise FetchError(f"the download of {url} stopped after {got:,} of {total:,} bytes; run the same "
                         "command again to resume it")
    part.replace(dest)
    return {"url": url, "path": str(dest), "bytes": got, "resumed_from": have}


# --------------------------------------------------------------------------------------------
# verify and extract
# --------------------------------------------------------------------------------------------
def _street_members(zf: zipfile.ZipFile, force: str) -> dict[str, zipfile.ZipInfo]:
    """Month -> the force's street file in an archive (either layout)."""
    rx = re.compile(rf"(?:^|/)(\d{{4}}-\d{{2}})-{re.escape(force)}-street\.csv$", re.IGNORECASE)
    out: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        m = rx.search(info.filename)
        if m and not info.is_dir():
            out.setdefault(m.group(1), info)
    return out


def _open_archive(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputFormatError(
            f"the downloaded archive is not a complete zip file ({exc}): it was truncated or is "
            "not a data.police.uk archive; it has been removed, run the command again to download it anew",
            file=path,
        ) from None


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, archive: Path) -> str:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    sha = hashlib.sha256()
    try:
        with zf.open(info) as src, open(tmp, "wb") as dst:
            while True:
                chunk = src.read(_CHUNK)
                if not chunk:
                    break
                sha.update(chunk)
                dst.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:  # CRC mismatch, truncated member
        tmp.unlink(missing_ok=True)
        raise InputFormatError(f"{info.filename} in the archive is damaged ({exc}); the archive has been "
                               "removed, run the command again to download it anew", file=archive) from None
    tmp.replace(target)
    return sha.hexdigest()


def fetch_police(
    force: str,
    first: str,
    last: str,
    out: "str | os.PathLike",
    *,
    base_url: str | None = None,
    url: str | None = None,
    keep_archives: bool = False,
    progress: TextIO | None = None,
    timeout: float = 60.0,
) -> FetchResult:
    """Download a force's data.police.uk street records for a range of months.

    Parameters
    ----------
    force
        The force as data.police.uk names it in file names (``nottinghamshire``,
        ``metropolitan``, ``avon-and-somerset``...).
    first, last
        The range of months, ``YYYY-MM``, inclusive.
    out
        The folder to write ``YYYY-MM/YYYY-MM-<force>-street.csv`` and ``ATTRIBUTION.txt`` into
        (the archives go to ``out/.download`` and are removed once extracted unless
        ``keep_archives``).
    base_url
        Where the monthly archives are (``<base_url>/YYYY-MM.zip``); default
        ``SNA_POLICE_BASE_URL`` or :data:`DEFAULT_BASE_URL`.
    url
        A custom download's link instead of the monthly archives.
    keep_archives
        Keep the downloaded archives.
    progress
        A stream for the progress bar (None: silent).
    timeout
        Seconds to wait for the server.

    Returns
    -------
    FetchResult

    Raises
    ------
    FetchError
        The download could not complete (exit code 1: run again to resume).
    InputFormatError
        A bad month, a truncated or damaged archive (removed so that a new run downloads it
        again), or an archive without any street file of the force in the range (exit 2).
    """
    months = months_between(first, last)
    force = force.strip().lower()
    if not re.fullmatch(r"[a-z0-9-]+", force):
        raise InputFormatError(f"--force {force!r} is not a data.police.uk force name (e.g. nottinghamshire, "
                               "avon-and-somerset)", key="--force")
    out = Path(out)
    dl = out / ".download"
    if url:
        sources = [(url, dl / "custom-download.zip")]
    else:
        base = (base_url or os.environ.get("SNA_POLICE_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        sources = [(f"{base}/{m}.zip", dl / f"{m}.zip") for m in archive_months(first, last)]
    result = FetchResult(out=out)
    found: dict[str, tuple[Path, zipfile.ZipInfo]] = {}
    wanted = set(months)
    opened: list[zipfile.ZipFile] = []
    try:
        for src_url, path in sources:
            info = download(src_url, path, progress=progress, timeout=timeout)
            result.archives.append(info)
            try:
                zf = _open_archive(path)
            except InputFormatError:
                path.unlink(missing_ok=True)
                raise
            opened.append(zf)
            if not any(_MONTH_RE.match(n.split("/")[0]) or re.search(r"\d{4}-\d{2}-[a-z0-9-]+-street\.csv$", n)
                       for n in zf.namelist()):
                path.unlink(missing_ok=True)
                raise InputFormatError(
                    "the archive is a zip but not in the data.police.uk layout "
                    "(YYYY-MM/YYYY-MM-<force>-street.csv); check --url or --base-url", file=path)
            for month, member in _street_members(zf, force).items():
                if month in wanted and month not in found:
                    found[month] = (path, member)
        result.missing_months = [m for m in months if m not in found]
        if not found:
            forces = sorted({re.sub(r"^\d{4}-\d{2}-|-street\.csv$", "", Path(n).name)
                             for z in opened for n in z.namelist() if n.endswith("-street.csv")})
            raise InputFormatError(
                f"no street file of force {force!r} for {months[0]} to {months[-1]} in the archive(s)"
                + (f"; the forces there are: {', '.join(forces[:50])}" if forces else ""),
                file=", ".join(str(p) for _, p in sources), key="--force")
        zips = {Path(z.filename): z for z in opened}
        lines = []
        for month in months:
            if month not in found:
                continue
            path, member = found[month]
            rel = f"{month}/{month}-{force}-street.csv"
            try:
                sha = _extract(zips[path], member, out / rel, path)
            except InputFormatError:
                path.unlink(missing_ok=True)
                raise
            result.files.append(rel)
            lines.append(f"{sha}  {rel}")
    finally:
        for z in opened:
            z.close()
    _write_attribution(out, force, months, result, lines)
    if not keep_archives:
        for a in result.archives:
            Path(a["path"]).unlink(missing_ok=True)
        if dl.is_dir() and not any(dl.iterdir()):
            dl.rmdir()
    return result


def _write_attribution(out: Path, force: str, months: list[str], result: FetchResult, lines: list[str]) -> None:
    text = [ATTRIBUTION, "",
            f"Force: {force}; months {months[0]} to {months[-1]}.",
            f"Downloaded {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} by sna fetch police from:"]
    text += [f"  {a['url']}" for a in result.archives]
    if result.missing_months:
        text += ["", "Months with no street file of the force in the archive (a gap in the supply, "
                 "not zero crimes): " + ", ".join(result.missing_months)]
    text += ["", "Files (SHA-256):"] + [f"  {ln}" for ln in lines]
    (out / "ATTRIBUTION.txt").write_text("\n".join(text) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------------------------
def add_fetch_parser(sub: "argparse._SubParsersAction") -> argparse.ArgumentParser:
    """Add ``fetch`` (with its ``police`` subcommand) to a command-line parser."""
    p = sub.add_parser("fetch", help="download open data (data.police.uk street records)",
                       description="Download open data into the folder layout sna init reads.")
    what = p.add_subparsers(dest="what", required=True, metavar="police")
    pol = what.add_parser(
        "police", help="data.police.uk street-level crime for a force and a range of months",
        description="Download data.police.uk street records (the monthly archive, or a custom "
        "download's link with --url), resuming a broken download, verifying the archive and "
        "extracting only the force's street files into OUT/YYYY-MM/. Proxies are taken from "
        "HTTPS_PROXY / HTTP_PROXY / NO_PROXY.")
    pol.add_argument("--force", required=True, help="force as in data.police.uk file names, e.g. nottinghamshire")
    pol.add_argument("--from", dest="first", required=True, metavar="YYYY-MM", help="first month")
    pol.add_argument("--to", dest="last", required=True, metavar="YYYY-MM", help="last month")
    pol.add_argument("--out", required=True, help="folder to write the months into")
    pol.add_argument("--base-url", default=None,
                     help=f"where the monthly archives are (default $SNA_POLICE_BASE_URL or {DEFAULT_BASE_URL})")
    pol.add_argument("--url", default=None, help="a custom download's link instead of the monthly archive")
    pol.add_argument("--keep-archives", action="store_true", help="keep the downloaded zip archives")
    pol.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_fetch)
    return p


def run_fetch(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run ``sna fetch police`` from parsed arguments; returns the exit code (0, 1, 2)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        res = fetch_police(args.force, args.first, args.last, args.out, base_url=args.base_url, url=args.url,
                           keep_archives=args.keep_archives, progress=None if args.quiet else stderr)
    except SnaError as exc:
        stderr.write(f"sna fetch: {exc}\n")
        return getattr(exc, "exit_code", 2)
    stdout.write(f"{len(res.files)} street file(s) of {args.force} written to {res.out} "
                 f"(attribution in {Path(res.out) / 'ATTRIBUTION.txt'})\n")
    if res.missing_months:
        stdout.write(f"missing from data.police.uk for this force: {', '.join(res.missing_months)} "
                     "(a gap in the supply, not zero crimes)\n")
    stdout.write(f"next: sna init --police {res.out}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m sna.io.fetch police ...`` (the same as ``sna fetch police ...``)."""
    parser = argparse.ArgumentParser(prog="sna")
    add_fetch_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["fetch", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
