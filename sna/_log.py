"""The package logger. Library code logs; it never prints."""

from __future__ import annotations

import logging

logger = logging.getLogger("sna")
logger.addHandler(logging.NullHandler())


def record(obj, key: str, value) -> None:
    """Record an automatic choice in ``obj.attrs["sna"]`` and log it."""
    meta = obj.attrs.setdefault("sna", {})
    meta[key] = value
    logger.info("%s = %r", key, value)
