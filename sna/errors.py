"""One error hierarchy for `sna`.

Every error a user can cause is an :class:`SnaError`. The command line prints its message
(one paragraph, naming the file, line, column or config key and saying what to do) and exits
with code 2, without a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

__all__ = [
    "SnaError",
    "ConfigError",
    "InputFormatError",
    "GeographyError",
    "PrivacyError",
    "ChapterError",
    "DisclosureError",
    "AnalysisInputError",
    "OutputError",
    "EngineError",
]


class SnaError(Exception):
    """Base class of every error `sna` raises for a user to fix.

    Parameters
    ----------
    message
        What went wrong and what to do about it.
    file, line, column, key
        Where it went wrong, when known. They are appended to the message.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: object | None = None,
        line: int | None = None,
        column: str | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.line = line
        self.column = column
        self.key = key
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column {self.column!r}")
        if self.key:
            where.append(f"key {self.key!r}")
        if where:
            return f"{self.message} ({', '.join(where)})"
        return self.message


class ConfigError(SnaError):
    """The configuration file (``sna.yml``) is missing, malformed or invalid."""


class InputFormatError(SnaError):
    """An input file cannot be read as the format it claims to be."""


class GeographyError(SnaError):
    """Boundaries, lookups or codes do not fit together (e.g. mixed LSOA vintages)."""


class PrivacyError(SnaError):
    """Identifiers would be exposed (e.g. no pseudonymisation key is configured)."""


class ChapterError(SnaError):
    """A chapter notebook failed or cannot be run with the given parameters."""

    exit_code = 1


class DisclosureError(SnaError):
    """A table cannot be made safe to publish under the configured rule."""


class AnalysisInputError(SnaError, ValueError):
    """Bad input to an analysis function (negative counts, zero denominators, too few points)."""


class OutputError(SnaError):
    """An output or cache folder cannot be written: the disk is full, the folder is read-only,
    or another run holds it."""


class EngineError(SnaError):
    """The Dask engine cannot start or reach its cluster: the ``LocalCluster``'s worker
    processes failed to start (most often a script without ``if __name__ == "__main__":``),
    or the scheduler named in ``engine.scheduler`` does not answer."""
