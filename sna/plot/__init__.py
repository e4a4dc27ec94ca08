"""Charts in one house style (matplotlib, colour-blind safe).

Every function returns the matplotlib ``Figure`` (and takes an optional ``ax``) so a chapter
or an analyst can restyle it. Submodules: ``style`` (palette, captions), ``stats`` (trend,
SPC, funnel, STL, ITS, Table A), ``people`` (pyramids, representation, reach, outcomes).
Imported lazily: ``import sna.plot`` does not import matplotlib until a chart is drawn.
"""

from __future__ import annotations

import importlib

_SUBMODULES = ("style", "stats", "people")


def __getattr__(name: str):
    for sub in _SUBMODULES:
        module = importlib.import_module(f".{sub}", __name__)
        if sub == name:
            return module
        if name in getattr(module, "__all__", ()):
            return getattr(module, name)
    raise AttributeError(f"module 'sna.plot' has no attribute {name!r}")
