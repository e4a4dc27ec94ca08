"""Former name of :mod:`sna.io.partner` (partner data: the column mapping and the readers).

Kept so that code written for it still imports; new code imports :mod:`sna.io.partner`.
"""

from __future__ import annotations

from .partner import *  # noqa: F403 - the same public names
from .partner import __all__  # noqa: F401
