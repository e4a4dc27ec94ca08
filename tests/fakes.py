"""A faked preparation of the assessment for tests of the runner (the fixture notebooks do
not load it): ``sna.report.batch._prepare`` replaced by :func:`fake_prepare`."""

from __future__ import annotations

import types
from pathlib import Path

import pandas as pd

from sna.periods import FinancialYear

#: Set-aside rows of the faked assessment (file a.csv): line and reason.
QUARANTINE = [(2, "out_of_area"), (3, "out_of_area"), (9, "no_location")]


def fake_prepare(cache_root: Path, key: str = "key123", seconds: float = 0.0):
    """A ``_prepare(cfg, year, progress)`` that writes a one-file cache under ``cache_root/key``
    and returns a stand-in assessment; with ``seconds``, it writes ``cache_root/preparing``
    and then takes that long."""
    def prepare(cfg, year, progress=None):
        import time

        cache = Path(cache_root) / key
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "incidents.parquet").write_bytes(b"PAR1 fake")
        if seconds:
            (Path(cache_root) / "preparing").write_text("yes")
            time.sleep(seconds)
        quarantine = pd.DataFrame({"source": "police", "file": "a.csv",
                                   "line": [line for line, _ in QUARANTINE],
                                   "reason": [reason for _, reason in QUARANTINE],
                                   "detail": "", "record": "{}"})
        fake = types.SimpleNamespace(year=FinancialYear.parse(year or "2018/19"), synthetic=False,
                                     quarantine=quarantine, cache_key=key, cache_path=cache,
                                     config=cfg)
        return fake, False
    return prepare
