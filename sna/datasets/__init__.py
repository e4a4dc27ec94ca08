"""Bundled datasets.

- ``nottingham-sample``: real data.police.uk records for Nottingham city (OGL v3.0);
- ``demo``: the synthetic multi-year Nottinghamshire assessment (see its README);
- ``reference``: national LSOA / district / CSP lookups (OGL v3.0).

>>> from sna import datasets
>>> datasets.nottingham_sample_config().name
'sna.yml'
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATASETS_DIR", "nottingham_sample_config", "demo_config", "reference_path"]

DATASETS_DIR = Path(__file__).resolve().parent


def nottingham_sample_config() -> Path:
    """Path of the config of the real ``nottingham-sample`` dataset."""
    return DATASETS_DIR / "nottingham-sample" / "sna.yml"


def demo_config() -> Path:
    """Path of the config of the synthetic demo assessment (the default of ``sna run``)."""
    path = DATASETS_DIR / "demo" / "sna.yml"
    if path.exists():
        return path
    return nottingham_sample_config()


def reference_path(name: str) -> Path:
    """Path of a bundled reference lookup, e.g. ``reference_path("lookup_lsoa11_ltla21.csv.gz")``."""
    path = DATASETS_DIR / "reference" / name
    if not path.exists():
        raise FileNotFoundError(path)
    return path
