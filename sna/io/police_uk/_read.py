"""Reading data.police.uk files: recognising them, parsing with pyarrow, file and line kept.

See :mod:`sna.io.police_uk` (the family) for the layout of the files and the rules the
reader keeps.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from ...errors import InputFormatError
from .._files import InputFile, csv_error_cause, expand_paths, undecodable_hint

logger = logging.getLogger("sna")

#: The header of a data.police.uk street-level crime file.
STREET_COLUMNS = (
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
)
#: The header of an outcomes file.
OUTCOMES_COLUMNS = (
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Outcome type",
)
#: The header of a stop-and-search file.
STOP_SEARCH_COLUMNS = (
    "Type", "Date", "Part of a policing operation", "Policing operation", "Latitude",
    "Longitude", "Gender", "Age range", "Self-defined ethnicity", "Officer-defined ethnicity",
    "Legislation", "Object of search", "Outcome", "Outcome linked to object of search",
    "Removal of more than just outer clothing",
)

#: The 14 crime types of data.police.uk street files (since May 2013).
CRIME_TYPES = (
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs",
    "Other crime", "Other theft", "Possession of weapons", "Public order", "Robbery",
    "Shoplifting", "Theft from the person", "Vehicle crime", "Violence and sexual offences",
)

_KINDS = {
    # kind: (header, columns needed, default columns read, float columns, string (non-category) columns)
    "street": (
        STREET_COLUMNS,
        ("Crime ID", "Month", "Falls within", "Longitude", "Latitude", "LSOA code", "Crime type"),
        ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
         "LSOA code", "LSOA name", "Crime type", "Last outcome category"),
        ("Longitude", "Latitude"),
        ("Crime ID",),
    ),
    "outcomes": (
        OUTCOMES_COLUMNS,
        ("Crime ID", "Month", "Falls within", "Longitude", "Latitude", "LSOA code", "Outcome type"),
        OUTCOMES_COLUMNS,
        ("Longitude", "Latitude"),
        ("Crime ID",),
    ),
    "stop_search": (
        STOP_SEARCH_COLUMNS,
        ("Type", "Date", "Latitude", "Longitude", "Object of search", "Outcome"),
        STOP_SEARCH_COLUMNS,
        ("Latitude", "Longitude"),
        ("Date",),
    ),
}
_FUNCTION = {
    "street": "read_police_uk",
    "outcomes": "read_police_uk_outcomes",
    "stop_search": "read_police_uk_stop_search",
}
_NAME_RE = re.compile(
    r"^(?P<month>\d{4}-\d{2})-(?P<force>.+?)-(?P<kind>street|outcomes|stop-and-search)"
    r"(?:\s*\(\d+\))?\.csv$",  # (a browser's copy: "... (1).csv")
    re.IGNORECASE,
)

#: What to do with a second file of a force-month already read (``sources.<name>.repeated_months``).
REPEATED_MONTHS = ("error", "ignore_later")

Progress = Callable[[str], None]


# --------------------------------------------------------------------------------------------
# recognising files
# --------------------------------------------------------------------------------------------
def _kind_from_header(cols: Sequence[str]) -> str | None:
    s = {c.strip() for c in cols}
    if "Crime type" in s:
        return "street"
    if "Outcome type" in s:
        return "outcomes"
    if "Object of search" in s or "Part of a policing operation" in s:
        return "stop_search"
    return None


def _sniff_header(f: InputFile) -> list[str]:
    if f.member is None:
        with open(f.path, "rb") as fh:
            head = fh.read(65536)
    else:
        import zipfile

        with zipfile.ZipFile(f.path) as zf, zf.open(f.member) as fh:
            head = fh.read(65536)
    first = head.split(b"\n", 1)[0].lstrip(codecs.BOM_UTF8)
    try:
        return next(csv.reader([first.decode("utf-8", errors="replace").rstrip("\r")]), [])
    except csv.Error:
        return []


def file_kind(f: "InputFile | str | os.PathLike") -> str | None:
    """Which data.police.uk file this is: ``street``, ``outcomes``, ``stop_search`` or None.

    Decided by the published file name (``2019-01-nottinghamshire-street.csv``), else by the
    header.

    Examples
    --------
    >>> file_kind("2019-01-nottinghamshire-outcomes.csv")
    'outcomes'
    >>> file_kind("2019-01-metropolitan-stop-and-search.csv")
    'stop_search'
    """
    if not isinstance(f, InputFile):
        from pathlib import Path

        p = Path(f)
        f = InputFile(str(p), p)
    m = _NAME_RE.match(f.basename)
    if m:
        return m.group("kind").lower().replace("stop-and-search", "stop_search")
    if f.member is None and not f.path.exists():
        return None
    return _kind_from_header(_sniff_header(f))


def file_month(name: str) -> str | None:
    """The month (``YYYY-MM``) in a data.police.uk file's published name, or None.

    Examples
    --------
    >>> file_month("police.zip!2018-10/2018-10-nottinghamshire-street (1).csv")
    '2018-10'
    >>> file_month("my_extract.csv") is None
    True
    """
    m = _NAME_RE.match(os.path.basename(str(name).split("!")[-1]))
    return m.group("month") if m else None


def one_file_per_month(files: list[InputFile], repeated: str = "error") -> tuple[list[InputFile], list[str]]:
    """Each force-month read once: the files, and a note for each file left out.

    Files are keyed by the month, force and kind of their published name
    (``2018-10-nottinghamshire-street.csv``; a copy ``... (1).csv`` has the same key). A key met
    twice (the month as a folder and inside the zip, or a copy in another folder) would count
    every row of that month twice.

    Parameters
    ----------
    repeated
        ``error``: :class:`~sna.errors.InputFormatError` naming both files; ``ignore_later``:
        the later file is left out, with a note.

    Raises
    ------
    InputFormatError
        Naming both files, and the config key that would ignore the later one.
    """
    if repeated not in REPEATED_MONTHS:
        raise ValueError(f"repeated must be one of {REPEATED_MONTHS}, not {repeated!r}")
    first: dict[tuple, InputFile] = {}
    kept: list[InputFile] = []
    notes: list[str] = []
    for f in files:
        m = _NAME_RE.match(f.basename)
        if not m:
            kept.append(f)
            continue
        key = (m.group("month"), m.group("force").lower(), m.group("kind").lower())
        if key in first:
            if repeated == "error":
                raise InputFormatError(
                    f"the {key[0]} {key[2]} file of {key[1]} is read twice: {first[key].name} and "
                    f"{f.name} (a month as a folder and inside the zip, or a copy) - its rows "
                    "would be counted twice; remove one, or set 'repeated_months: ignore_later' "
                    "on the source in sna.yml to read only the first",
                    file=f.name,
                )
            notes.append(f"{f.name} ignored: the {key[0]} {key[2]} file of {key[1]} was read "
                         f"from {first[key].name} (repeated_months: ignore_later)")
            logger.warning("data.police.uk: %s", notes[-1])
            continue
        first[key] = f
        kept.append(f)
    return kept, notes


def police_uk_files(path, kind: str = "street", *, repeated: str | None = "error") -> list[InputFile]:
    """The data.police.uk files of one kind under ``path``.

    Parameters
    ----------
    path
        A file, folder (searched recursively), zip archive, glob, or a list of them.
    kind
        ``street``, ``outcomes`` or ``stop_search``.
    repeated
        A force-month found in two files: ``error`` (the default), ``ignore_later``, or None
        (not checked here: :func:`one_file_per_month` is the caller's).

    Returns
    -------
    list of InputFile
        Sorted within each folder / archive. Files of the other kinds are skipped (and logged).

    Raises
    ------
    InputFormatError
        If a file named explicitly is of another kind, no file of this kind is found, or a
        force-month is in two files (:func:`one_file_per_month`).

    Examples
    --------
    >>> from sna.datasets import nottingham_sample_config
    >>> files = police_uk_files(nottingham_sample_config().parent / "police")
    >>> len(files), files[0].basename
    (5, '2018-10-nottinghamshire-street.csv')
    """
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    selected: list[InputFile] = []
    skipped: dict[str, int] = {}
    for raw in paths:
        explicit = os.path.isfile(os.path.expanduser(str(raw))) and not str(raw).lower().endswith(".zip")
        for f in expand_paths(raw, patterns=("*.csv",), what="data.police.uk"):
            k = file_kind(f)
            if k == kind:
                selected.append(f)
            elif explicit:
                if k is None:
                    continue  # the reader reports the header problem
                raise InputFormatError(
                    f"this is a data.police.uk {k.replace('_', '-')} file, not a "
                    f"{kind.replace('_', '-')} file: read it with sna.io.{_FUNCTION[k]}() "
                    f"(or give only {kind.replace('_', '-')} files)",
                    file=f.name,
                )
            else:
                skipped[str(k)] = skipped.get(str(k), 0) + 1
        if explicit and not any(f.name == str(raw) or f.path == raw for f in selected):
            selected.extend(expand_paths(raw, what="data.police.uk"))
    if skipped:
        logger.info("data.police.uk: skipped files of other kinds: %s", skipped)
    if not selected:
        other = ", ".join(f"{n} {k}" for k, n in skipped.items()) or "none"
        raise InputFormatError(
            f"no data.police.uk {kind.replace('_', '-')} files found (files of other kinds: "
            f"{other}); street files are named YYYY-MM-<force>-street.csv",
            file=path if isinstance(path, (str, os.PathLike)) else ", ".join(map(str, path)),
        )
    seen: set[str] = set()
    files = [f for f in selected if not (f.name in seen or seen.add(f.name))]
    if repeated is not None:
        files, _ = one_file_per_month(files, repeated)
    return files


# --------------------------------------------------------------------------------------------
# reading one file
# --------------------------------------------------------------------------------------------
def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _diagnose(data: bytes, name: str, ncols: int, arrow_msg: str) -> InputFormatError:
    """Find the line where a file that pyarrow could not parse goes wrong."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = _line_of_offset(data, exc.start)
        return InputFormatError(
            f"the file is not UTF-8 text (byte {data[exc.start]:#04x} cannot be decoded); "
            + undecodable_hint(data),
            file=name, line=line,
        )
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    last_line = 0
    try:
        for row in reader:
            start = last_line + 1
            last_line = reader.line_num
            if not row:
                continue
            if len(row) != ncols:
                at_end = reader.line_num >= text.rstrip("\r\n").count("\n") + 1
                hint = (" - the last line is incomplete: the file looks truncated; download it again"
                        if at_end else " - the row is damaged; fix or remove it")
                return InputFormatError(
                    f"expected {ncols} fields as in the header, found {len(row)}{hint}",
                    file=name, line=start,
                )
    except csv.Error as exc:
        return InputFormatError(
            f"the CSV cannot be parsed ({exc}): {csv_error_cause(exc)}; download it again",
            file=name, line=last_line + 1,
        )
    return InputFormatError(f"the CSV cannot be parsed: {arrow_msg}", file=name)


def _ascii(data: bytes) -> bool:
    """``data.isascii()``, without holding the GIL (numpy's maximum of the bytes)."""
    return not data or int(np.frombuffer(data, dtype=np.uint8).max()) < 0x80


def _record_bounds(data: bytes, nrows: int) -> tuple[bytes, np.ndarray, np.ndarray] | None:
    """Where each of the ``nrows`` records lies in ``data`` when every record is one line (no
    quoted line breaks, no blank lines): ``(text, starts, stops)``, record j being
    ``text[starts[j]:stops[j]]`` (``text`` is ``data`` with CRLF as LF and a final line
    break). None otherwise."""
    # (numpy, not bytes methods: the scans run without the GIL, beside the other file tasks)
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    if len(ends) and (arr[ends[ends > 0] - 1] == 13).any():  # CRLF line ends
        data = data.replace(b"\r\n", b"\n")
        ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    del arr
    if not data.endswith(b"\n"):
        data = data + b"\n"
        ends = np.append(ends, len(data) - 1)
    n_lines = len(ends)
    while n_lines > 1 and ends[n_lines - 1] - ends[n_lines - 2] == 1:  # trailing blank lines
        n_lines -= 1
    if n_lines != nrows + 1:
        return None
    # blank lines and quoted line breaks would both add lines: here there are none.
    # Record j is the bytes between the newlines ending lines j + 1 and j + 2.
    return data, ends[: n_lines - 1] + 1, ends[1:n_lines]


def _count_duplicates(data: bytes, starts: np.ndarray, stops: np.ndarray, table=None) -> int:
    """Records byte-identical to an earlier one: lines that could be identical are found with
    a cheap key (see :func:`_duplicate_candidates`), and only those are compared as bytes."""
    cand = _duplicate_candidates(stops - starts, table)
    if len(cand) < 2:
        return 0
    lines = [data[a:b] for a, b in zip(starts[cand].tolist(), stops[cand].tolist())]
    return len(lines) - len(set(lines))


def _lines_and_duplicates(data: bytes, nrows: int, table=None) -> tuple[np.ndarray, int | None]:
    """Physical line of each record (header = 1) and the number of byte-identical rows.

    Fast path: one record per line (no quoted line breaks, no blank lines; see
    :func:`_record_bounds` and :func:`_count_duplicates`). Otherwise the file is walked with
    the csv module, and duplicates are left to the caller (None).
    """
    bounds = _record_bounds(data, nrows)
    if bounds is not None:
        return np.arange(2, nrows + 2, dtype=np.int32), _count_duplicates(*bounds, table)
    # quoted line breaks or blank lines: walk the file
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    starts = []
    prev = 0
    for i, row in enumerate(reader):
        start = prev + 1
        prev = reader.line_num
        if i == 0 or not row:
            continue
        starts.append(start)
    return np.asarray(starts[:nrows], dtype=np.int32), None


def _duplicate_candidates(lengths: np.ndarray, table=None) -> np.ndarray:
    """Records that may be byte-identical to another one: those sharing a key made of the
    line's length, its parsed coordinates (bits) and whether its Crime ID is blank. Identical
    lines always share the key (each value is a function of the line's bytes); the key is
    cheap, with no text hashed."""
    key = lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    if table is not None:
        for c, mult in (("Longitude", 0xC2B2AE3D27D4EB4F), ("Latitude", 0x165667B19E3779F9)):
            if c in table.column_names and table[c].type == "double":
                v = np.nan_to_num(table[c].to_numpy(), nan=1e308)
                key ^= v.view(np.uint64) * np.uint64(mult)
                key = (key << np.uint64(29)) | (key >> np.uint64(35))
        if "Crime ID" in table.column_names:
            key ^= table["Crime ID"].is_null().to_numpy(zero_copy_only=False).astype(np.uint64)
    return np.flatnonzero(pd.Series(key).duplicated(keep=False).to_numpy())


def _dictionary_encode(table, columns):
    """Dictionary-encode the text ``columns`` of an Arrow table (those present and not encoded
    already): they become pandas categoricals."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for c in columns:
        if c in table.column_names and not pa.types.is_dictionary(table[c].type):
            table = table.set_column(table.column_names.index(c), c, pc.dictionary_encode(table[c]))
    return table


def read_file(
    f: InputFile,
    kind: str = "street",
    columns: Sequence[str] | None = None,
    *,
    encoding: str = "utf-8",
    dictionary: Sequence[str] | None = None,
):
    """Read one data.police.uk file into a pyarrow Table (plus ``file`` and ``line``).

    Parameters
    ----------
    dictionary
        The text columns to dictionary-encode; by default every text column but the
        identifiers (``Crime ID``). ``()`` leaves every text column as plain strings.

    Returns
    -------
    (pyarrow.Table, dict)
        The table (text columns dictionary-encoded) and figures of the file: ``file``,
        ``rows``, ``duplicate_rows`` (rows byte-identical to an earlier row of the file).
    """
    import pyarrow as pa

    _, _, default_cols, float_cols, string_cols = _KINDS[kind]
    data, header = _load(f, kind, encoding)
    wanted = [c for c in (columns or default_cols) if c in header]
    types = {c: (pa.float64() if c in float_cols else pa.string()) for c in wanted}
    to_encode = [c for c in wanted if c not in float_cols and c not in string_cols
                 and (dictionary is None or c in dictionary)]
    table = _parse(data, f.name, header, types, float_cols)
    table = _dictionary_encode(table, to_encode)  # text with few distinct values -> categorical
    n = table.num_rows
    lines, dups = _lines_and_duplicates(data, n, table)
    if dups is None:
        dups = int(table.to_pandas().duplicated().sum()) if n else 0
    del data
    return _with_place(table, f.name, lines), {"file": f.name, "rows": n,
                                              "duplicate_rows": int(dups)}


def _with_place(table, name: str, lines: np.ndarray):
    """Append ``file`` (dictionary) and ``line`` (int32) to a table of one file's rows."""
    import pyarrow as pa

    n = table.num_rows
    return table.append_column(
        "file", pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([name]))
    ).append_column("line", pa.array(lines, type=pa.int32()))


def _load(f: InputFile, kind: str, encoding: str) -> tuple[bytes, list[str]]:
    """A file's bytes as UTF-8 without a byte-order mark, and its checked header."""
    header_cols, needed = _KINDS[kind][:2]
    data = f.read_bytes()
    if encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "utf-8-sig"):
        try:
            data = data.decode(encoding).encode("utf-8")
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputFormatError(f"the file cannot be decoded as {encoding}: {exc}", file=f.name) from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    if not data[:4096].strip() and not data.strip():
        raise InputFormatError(
            "the file is empty" + (" (0 bytes)" if not data else " (only blank lines)")
            + ": a data.police.uk file has at least its header line; download it again",
            file=f.name,
        )
    end = data.find(b"\n")
    first = (data if end < 0 else data[:end]).rstrip(b"\r")  # (no copy of the whole file)
    try:
        header = next(csv.reader([first.decode("utf-8")]))
    except UnicodeDecodeError:
        raise _diagnose(data, f.name, 0, "") from None
    header = [h.strip() for h in header]
    missing = [c for c in needed if c not in header]
    if missing:
        other = _kind_from_header(header)
        if other and other != kind:
            hint = (f"; this is a {other.replace('_', '-')} file: read it with "
                    f"sna.io.{_FUNCTION[other]}()")
        else:
            hint = f"; a data.police.uk {kind.replace('_', '-')} file starts: {','.join(header_cols)}"
        raise InputFormatError(
            f"wrong header: missing column(s) {', '.join(repr(c) for c in missing)} "
            f"(the header has: {', '.join(header)}){hint}",
            file=f.name, line=1,
        )
    return data, header


def _parse(data: bytes, name: str, header: list[str], types: dict, float_cols: Sequence[str],
           *, skip_header: bool = True, warn: bool = True):
    """Parse CSV bytes with pyarrow: the columns of ``types`` (name -> Arrow type) only.

    A non-numeric value in a float column is read as unknown (with a warning). A file pyarrow
    cannot parse is diagnosed (:func:`_diagnose`: the file and line)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    wanted = list(types)
    # one thread per file: files are small, and threads cost more than they give here
    read_opts = pacsv.ReadOptions(block_size=1 << 24, column_names=header,
                                  skip_rows=1 if skip_header else 0, use_threads=False)
    conv = pacsv.ConvertOptions(
        column_types=types, include_columns=wanted, strings_can_be_null=True,
        null_values=[""], quoted_strings_can_be_null=True,
    )
    buf = pa.py_buffer(data)  # (read from memory without the GIL; no copy)
    try:
        return pacsv.read_csv(pa.BufferReader(buf), read_options=read_opts, convert_options=conv)
    except pa.ArrowInvalid as exc:
        msg = str(exc)
        if "conversion error to double" not in msg:
            raise _diagnose(data, name, len(header), msg) from None
    # a non-numeric coordinate: read as text and treat such values as unknown
    conv = pacsv.ConvertOptions(
        column_types={c: (pa.string() if c in float_cols else t) for c, t in types.items()},
        include_columns=wanted, strings_can_be_null=True, null_values=[""],
    )
    try:
        table = pacsv.read_csv(pa.BufferReader(buf), read_options=read_opts, convert_options=conv)
    except pa.ArrowInvalid as exc2:
        raise _diagnose(data, name, len(header), str(exc2)) from None
    for c in float_cols:
        if c in table.column_names:
            num = pd.to_numeric(table[c].to_pandas(), errors="coerce")
            bad = int(num.isna().sum() - table[c].null_count)
            if warn:
                logger.warning("%s: %d non-numeric %s value(s) treated as unknown", name, bad, c)
            table = table.set_column(table.column_names.index(c), c,
                                     pa.array(num.to_numpy(dtype="float64"), type=pa.float64()))
    return table


def read_street_split(f: InputFile, types: dict, *, encoding: str = "utf-8"):
    """Read a street file for an ingest task: a few columns of every row, the rest on demand.

    Parameters
    ----------
    types
        The columns to read for every row, with their Arrow types (e.g. dictionary-encoded
        text, ``large_string`` identifiers).
    encoding
        As :func:`read_file`.

    Returns
    -------
    (pyarrow.Table, numpy.ndarray, dict, callable)
        The table of those columns, each row's physical line, the file's figures (as
        :func:`read_file`'s), and ``raw_rows(mask)``: the rows of a boolean mask exactly as
        :func:`read_file` (``dictionary=()``) gives them, with every column, ``file`` and
        ``line``. When each record is one line (the published files), only the lines of those
        rows are parsed again; otherwise the file is read whole as :func:`read_file` reads it.
        The duplicate-row count is the same either way.
    """
    import pyarrow as pa

    _, _, default_cols, float_cols, _ = _KINDS["street"]
    data, header = _load(f, "street", encoding)
    if not _ascii(data):  # the columns not parsed here must be UTF-8 text too
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise _diagnose(data, f.name, len(header), "") from None
    wanted = {c: t for c, t in types.items() if c in header}
    table = _parse(data, f.name, header, wanted, float_cols)
    n = table.num_rows
    bounds = _record_bounds(data, n)
    if bounds is None:  # quoted line breaks or blank lines: the whole file, the usual way
        del data
        full, stats = read_file(f, "street", encoding=encoding, dictionary=())
        part = pa.table({c: full[c].cast(t) if not pa.types.is_dictionary(t) else
                         full[c].dictionary_encode() for c, t in wanted.items()})
        return part, full["line"].to_numpy(), stats, lambda mask: full.filter(pa.array(mask))
    text, starts, stops = bounds
    del data
    dups = _count_duplicates(text, starts, stops, table)
    lines = np.arange(2, n + 2, dtype=np.int32)
    full_types = {c: (pa.float64() if c in float_cols else pa.string())
                  for c in default_cols if c in header}

    def raw_rows(mask: np.ndarray):
        """Every column of the rows of ``mask``: most of the file parsed again whole, or a few
        rows' lines kept unparsed (:class:`RawLines`, parsed with other files' by
        :func:`parse_raw_lines`); no warning twice."""
        idx = np.flatnonzero(mask)
        if 2 * len(idx) > n:  # most of the file: parse it whole
            rows = _parse(text, f.name, header, full_types, float_cols, warn=False)
            return _with_place(rows.filter(pa.array(mask)), f.name, lines[idx])
        body = b"\n".join([text[a:b] for a, b in zip(starts[idx].tolist(),
                                                    stops[idx].tolist())]) + b"\n"
        return RawLines(f.name, tuple(header), body, lines[idx])

    return table, lines, {"file": f.name, "rows": n, "duplicate_rows": int(dups)}, raw_rows


@dataclass
class RawLines:
    """Some records of one street file, not parsed yet: their lines (``body``, each ending
    with a line break, every record one line) and physical line numbers (``lines``). Their
    file was parsed whole once already, so these lines are valid rows of its ``header``."""

    file: str
    header: tuple
    body: bytes
    lines: np.ndarray


def parse_raw_lines(items: list) -> list:
    """Street rows as :func:`read_file` (``dictionary=()``) gives them, with every column,
    ``file`` and ``line``: a pyarrow Table per item (a Table is passed through) or per run of
    consecutive :class:`RawLines` with the same header, parsed together (one parse for the
    few set-aside rows of many files). A run with a non-numeric coordinate is parsed file by
    file instead, as each file's rows would be alone (such values are then read as unknown,
    without a second warning)."""
    import pyarrow as pa

    _, _, default_cols, float_cols, _ = _KINDS["street"]
    out: list = []
    i = 0
    while i < len(items):
        item = items[i]
        if not isinstance(item, RawLines):
            out.append(item)
            i += 1
            continue
        j = i + 1
        while j < len(items) and isinstance(items[j], RawLines) and items[j].header == item.header:
            j += 1
        run = items[i:j]
        i = j
        header = list(item.header)
        types = {c: (pa.float64() if c in float_cols else pa.string())
                 for c in default_cols if c in header}
        table = None
        if len(run) > 1:
            try:
                table = _parse_strict(b"".join(r.body for r in run), header, types)
            except pa.ArrowInvalid:
                table = None
        if table is None:  # one file, or a value pyarrow would not read as a number
            out += [_with_place(_parse(r.body, r.file, header, types, float_cols,
                                       skip_header=False, warn=False), r.file, r.lines)
                    for r in run]
            continue
        sizes = [len(r.lines) for r in run]
        file_codes = np.repeat(np.arange(len(run), dtype=np.int32), sizes)
        out.append(table.append_column(
            "file", pa.DictionaryArray.from_arrays(pa.array(file_codes),
                                                   pa.array([r.file for r in run]))
        ).append_column("line", pa.array(np.concatenate([r.lines for r in run]), type=pa.int32())))
    return out


def _parse_strict(data: bytes, header: list[str], types: dict):
    """Lines of a parsed file parsed again (no header): pyarrow's own errors raised."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    read_opts = pacsv.ReadOptions(block_size=1 << 24, column_names=header, use_threads=False)
    conv = pacsv.ConvertOptions(column_types=types, include_columns=list(types),
                                strings_can_be_null=True, null_values=[""],
                                quoted_strings_can_be_null=True)
    return pacsv.read_csv(pa.BufferReader(pa.py_buffer(data)), read_options=read_opts,
                          convert_options=conv)


def raw_frame(tables: list, stats: list[dict], kind: str) -> pd.DataFrame:
    """Tables of :func:`read_file` (emptied) as one frame shaped as :func:`read_police_uk`
    returns it, with ``attrs["sna"]``: the files, rows read and duplicate rows."""
    import pyarrow as pa

    if len(tables) > 1:
        # a column may be all-null (type null) in one file: cast to the common schema
        table = pa.concat_tables(tables, promote_options="permissive")
    else:
        table = tables[0]
    table = table.unify_dictionaries()
    tables.clear()
    string_t = pd.StringDtype("pyarrow")
    df = table.to_pandas(split_blocks=True, self_destruct=True,
                         types_mapper={pa.string(): string_t, pa.large_string(): string_t}.get)
    del table
    for c in _KINDS[kind][3]:
        if c in df:
            df[c] = df[c].astype("float64")
    df["line"] = df["line"].astype("int32")
    df.attrs["sna"] = {
        "files": list(stats),
        "rows_read": int(sum(s["rows"] for s in stats)),
        "duplicate_rows": int(sum(s["duplicate_rows"] for s in stats)),
    }
    return df


def iter_police_uk(
    path: "str | os.PathLike | Iterable[str | os.PathLike]",
    *,
    kind: str = "street",
    columns: Sequence[str] | None = None,
    encoding: str = "utf-8",
    progress: Progress | None = None,
    batch_rows: int | None = 1_000_000,
) -> Iterator[pd.DataFrame]:
    """Read data.police.uk files in batches of whole files (streaming).

    Parameters
    ----------
    path, columns, encoding, progress
        As :func:`read_police_uk`.
    kind
        ``street``, ``outcomes`` or ``stop_search``.
    batch_rows
        A batch is yielded once it holds at least this many rows (None: one batch of
        everything). Memory is bounded by one batch, whatever the number of files.

    Yields
    ------
    pandas.DataFrame
        The rows of one or more whole files, shaped as :func:`read_police_uk` returns them,
        with ``attrs["sna"]`` for the files of the batch.

    Examples
    --------
    >>> from sna.datasets import nottingham_sample_config
    >>> folder = nottingham_sample_config().parent / "police"
    >>> [len(b) for b in iter_police_uk(folder, batch_rows=10_000)]
    [10678, 14310]
    """
    files = police_uk_files(path, kind)
    tables: list = []
    stats: list[dict] = []
    rows = 0
    for i, f in enumerate(files, 1):
        if progress is not None:
            progress(f"reading {f.basename} ({i}/{len(files)})")
        t, s = read_file(f, kind, columns, encoding=encoding)
        tables.append(t)
        stats.append(s)
        rows += s["rows"]
        if batch_rows is not None and rows >= batch_rows:
            yield raw_frame(tables, stats, kind)
            tables, stats, rows = [], [], 0
    if tables:
        yield raw_frame(tables, stats, kind)


def _read_many(path, kind: str, columns, encoding: str, progress: Progress | None) -> pd.DataFrame:
    df = next(iter_police_uk(path, kind=kind, columns=columns, encoding=encoding, progress=progress,
                             batch_rows=None))
    logger.info("data.police.uk %s: %d rows from %d file(s)", kind, len(df), len(df.attrs["sna"]["files"]))
    return df


def read_police_uk(
    path: "str | os.PathLike | Iterable[str | os.PathLike]",
    *,
    columns: Sequence[str] | None = None,
    encoding: str = "utf-8",
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Read data.police.uk street-level crime files.

    Parameters
    ----------
    path
        A folder tree (e.g. the unzipped download, ``2019-01/2019-01-<force>-street.csv``), a
        zip archive as downloaded, a glob, a single file, or a list of any of these; one or many
        forces. Outcomes and stop-and-search files in the same folder or archive are skipped.
    columns
        The data.police.uk columns to keep; by default every column but ``Context``.
    encoding
        Text encoding (data.police.uk publishes UTF-8).
    progress
        Called with a short message before each file (the command line prints it).

    Returns
    -------
    pandas.DataFrame
        One row per line of the files, in file order, never de-duplicated: the columns read
        with their data.police.uk names (``Crime ID`` text with missing values,
        ``Longitude``/``Latitude`` float, the other text columns categorical), plus ``file``
        (categorical) and ``line`` (int32; header = 1). ``attrs["sna"]`` holds ``files`` (per
        file: rows, duplicate_rows), ``rows_read`` and ``duplicate_rows`` (rows byte-identical
        to an earlier row: real records, kept).

    Raises
    ------
    InputFormatError
        Naming the file and line: empty file, wrong header (the missing columns are listed),
        text that is not UTF-8, truncated file (a last line with too few fields, or a quote
        never closed), an outcomes / stop-and-search file named explicitly.

    Notes
    -----
    Quirks of the real data kept as they are (the cleaning decides): blank ``Crime ID`` on
    anti-social behaviour rows; repeated Crime IDs; byte-identical rows (separate incidents at
    the same anonymised map point); rows with no location (blank coordinates and LSOA); rows
    in LSOAs outside the force area. Source: https://data.police.uk/about/.

    Examples
    --------
    >>> from sna.datasets import nottingham_sample_config
    >>> df = read_police_uk(nottingham_sample_config().parent / "police")
    >>> len(df), df.attrs["sna"]["duplicate_rows"] > 0
    (24988, True)
    >>> df.loc[0, ["Month", "LSOA code"]].tolist(), int(df.loc[0, "line"])
    (['2018-10', 'E01019442'], 2)
    """
    return _read_many(path, "street", columns, encoding, progress)


def read_police_uk_outcomes(
    path, *, columns: Sequence[str] | None = None, encoding: str = "utf-8",
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Read data.police.uk outcomes files (``YYYY-MM-<force>-outcomes.csv``).

    Same inputs, streaming and errors as :func:`read_police_uk`; street and stop-and-search
    files are skipped.

    Returns
    -------
    pandas.DataFrame
        The outcomes columns (``Crime ID``, ``Month``, ..., ``Outcome type``) plus ``file`` and
        ``line``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "2019-01-test-outcomes.csv").write_text(
    ...     ",".join(OUTCOMES_COLUMNS) + "\\n"
    ...     "abc,2019-01,Test,Test,-1.1,52.9,On or near X,E01013810,Nottingham 018A,"
    ...     "Suspect charged\\n")
    >>> read_police_uk_outcomes(d)["Outcome type"].tolist()
    ['Suspect charged']
    """
    return _read_many(path, "outcomes", columns, encoding, progress)


def read_police_uk_stop_search(
    path, *, columns: Sequence[str] | None = None, encoding: str = "utf-8",
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Read data.police.uk stop-and-search files (``YYYY-MM-<force>-stop-and-search.csv``).

    Same inputs, streaming and errors as :func:`read_police_uk`; street and outcomes files are
    skipped.

    Returns
    -------
    pandas.DataFrame
        The stop-and-search columns (``Type``, ``Date``, ..., ``Outcome``) plus ``file`` and
        ``line``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "2019-01-test-stop-and-search.csv").write_text(
    ...     ",".join(STOP_SEARCH_COLUMNS) + "\\n"
    ...     "Person search,2019-01-05T10:00:00+00:00,False,,52.9,-1.1,Male,18-24,,,"
    ...     "Misuse of Drugs Act 1971 (section 23),Controlled drugs,Arrest,True,False\\n")
    >>> read_police_uk_stop_search(d)["Object of search"].tolist()
    ['Controlled drugs']
    """
    return _read_many(path, "stop_search", columns, encoding, progress)


def encode_street_text(table):
    """Dictionary-encode the text columns, as :func:`sna.io.police_uk.read_police_uk` does."""
    header, _, _, floats, strings = _KINDS["street"]
    return _dictionary_encode(table, [c for c in header if c not in floats and c not in strings])


def detect_police_uk(path) -> dict | None:
    """``sna init``: ``{"format": "police_uk"}`` when ``path`` holds data.police.uk street
    files, else None.

    Examples
    --------
    >>> from sna.datasets import nottingham_sample_config
    >>> detect_police_uk(nottingham_sample_config().parent / "police")
    {'format': 'police_uk'}
    """
    try:
        # a file named explicitly is always listed: check it really is a street file
        if any(file_kind(f) == "street" for f in police_uk_files(path, "street", repeated=None)):
            return {"format": "police_uk"}
    except InputFormatError:
        pass
    return None
