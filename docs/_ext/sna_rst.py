"""Shared helper of the sna extensions: parse generated reStructuredText into nodes.

The generated content is written as reST. Inside a MyST (Markdown) page a directive's
``state.nested_parse`` would read it as Markdown, so it is parsed in a fresh reST document
sharing the page's settings (and so Sphinx's environment, roles and directives), as MyST's
own ``eval-rst`` does.
"""

from __future__ import annotations

from docutils.parsers.rst import Parser
from docutils.utils import new_document


def parse_rst(directive, lines: list[str] | str, source: str = "generated"):
    """Parse reST text in the context of ``directive``'s page; return the nodes."""
    text = lines if isinstance(lines, str) else "\n".join(lines)
    document = directive.state.document
    doc = new_document(document.get("source", source), document.settings)
    doc.reporter = document.reporter
    Parser().parse(text + "\n", doc)
    for node in doc.children:
        if node.get("names"):
            document.note_explicit_target(node, node)
    return list(doc.children)


def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True}
