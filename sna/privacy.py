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
