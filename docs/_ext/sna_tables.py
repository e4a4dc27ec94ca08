"""Column tables of the canonical tables, generated from :mod:`sna.schemas`.

``.. sna-columns:: INCIDENT_COLUMNS`` renders the named mapping of :mod:`sna.schemas`
(``column -> (dtype, description)`` or ``column -> description``) as a table, so the
architecture page always shows the contract the code enforces.
"""

from __future__ import annotations

import importlib

from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sna_rst import parse_rst

logger = logging.getLogger(__name__)


def rows(mapping: dict) -> list[tuple[str, str, str]]:
    """(column, dtype, description) rows of a schemas mapping."""
    out = []
    for col, spec in mapping.items():
        if isinstance(spec, tuple):
            dtype, desc = spec
        else:
            dtype, desc = "", spec
        out.append((col, dtype, desc))
    return out


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|").replace("*", "\\*") or " "


class Columns(SphinxDirective):
    """``.. sna-columns:: NAME`` (optional ``:module:``, default ``sna.schemas``)."""

    required_arguments = 1
    option_spec = {"module": str, "key-title": str}

    def run(self):
        modname = self.options.get("module", "sna.schemas")
        module = importlib.import_module(modname)
        self.env.note_dependency(module.__file__)
        mapping = getattr(module, self.arguments[0], None)
        if not isinstance(mapping, dict):
            logger.warning("sna-columns: %s.%s is not a mapping of columns", modname,
                           self.arguments[0], location=self.get_location())
            return []
        data = rows(mapping)
        with_dtype = any(d for _, d, _ in data)
        lines = [".. list-table::", "   :header-rows: 1", "   :class: sna-columns", ""]
        lines += [f"   * - {self.options.get('key-title', 'column')}"] + (["     - dtype"] if with_dtype else []) + ["     - meaning"]
        for col, dtype, desc in data:
            lines += [f"   * - ``{col}``"]
            if with_dtype:
                lines += [f"     - ``{dtype}``" if dtype else "     - "]
            lines += [f"     - {_cell(desc)}"]
        return parse_rst(self, lines)


def setup(app):
    app.add_directive("sna-columns", Columns)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
