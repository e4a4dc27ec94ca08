"""Keyed pseudonymisation of person and record identifiers.

Partner files carry identifiers: a crime reference, a victim's or suspect's person number,
an ambulance incident number, an NHS number, a participant's case number. ``sna`` replaces
every one of them **at read time**, before anything is cleaned, cached, quarantined or
written, by a keyed hash:

``pseudonym = HMAC-SHA256(key, normalised identifier)``, hex-encoded and cut to its first
:data:`PSEUDONYM_LENGTH` (16) characters, i.e. 64 bits.

* **Keyed**: without the key nobody can recompute the pseudonym from a guessed NHS number
  (a plain hash of a 10-digit number is reversed by trying all of them).
* **Deterministic for a key**: the same person gets the same pseudonym in every file and
  every year the same key is used, so repeat victims and the linkage between sources still
  work. A different key gives unrelated pseudonyms (the cache is keyed on a fingerprint of
  the key, never the key itself).
* **16 hex characters** (64 bits): the chance that two of ten million distinct identifiers
  collide is about 3 in a million, short enough to keep tables and caches small. Pass
  ``length=64`` for the full digest.
* **Normalised first**: surrounding and inner white space are removed and letters upper-cased,
  so ``"485 777 3456"`` and ``"4857773456"`` (or ``"nt/19/1"`` and ``"NT/19/1"``) are one
  person / record. Missing identifiers stay missing (``<NA>``); they are never hashed.

**Identifiers outside their columns.** A partner file whose columns are shifted carries NHS
numbers in its sex, age or LSOA column, or an attendance ID in a date column. Before anything
else reads the row, every other column is scanned (:class:`IdentifierScan`) for values that
look like identifiers: NHS numbers (ten digits, written whole or 3-3-4 with spaces or hyphens,
whose modulus-11 check digit is valid: :func:`nhs_number_valid`), values of the file's own
identifier columns, and values of the same shape as those (:func:`identifier_shape`, e.g.
``RX1-2019-000123`` is ``AA9-9999-999999``). Each is replaced by ``[id <pseudonym>]`` (the
same keyed pseudonym as in the identifier column, so one run links them), or by
``[identifier removed]`` when no key is configured, so the quarantine, the quality notes and
their examples, the log and the outputs never see the raw value.

The key comes from the environment variable named by ``privacy.key_env`` (default
``SNA_PSEUDONYMISATION_KEY``) or, when that is unset, from the first line of the file named by
``privacy.key_file``. The key is never read from ``sna.yml`` itself. If a source has
identifiers and no key is available, :class:`~sna.errors.PrivacyError` is raised naming the
config key to set: ``sna`` never falls back to raw identifiers.

Examples
--------
>>> import pandas as pd
>>> from sna.privacy import Pseudonymiser
>>> p = Pseudonymiser(b"a demo key, not a secret")
>>> out = p(pd.Series(["485 777 3456", "4857773456", None]))
>>> out[0] == out[1], len(out[0]), out.isna().tolist()
(True, 16, [False, False, True])
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._log import logger
from .errors import PrivacyError

if TYPE_CHECKING:  # pragma: no cover
    from .config import Config

__all__ = [
    "PSEUDONYM_LENGTH",
    "Pseudonymiser",
    "load_key",
    "key_fingerprint",
    "pseudonymiser",
    "pseudonymise",
    "normalise_identifier",
    "nhs_number_valid",
    "identifier_shape",
    "IdentifierScan",
    "redact_nhs_numbers",
]

#: Number of hex characters kept from the HMAC-SHA256 digest (64 bits).
PSEUDONYM_LENGTH = 16

_MIN_KEY_LENGTH = 16


def normalise_identifier(values: pd.Series) -> pd.Series:
    """Identifiers as comparable strings: no white space, upper case, blanks as ``<NA>``.

    Parameters
    ----------
    values
        Identifiers of any dtype (numbers are written without a decimal part).

    Returns
    -------
    pandas.Series
        ``string`` dtype, same index; ``<NA>`` where the input was missing or blank.

    Examples
    --------
    >>> import pandas as pd
    >>> normalise_identifier(pd.Series([" nt/19/ 001 ", 4857773456, "", None])).tolist()
    ['NT/19/001', '4857773456', <NA>, <NA>]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    s = values
    if pd.api.types.is_float_dtype(s.dtype):
        # 4857773456.0 read by a spreadsheet tool -> "4857773456"
        try:
            s = s.astype("Int64")
        except (TypeError, ValueError):
            pass
    s = s.astype("string[pyarrow]")
    arr = pc.utf8_upper(pc.replace_substring_regex(pa.array(s.array), r"\s+", ""))
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    return pd.Series(pd.array(arr, dtype="string[pyarrow]"), index=values.index)


class Pseudonymiser:
    """Replace identifiers by ``HMAC-SHA256(key, identifier)`` (hex, cut to ``length``).

    Parameters
    ----------
    key
        The secret key (bytes, or text encoded as UTF-8). At least 16 bytes.
    length
        Hex characters kept, 8 to 64 (default :data:`PSEUDONYM_LENGTH` = 16).

    Examples
    --------
    >>> import pandas as pd
    >>> p = Pseudonymiser("another demo key, 24 chars")
    >>> p(pd.Series(["A1", "A1", "B2"])).nunique()
    2
    >>> p.one("A1") == p(pd.Series(["a1"]))[0]
    True
    """

    def __init__(self, key: bytes | str, *, length: int = PSEUDONYM_LENGTH) -> None:
        if isinstance(key, str):
            key = key.encode("utf-8")
        if len(key) < _MIN_KEY_LENGTH:
            raise PrivacyError(
                f"the pseudonymisation key is too short ({len(key)} bytes): use at least "
                f"{_MIN_KEY_LENGTH} random characters, e.g. from "
                "'python -c \"import secrets; print(secrets.token_hex(32))\"'"
            )
        if not 8 <= length <= 64:
            raise ValueError("length must be between 8 and 64 hex characters")
        self._key = bytes(key)
        self.length = length

    def __repr__(self) -> str:  # never show the key
        return f"Pseudonymiser(fingerprint={self.fingerprint!r}, length={self.length})"

    @property
    def fingerprint(self) -> str:
        """A short public fingerprint of the key (safe to store in a cache key or manifest)."""
        return hmac.new(self._key, b"sna-key-fingerprint", hashlib.sha256).hexdigest()[:16]

    def one(self, value: object) -> str | None:
        """Pseudonym of a single identifier (``None`` for a missing one)."""
        out = self(pd.Series([value], dtype="object"))
        v = out.iloc[0]
        return None if pd.isna(v) else str(v)

    def __call__(self, values: pd.Series) -> pd.Series:
        """Pseudonymise a Series of identifiers; returns ``string`` dtype with the same index."""
        norm = normalise_identifier(values)
        present = norm.notna()
        out = pd.Series(pd.NA, index=values.index, dtype="string")
        if not present.any():
            return out
        codes, uniq = pd.factorize(norm[present].to_numpy(dtype=object))
        key, n = self._key, self.length
        hd = hmac.digest
        digests = np.array([hd(key, u.encode("utf-8"), "sha256").hex()[:n] for u in uniq], dtype=object)
        out[present] = pd.array(digests[codes], dtype="string")
        return out


#: An NHS number as written: ten digits, whole or 3-3-4 with single spaces or hyphens.
_NHS_PATTERN = r"^[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}$"
#: Shapes of date and time values, never taken for an identifier's shape.
_DATE_SHAPE = r"^(9{1,4}[-/.]9{1,2}[-/.]9{1,4}|9{1,2}[-/.]A{3}[-/.]9{2,4})([ T].*)?$|:"
#: ONS geography codes (an LSOA E01028281, a district E07000170): never an identifier by shape,
#: even where a file's identifiers have the same shape (a person number N38748029).
_ONS_CODE = r"^[EWSNK][0-9]{8}$"
#: The marker of an identifier found where none belongs (no key configured).
REMOVED = "[identifier removed]"


def _arrow_text(values: pd.Series):
    """Cells as a trimmed Arrow string array (blank = null); numbers from a workbook written
    without a decimal part (``4857773456.0`` -> ``"4857773456"``); dates and other objects
    null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values.dtype, pd.StringDtype):
        arr = pa.array(values.array, type=pa.string()) if values.dtype.storage != "pyarrow" \
            else pa.array(values.array)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
    else:
        if pd.api.types.is_float_dtype(values.dtype) or pd.api.types.is_integer_dtype(values.dtype):
            values = values.astype(object)
        if not pd.api.types.is_object_dtype(values.dtype):
            return pa.nulls(len(values), pa.string())

        def text(v):
            if isinstance(v, str):
                return v
            if isinstance(v, (bool, np.bool_)):
                return None
            if isinstance(v, (int, np.integer)):
                return str(int(v))
            if isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer():
                return str(int(v))
            return None

        uniq = pd.unique(values.dropna().to_numpy(dtype=object))
        lut = {u: text(u) for u in uniq}
        arr = pa.array([lut.get(v) if not pd.isna(v) else None
                        for v in values.to_numpy(dtype=object)], type=pa.string())
    arr = pc.utf8_trim_whitespace(arr.cast(pa.string()))
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def _cell_text(values: pd.Series) -> pd.Series:
    """:func:`_arrow_text` as a ``string`` Series with the index of ``values``."""
    return pd.Series(pd.array(_arrow_text(values), dtype="string[pyarrow]"), index=values.index)


def _mask(arr, n: int) -> np.ndarray:
    import pyarrow.compute as pc

    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool).reshape(n)


def _nhs_valid_arrow(arr) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    out = np.zeros(len(arr), dtype=bool)
    idx = np.flatnonzero(_mask(pc.match_substring_regex(arr, _NHS_PATTERN), len(arr)))
    if idx.size:
        digits = pc.replace_substring_regex(pc.take(arr, pa.array(idx)), r"[^0-9]", "")
        d = (np.frombuffer("".join(digits.to_pylist()).encode("ascii"), dtype=np.uint8)
             .reshape(-1, 10).astype(np.int64) - 48)
        check = 11 - (d[:, :9] @ np.arange(10, 1, -1)) % 11
        check[check == 11] = 0
        out[idx] = (check != 10) & (check == d[:, 9])
    return out


def nhs_number_valid(values: pd.Series) -> pd.Series:
    """Whether each value is an NHS number: ten digits (whole, or 3-3-4 with spaces or
    hyphens; a workbook number counts) whose modulus-11 check digit is valid.

    The check (NHS Data Dictionary, *NHS Number*): multiply the first nine digits by 10, 9,
    ..., 2 and add them up; 11 minus the remainder of the sum divided by 11 is the check digit
    (11 is written 0; 10 means the number is not valid), and it must equal the tenth digit.

    Examples
    --------
    >>> import pandas as pd
    >>> nhs_number_valid(pd.Series(["943 476 5919", "9434765919", "943-476-5910", 9434765919,
    ...                             "943476591", "Male", None])).tolist()
    [True, True, False, True, False, False, False]
    """
    return pd.Series(_nhs_valid_arrow(_arrow_text(values)), index=values.index)


_NHS_INSIDE = r"(?<![0-9])[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}(?![0-9])"
_NHS_INSIDE_RE2 = r"(^|[^0-9])[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}([^0-9]|$)"  # no look-behind


def _nhs_inside_arrow(arr) -> np.ndarray:
    import pyarrow.compute as pc

    import re

    import pyarrow as pa

    out = np.zeros(len(arr), dtype=bool)
    idx = np.flatnonzero(_mask(pc.match_substring_regex(arr, _NHS_INSIDE_RE2), len(arr)))
    if idx.size:  # every candidate number of every text checked in one vectorised pass
        nums = [re.findall(_NHS_INSIDE, t) for t in arr.take(idx).to_pylist()]
        flat = [x for ns in nums for x in ns]
        if flat:
            owner = np.repeat(idx, [len(ns) for ns in nums])
            out[owner[_nhs_valid_arrow(pa.array(flat, type=pa.string()))]] = True
    return out


def _normalise_arrow(arr):
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pc.utf8_upper(pc.replace_substring_regex(arr, r"\s+", ""))
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


#: Byte by byte, the shape of UTF-8 text: the ASCII digits to ``9``, the ASCII capitals to
#: ``A``, every other byte as it is (the bytes of a non-ASCII character are all 0x80 or
#: more, so a character outside ASCII is kept whole, as the regular expressions kept it).
_SHAPE_BYTES = np.arange(256, dtype=np.uint8)
_SHAPE_BYTES[ord("0"):ord("9") + 1] = ord("9")
_SHAPE_BYTES[ord("A"):ord("Z") + 1] = ord("A")


def _shape_arrow(norm):
    """``[0-9]`` to ``9`` and ``[A-Z]`` to ``A`` in an Arrow string array: one length-keeping
    table look-up over its bytes (two regular-expression passes took 0.8 s of the demo's
    preparation, on the police extract's 300,000 distinct references)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(norm, pa.ChunkedArray):
        norm = norm.combine_chunks()
    if norm.type not in (pa.string(), pa.large_string()):
        return pc.replace_substring_regex(
            pc.replace_substring_regex(norm, r"[0-9]", "9"), r"[A-Z]", "A")
    validity, offsets, data = norm.buffers()
    if data is None or data.size == 0:
        return norm
    shaped = pa.py_buffer(_SHAPE_BYTES[np.frombuffer(data, dtype=np.uint8)])
    return pa.Array.from_buffers(norm.type, len(norm), [validity, offsets, shaped],
                                 null_count=norm.null_count, offset=norm.offset)


def identifier_shape(values: pd.Series) -> pd.Series:
    """The shape of each (normalised) value: digits as ``9``, letters as ``A``, the rest kept.

    Examples
    --------
    >>> import pandas as pd
    >>> identifier_shape(pd.Series(["RX1-2019-000123", "nt/19/ 001", None])).tolist()
    ['AA9-9999-999999', 'AA/99/999', <NA>]
    """
    arr = _shape_arrow(_normalise_arrow(_arrow_text(values)))
    return pd.Series(pd.array(arr, dtype="string[pyarrow]"), index=values.index)


def _distinctive(shape: str) -> bool:
    """A shape specific enough to mark an identifier: six characters or more with four digits
    or more, and letters or separators unless it has eight digits or more (so eastings,
    northings, amounts, dates and times are never taken for identifiers)."""
    import re

    digits = shape.count("9")
    if len(shape) < 6 or digits < 4 or re.search(_DATE_SHAPE, shape):
        return False
    return digits >= 8 or digits < len(shape)


class IdentifierScan:
    """Finds values that look like identifiers in columns where none belongs.

    A value is taken for an identifier if it is an NHS number with a valid check digit
    (:func:`nhs_number_valid`), whole or inside other text, or one of the values of the
    identifier columns, or of the same shape as one (:func:`identifier_shape`) where that
    shape is distinctive (six characters or more with four digits or more, not a date or
    time; eight digits or more when it is digits only) and the value is not an ONS geography
    code (``E01028281`` has the shape of a person number ``N38748029``, and is an LSOA).

    Parameters
    ----------
    identifiers
        The raw values of the source's identifier columns (before they are pseudonymised).

    Examples
    --------
    >>> import pandas as pd
    >>> scan = IdentifierScan([pd.Series(["RX1-2019-000123", "RX1-2019-000124"])])
    >>> scan(pd.Series(["03/05/2019", "RX1-2020-555555", "943 476 5919", "Female", "456789"])).tolist()
    [False, True, True, False, False]
    >>> IdentifierScan([pd.Series(["N38748029"])])(pd.Series(["E01028281", "N38748029", "P12345678"])).tolist()
    [False, True, True]
    """

    def __init__(self, identifiers=()) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        known, shapes = [], set()
        for s in identifiers:
            uniq = pc.drop_null(pc.unique(_normalise_arrow(_arrow_text(s))))
            shape = _shape_arrow(uniq)
            good = [sh for sh in pc.unique(shape).to_pylist() if _distinctive(sh)]
            if good:
                shapes.update(good)
                known.append(pc.filter(uniq, pc.is_in(shape, pa.array(good, type=pa.string()))))
        self._known = (pa.concat_arrays(known) if known else pa.array([], type=pa.string()))
        self._shapes = pa.array(sorted(shapes), type=pa.string())
        self._lengths = pa.array(sorted({len(x) for x in shapes}), type=pa.int32())
        self.shapes = frozenset(shapes)

    def _found(self, arr) -> np.ndarray:
        """The mask of identifiers in ``arr``, worked out once per distinct value (the
        columns scanned repeat their values: sexes, ages, dates, LSOAs)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        uniq = pc.drop_null(pc.unique(arr))
        if not len(uniq):
            return np.zeros(len(arr), dtype=bool)
        hit = self._found_distinct(uniq)
        if not hit.any():
            return np.zeros(len(arr), dtype=bool)
        return _mask(pc.is_in(arr, pc.filter(uniq, pa.array(hit))), len(arr))

    def _found_distinct(self, arr) -> np.ndarray:
        import pyarrow.compute as pc

        n = len(arr)
        found = _nhs_inside_arrow(arr)  # whole cells too
        if len(self._shapes):
            norm = _normalise_arrow(arr)
            idx = np.flatnonzero(_mask(pc.is_in(pc.utf8_length(norm), self._lengths), n))
            if idx.size:
                sub = norm.take(idx)
                m = len(sub)
                ons = _mask(pc.match_substring_regex(sub, _ONS_CODE), m)
                hit = _mask(pc.is_in(sub, self._known), m) | (
                    _mask(pc.is_in(_shape_arrow(sub), self._shapes), m) & ~ons)
                found[idx[hit]] = True
        return found

    def __call__(self, values: pd.Series) -> pd.Series:
        """True where a value looks like an identifier."""
        return pd.Series(self._found(_arrow_text(values)), index=values.index)

    def scrub(self, values: pd.Series, pseudonymiser: "Pseudonymiser | None", *,
              found: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
        """``values`` with every identifier found replaced by ``[id <pseudonym>]`` (or
        ``[identifier removed]`` without a pseudonymiser), and the mask of those replaced
        (``found``: the mask if already known).

        NHS numbers are pseudonymised as their ten digits, so ``943 476 5919`` gets the
        pseudonym of ``9434765919`` in an identifier column.
        """
        found = self(values) if found is None else found
        if not found.any():
            return values, found
        text = _cell_text(values[found])
        inside = pd.Series(_nhs_inside_arrow(_arrow_text(text)), index=text.index) & ~nhs_number_valid(text) & ~self(text.str.replace(
            _NHS_INSIDE, "", regex=True).fillna(""))
        whole = text[~inside]

        def mark(ids: pd.Series) -> pd.Series:
            if pseudonymiser is None:
                return pd.Series(REMOVED, index=ids.index, dtype=object)
            nhs = nhs_number_valid(ids)
            ids = ids.where(~nhs, ids.str.replace(r"[^0-9]", "", regex=True))
            return "[id " + pseudonymiser(ids).astype(object) + "]"

        marked = pd.Series(pd.NA, index=text.index, dtype=object)
        marked[~inside] = mark(whole).to_numpy(dtype=object)
        if inside.any():  # an NHS number inside other text: that number replaced
            import re

            def repl(m):
                if not nhs_number_valid(pd.Series([m.group(0)])).iloc[0]:
                    return m.group(0)
                return str(mark(pd.Series([m.group(0)], dtype="string")).iloc[0])

            marked[inside] = [re.sub(_NHS_INSIDE, repl, t) for t in text[inside]]
        out = values.astype(object) if not isinstance(values.dtype, pd.StringDtype) else values.copy()
        out[found] = marked.to_numpy(dtype=object)
        return out, found


def redact_nhs_numbers(text: str) -> str:
    """``text`` with every NHS number in it (valid check digit) written ``[NHS number]``.

    Examples
    --------
    >>> redact_nhs_numbers("e.g. '943 476 5919' at f.csv line 3, 1234567890")
    "e.g. '[NHS number]' at f.csv line 3, 1234567890"
    """
    import re

    def repl(m):
        ok = nhs_number_valid(pd.Series([m.group(0)])).iloc[0]
        return "[NHS number]" if ok else m.group(0)

    return re.sub(_NHS_INSIDE, repl, str(text))


def load_key(config: "Config | None") -> bytes | None:
    """The pseudonymisation key from the environment or the key file, or ``None``.

    Parameters
    ----------
    config
        The loaded config (``privacy.key_env`` / ``privacy.key_file``); ``None`` reads only
        the default environment variable ``SNA_PSEUDONYMISATION_KEY``.

    Returns
    -------
    bytes or None
        The key (the environment variable wins over the key file); ``None`` if neither is set.

    Raises
    ------
    PrivacyError
        If ``privacy.key_file`` is configured but missing, unreadable or empty.
    """
    env_name = "SNA_PSEUDONYMISATION_KEY"
    key_file = None
    if config is not None:
        env_name = config.privacy.key_env
        key_file = config.resolve(config.privacy.key_file) if config.privacy.key_file else None
    value = os.environ.get(env_name, "").strip()
    if value:
        logger.info("pseudonymisation key from environment variable %s", env_name)
        return value.encode("utf-8")
    if key_file is not None:
        path = Path(key_file)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PrivacyError(
                "the pseudonymisation key file does not exist: create it (one line of at least "
                f"16 random characters) or set the environment variable {env_name}",
                file=path, key="privacy.key_file",
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise PrivacyError(f"cannot read the pseudonymisation key file: {exc}",
                               file=path, key="privacy.key_file") from None
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if not lines:
            raise PrivacyError("the pseudonymisation key file is empty: put the key on its "
                               "first line (lines starting with # are comments)",
                               file=path, key="privacy.key_file")
        logger.info("pseudonymisation key from file %s", path)
        return lines[0].encode("utf-8")
    return None


def pseudonymiser(config: "Config | None", *, source: str | None = None,
                  columns: list[str] | None = None, file: object | None = None) -> Pseudonymiser:
    """The configured :class:`Pseudonymiser`, or a :class:`PrivacyError` if there is no key.

    Call it only when identifiers are actually present; the error names what is missing.

    Parameters
    ----------
    config
        The loaded config (or ``None`` for the default environment variable only).
    source, columns, file
        Where the identifiers are, for the error message.

    Returns
    -------
    Pseudonymiser

    Raises
    ------
    PrivacyError
        No key is configured: names ``privacy.key_env`` / ``privacy.key_file``.
    """
    key = load_key(config)
    if key is None:
        env_name = config.privacy.key_env if config is not None else "SNA_PSEUDONYMISATION_KEY"
        what = f"source {source!r}" if source else "this input"
        cols = f" (identifier columns {', '.join(repr(c) for c in columns)})" if columns else ""
        raise PrivacyError(
            f"{what} holds person or record identifiers{cols} and no pseudonymisation key is "
            f"set. sna never keeps raw identifiers: set the environment variable {env_name} "
            "(config key privacy.key_env) or point the config key privacy.key_file at a file "
            "holding the key (one line of at least 16 random characters)",
            file=file, key="privacy.key_env",
        )
    return Pseudonymiser(key)


def key_fingerprint(config: "Config | None") -> str | None:
    """Fingerprint of the configured key (for cache keys), or ``None`` without a key."""
    key = load_key(config)
    return None if key is None else Pseudonymiser(key).fingerprint


def pseudonymise(values: pd.Series, key: bytes | str, *, length: int = PSEUDONYM_LENGTH) -> pd.Series:
    """Functional form of :class:`Pseudonymiser`.

    Parameters
    ----------
    values
        Identifiers.
    key
        The secret key.
    length
        Hex characters kept (default 16).

    Returns
    -------
    pandas.Series
        ``string`` dtype, same index, ``<NA>`` for missing identifiers.

    Examples
    --------
    >>> import pandas as pd
    >>> len(pseudonymise(pd.Series(["x"]), b"0123456789abcdef", length=64)[0])
    64
    """
    return Pseudonymiser(key, length=length)(values)
