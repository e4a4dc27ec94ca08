"""The QualityLog and the quarantine: nothing is lost silently.

For every source, ``rows_read == rows_kept + sum(set_aside.values())`` is enforced when the
entry is recorded (:meth:`QualityLog.add` raises otherwise). Each set-aside row is kept in the
quarantine with its file, line and reason.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import pandas as pd

from .schemas import QUARANTINE_COLUMNS

__all__ = ["SourceQuality", "QualityLog", "empty_quarantine", "ReconciliationError"]


class ReconciliationError(AssertionError):
    """rows read != rows kept + rows set aside: a bug in sna, never a user error."""


@dataclass
class SourceQuality:
    """Quality figures of one source."""

    name: str
    format: str
    rows_read: int
    rows_kept: int
    set_aside: dict[str, int] = field(default_factory=dict)
    months: list[str] = field(default_factory=list)
    missing_months: list[str] = field(default_factory=list)
    share_geocoded: float = float("nan")
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: rows identical to an earlier row of the source (kept: real records), when counted
    duplicate_rows: int | None = None

    def check(self) -> None:
        total = self.rows_kept + sum(self.set_aside.values())
        if total != self.rows_read:
            raise ReconciliationError(
                f"source {self.name!r}: rows read {self.rows_read} != rows kept {self.rows_kept}"
                f" + set aside {sum(self.set_aside.values())} {self.set_aside}"
            )

    @property
    def rows_set_aside(self) -> int:
        return int(sum(self.set_aside.values()))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["set_aside"] = {k: int(v) for k, v in sorted(self.set_aside.items())}
        d["share_geocoded"] = None if pd.isna(self.share_geocoded) else round(float(self.share_geocoded), 6)
        return d


@dataclass
class QualityLog:
    """Per-source quality figures plus a summary of the geography."""

    sources: dict[str, SourceQuality] = field(default_factory=dict)
    geography: dict = field(default_factory=dict)
    synthetic: bool = False

    def add(self, entry: SourceQuality) -> None:
        entry.check()
        self.sources[entry.name] = entry

    def to_dict(self) -> dict:
        return {
            "synthetic": self.synthetic,
            "sources": {k: v.to_dict() for k, v in self.sources.items()},
            "geography": self.geography,
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **({"indent": 2} | kwargs))

    @classmethod
    def from_dict(cls, d: dict) -> "QualityLog":
        log = cls(geography=d.get("geography", {}), synthetic=d.get("synthetic", False))
        for name, s in d.get("sources", {}).items():
            s = dict(s)
            if s.get("share_geocoded") is None:
                s["share_geocoded"] = float("nan")
            log.add(SourceQuality(**s))
        return log

    def to_frame(self) -> pd.DataFrame:
        """One row per source and reason: a tidy table for the data-quality chapter."""
        rows = []
        for s in self.sources.values():
            rows.append({"source": s.name, "format": s.format, "rows_read": s.rows_read,
                         "rows_kept": s.rows_kept, "rows_set_aside": s.rows_set_aside,
                         "months": len(s.months), "missing_months": len(s.missing_months),
                         "share_geocoded": s.share_geocoded})
        return pd.DataFrame(rows)

    def set_aside_frame(self) -> pd.DataFrame:
        rows = [{"source": s.name, "reason": r, "rows": n}
                for s in self.sources.values() for r, n in sorted(s.set_aside.items())]
        return pd.DataFrame(rows, columns=["source", "reason", "rows"])


def empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=d) for c, (d, _) in QUARANTINE_COLUMNS.items()})
