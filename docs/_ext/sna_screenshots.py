"""Screenshots of the demo report, included only when the PNG exists.

``.. sna-screenshot:: 04_trend`` shows ``_static/screenshots/04_trend.png`` as a figure
(with the directive's content as caption) when the file exists, and nothing otherwise, so
the docs never hold a broken image reference. The PNGs are produced by the browser test of
the report and copied into ``docs/_static/screenshots/``.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.util.docutils import SphinxDirective
from sna_rst import parse_rst

SCREENSHOTS = "_static/screenshots"


def screenshot_path(srcdir: str | Path, name: str) -> Path:
    return Path(srcdir) / SCREENSHOTS / f"{name}.png"


class Screenshot(SphinxDirective):
    """``.. sna-screenshot:: NAME`` with an optional caption as content."""

    required_arguments = 1
    has_content = True

    def run(self):
        path = screenshot_path(self.env.srcdir, self.arguments[0])
        self.env.note_dependency(str(path))
        if not path.exists():
            return []
        caption = "\n".join(self.content) or self.arguments[0]
        rel = "/" + f"{SCREENSHOTS}/{path.name}"
        lines = [f".. figure:: {rel}", "   :width: 320px", "   :align: right",
                 "   :class: sna-screenshot", f"   :alt: {caption.splitlines()[0]}",
                 "", f"   {caption.splitlines()[0]}"]
        return parse_rst(self, lines)


def setup(app):
    app.add_directive("sna-screenshot", Screenshot)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
