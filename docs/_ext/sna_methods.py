"""Methods and reference tables pulled from the code, so the docs say what the code does.

``.. sna-method:: sna.rates.crude_rate``
    the function's one-line summary, its keyword defaults (from the signature), and the
    *Notes* and *References* sections of its numpydoc docstring (formula and source), with a
    link to the full API entry.
``.. sna-cli::``
    the command-line reference, generated from :func:`sna.cli.build_parser`.
``.. sna-fields:: police_extract``
    the canonical fields of a partner format, from :data:`sna.io.partner.FIELDS`: whether
    required, how parsed, the header spellings recognised without a mapping.
``.. sna-value:: sna.disclosure.DSR_MIN_EVENTS``
    (role ``sna-value``) the value of a constant, inline, so a number in the prose cannot
    drift from the code.
"""

from __future__ import annotations

import importlib
import inspect

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sna_rst import parse_rst

logger = logging.getLogger(__name__)


def resolve(dotted: str):
    """Import ``a.b.c`` as module ``a.b`` attribute ``c`` (or deeper)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def defaults(func) -> list[str]:
    """``name=value`` for every parameter with a default."""
    out = []
    for p in inspect.signature(func).parameters.values():
        if p.default is not inspect.Parameter.empty:
            out.append(f"{p.name}={p.default!r}")
    return out


class Method(SphinxDirective):
    """``.. sna-method:: dotted.name``"""

    required_arguments = 1

    def run(self):
        from numpydoc.docscrape import FunctionDoc

        name = self.arguments[0]
        try:
            func = resolve(name)
        except (ImportError, AttributeError) as exc:
            logger.warning("sna-method: cannot import %s (%s)", name, exc,
                           location=self.get_location())
            return []
        self.env.note_dependency(inspect.getsourcefile(func))
        doc = FunctionDoc(func)
        summary = " ".join(doc["Summary"])
        # relative references in the docstring (:func:`nb_year_effect`) resolve against the
        # function's own module, as on its API page
        lines = [f".. currentmodule:: {func.__module__}", "",
                 f"{summary} (:py:func:`{name}`)", ""]
        defs = defaults(func)
        if defs:
            lines += ["**Defaults:** " + ", ".join(f"``{d}``" for d in defs) + ".", ""]
        if name in self.config.sna_docstring_quarantine:
            lines += ["The method's notes do not render in this build yet; read them in "
                      "Python with help().", ""]
        elif doc["Notes"]:
            lines += ["**Method:**", ""] + list(doc["Notes"]) + [""]
        if doc["References"]:
            lines += ["**References:**", ""] + list(doc["References"]) + [""]
        return parse_rst(self, lines)


class Cli(SphinxDirective):
    """``.. sna-cli::``: every command and option of ``sna``, from the argparse parser."""

    def run(self):
        import argparse

        from sna.cli import build_parser

        self.env.note_dependency(inspect.getsourcefile(build_parser))
        parser = build_parser()
        lines: list[str] = []
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        helps = {c.dest: c.help for c in sub._choices_actions}
        lines += ["Options of ``sna`` itself:", ""]
        lines += _options(parser, skip_sub=True)
        for name, p in sub.choices.items():
            title = f"``sna {name}``"
            lines += ["", title, "~" * len(title), "", (helps.get(name) or "") + ".", ""]
            usage = p.format_usage().replace("usage: ", "").strip()
            lines += [".. code-block:: text", "", "   " + " ".join(usage.split()), ""]
            lines += _options(p)
        return parse_rst(self, lines)


def _options(parser, skip_sub: bool = False) -> list[str]:
    import argparse

    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 30 70", "",
             "   * - option", "     - meaning"]
    n = 0
    for a in parser._actions:
        if isinstance(a, argparse._HelpAction) or (skip_sub and isinstance(a, argparse._SubParsersAction)):
            continue
        if a.option_strings:
            metavar = "" if a.nargs == 0 else " " + (a.metavar or a.dest.upper())
            flag = ", ".join(f"{o}{metavar}" for o in a.option_strings)
        else:
            flag = a.metavar or a.dest.upper()
        text = a.help or ""
        if a.choices and not isinstance(a, argparse._SubParsersAction):
            text += " (one of: " + ", ".join(map(str, a.choices)) + ")"
        if a.required:
            text += " (required)"
        lines += [f"   * - ``{flag}``", f"     - {text}"]
        n += 1
    return (lines + [""]) if n else []


class Fields(SphinxDirective):
    """``.. sna-fields:: FORMAT``: the canonical fields of a partner format."""

    required_arguments = 1

    def run(self):
        from sna.io import partner as mapping

        self.env.note_dependency(mapping.__file__)
        fmt = self.arguments[0]
        fields = mapping.FIELDS.get(fmt)
        if fields is None:
            logger.warning("sna-fields: no format %r in sna.io.partner.FIELDS (has: %s)", fmt,
                           ", ".join(mapping.FIELDS), location=self.get_location())
            return []
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 18 10 32 40",
                 "   :class: sna-columns", "",
                 "   * - field", "     - required", "     - holds", "     - headers recognised"]
        for f in fields:
            aliases = ", ".join(f"``{a}``" for a in f.aliases) or "–"
            desc = " ".join(f.description.split()).replace("*", "\\*")
            lines += [f"   * - ``{f.name}``", f"     - {'yes' if f.required else ''}",
                      f"     - {desc} *({f.kind})*", f"     - {aliases}"]
        return parse_rst(self, lines)


def value_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    try:
        value = resolve(text)
    except (ImportError, AttributeError) as exc:
        msg = inliner.reporter.warning(f"sna-value: cannot import {text} ({exc})", line=lineno)
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    return [nodes.Text(show_value(value))], []


def show_value(value) -> str:
    """A constant as a reader writes it: ``10,000``, ``6 hours``."""
    if hasattr(value, "total_seconds"):
        seconds = value.total_seconds()
        for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
            if seconds >= size and seconds % size == 0:
                n = int(seconds // size)
                return f"{n} {unit[:-1] if n == 1 else unit}"
        return f"{seconds:g} seconds"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


class ValueList(SphinxDirective):
    """``.. sna-value-list:: dotted.NAME``: a tuple or list constant as a list of literals."""

    required_arguments = 1

    def run(self):
        try:
            values = resolve(self.arguments[0])
        except (ImportError, AttributeError) as exc:
            logger.warning("sna-value-list: cannot import %s (%s)", self.arguments[0], exc,
                           location=self.get_location())
            return []
        text = ", ".join(f"``{v}``" for v in values)
        return parse_rst(self, [text])


def setup(app):
    app.add_directive("sna-method", Method)
    app.add_directive("sna-cli", Cli)
    app.add_directive("sna-fields", Fields)
    app.add_role("sna-value", value_role)
    app.add_directive("sna-value-list", ValueList)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
