"""sna: Serious Violence Strategic Needs Assessments, reproducible.

``import sna`` is light: the analysis modules (``sna.rates``, ``sna.hotspot``, ...) are
imported on first use.

>>> import sna
>>> sna.__version__ != ""
True
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version as _version

from .errors import SnaError

#: The distribution name on the package index (the import name is ``sna``).
DISTRIBUTION = "sna-vru"

try:
    __version__ = _version(DISTRIBUTION)
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

_SUBMODULES = {
    "areas",
    "assessment",
    "chapter",
    "clean",
    "config",
    "dataset",
    "datasets",
    "definitions",
    "disclosure",
    "engine",
    "hotspot",
    "interventions",
    "io",
    "maps",
    "people",
    "periods",
    "plot",
    "privacy",
    "quality",
    "rates",
    "report",
    "schemas",
    "spc",
    "trend",
    "errors",
}
_LAZY_NAMES = {
    "load_assessment": "assessment",
    "Assessment": "assessment",
    "load_dataset": "dataset",
    "IncidentDataset": "dataset",
    "load_config": "config",
    "Config": "config",
    "FinancialYear": "periods",
}

__all__ = [
    "__version__",
    "SnaError",
    "FinancialYear",
    "load_assessment",
    "Assessment",
    "load_dataset",
    "IncidentDataset",
    "load_config",
    "Config",
    *sorted(_SUBMODULES),
]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        module = importlib.import_module(f".{_LAZY_NAMES[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'sna' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
