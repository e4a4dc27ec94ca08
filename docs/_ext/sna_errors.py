"""Troubleshooting pages generated from the sources, so the list of errors stays complete.

The package is scanned (with :mod:`ast`, nothing is executed) for every class derived from
:class:`sna.errors.SnaError` and for every place one is constructed (``raise XError(...)``,
``return XError(...)``, ``err = XError(...)``). ``ValueError`` raised inside pydantic
validators is listed under ``ConfigError``, which is what the user sees.

Directives:

``.. sna-error-classes::``
    a table of the hierarchy: class, parent, exit code, meaning.
``.. sna-error-messages:: ConfigError``
    every message of that class with where it is raised. Placeholders filled at run time
    are shown as ``{expression}``.
``.. sna-config-error::`` (content: a YAML config)
    loads the config with :func:`sna.config.load_config` at build time and shows the real
    message (the build fails if the config does not raise :class:`sna.errors.ConfigError`).

At the end of reading, every error class that is raised somewhere must have been documented
by a ``sna-error-messages`` directive, otherwise the build warns (and ``-W`` fails it).
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sna_rst import parse_rst

logger = logging.getLogger(__name__)

ROOT_CLASS = "SnaError"
#: Keyword arguments of SnaError that locate the problem; shown as "names the file" etc.
WHERE_KEYWORDS = ("file", "line", "column", "key")


def package_dir() -> Path:
    import sna

    return Path(sna.__file__).resolve().parent


@dataclass(frozen=True)
class ErrorClass:
    name: str
    base: str
    module: str
    doc: str


@dataclass(frozen=True)
class Raised:
    cls: str
    module: str
    path: str  # relative to the repository, e.g. sna/config.py
    line: int
    function: str
    message: str
    where: tuple[str, ...]
    via_validator: bool = False


def _module_name(path: Path, pkg: Path) -> str:
    rel = path.relative_to(pkg.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _files(pkg: Path) -> list[Path]:
    return sorted(p for p in pkg.rglob("*.py") if "__pycache__" not in p.parts)


def _parse(path: Path):
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        logger.warning("sna_errors: cannot parse %s: %s", path, exc)
        return None


def error_classes(pkg: Path | None = None) -> dict[str, ErrorClass]:
    """Every class in the package derived (directly or not) from SnaError, by name."""
    pkg = pkg or package_dir()
    found: dict[str, ErrorClass] = {}
    defs = []
    for path in _files(pkg):
        tree = _parse(path)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
                defs.append((node, bases, _module_name(path, pkg)))
    for node, bases, module in defs:
        if node.name == ROOT_CLASS:
            found[node.name] = ErrorClass(node.name, "Exception", module, ast.get_docstring(node) or "")
    changed = True
    while changed:
        changed = False
        for node, bases, module in defs:
            if node.name in found:
                continue
            parent = next((b for b in bases if b in found), None)
            if parent:
                found[node.name] = ErrorClass(node.name, parent, module, ast.get_docstring(node) or "")
                changed = True
    return found


def render_message(node: ast.expr | None) -> str:
    """The message as the user reads it, with run-time parts as ``{expression}``."""
    if node is None:
        return ""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        out = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                out.append(str(part.value))
            elif isinstance(part, ast.FormattedValue):
                out.append("{" + ast.unparse(part.value) + "}")
        return "".join(out)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return render_message(node.left) + render_message(node.right)
    return "{" + ast.unparse(node) + "}"


class _Scanner(ast.NodeVisitor):
    def __init__(self, classes, module, relpath):
        self.classes = classes
        self.module = module
        self.relpath = relpath
        self.stack: list[str] = []
        self.validator_depth = 0
        self.found: list[Raised] = []

    def _visit_function(self, node):
        is_validator = any(
            "validator" in ast.unparse(d.func if isinstance(d, ast.Call) else d)
            for d in node.decorator_list
        )
        self.stack.append(node.name)
        self.validator_depth += is_validator
        self.generic_visit(node)
        self.validator_depth -= is_validator
        self.stack.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = _visit_function

    def visit_ClassDef(self, node):
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    def visit_Call(self, node):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        via_validator = False
        if name == "ValueError" and self.validator_depth:
            name, via_validator = "ConfigError", True
        if name in self.classes:
            msg_node = node.args[0] if node.args else next(
                (k.value for k in node.keywords if k.arg == "message"), None)
            where = tuple(k.arg for k in node.keywords if k.arg in WHERE_KEYWORDS)
            self.found.append(Raised(
                cls=name, module=self.module, path=self.relpath, line=node.lineno,
                function=".".join(self.stack) or "<module>", message=render_message(msg_node),
                where=where, via_validator=via_validator,
            ))
        self.generic_visit(node)


def scan(pkg: Path | None = None) -> list[Raised]:
    """Every construction of an SnaError subclass in the package, in file order."""
    pkg = pkg or package_dir()
    stamp = tuple((str(p), p.stat().st_mtime_ns) for p in _files(pkg))
    return list(_scan_cached(pkg, stamp))


@functools.lru_cache(maxsize=4)
def _scan_cached(pkg: Path, stamp: tuple) -> tuple[Raised, ...]:
    classes = error_classes(pkg)
    out: list[Raised] = []
    for path in _files(pkg):
        tree = _parse(path)
        if tree is None:
            continue
        relpath = path.relative_to(pkg.parent).as_posix()
        scanner = _Scanner(classes, _module_name(path, pkg), relpath)
        scanner.visit(tree)
        out += scanner.found
    return tuple(out)


def _literal(text: str) -> str:
    """Inline literal safe for reST."""
    text = " ".join(text.split())
    if not text:
        return "*(no message)*"
    return ":sna-msg:`" + text.replace("\\", "\\\\").replace("`", "\\`") + "`"


class ErrorClasses(SphinxDirective):
    """``.. sna-error-classes::``"""

    def run(self):
        import importlib

        classes = error_classes()
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 20 20 10 50", "",
                 "   * - error", "     - is a", "     - exit code", "     - meaning"]
        for c in classes.values():
            mod = importlib.import_module(c.module)
            code = getattr(getattr(mod, c.name, None), "exit_code", "")
            first = c.doc.strip().split("\n\n")[0].replace("\n", " ") if c.doc else ""
            lines += [f"   * - :py:class:`~{c.module}.{c.name}`",
                      f"     - ``{c.base}``", f"     - {code}", f"     - {first}"]
        for path in _files(package_dir()):
            self.env.note_dependency(str(path))
        return parse_rst(self, lines)


class ErrorMessages(SphinxDirective):
    """``.. sna-error-messages:: ClassName``"""

    required_arguments = 1

    def run(self):
        name = self.arguments[0]
        classes = error_classes()
        if name not in classes:
            logger.warning("sna-error-messages: %s is not an SnaError subclass in sna/", name,
                           location=self.get_location())
            return []
        _documented(self.env).setdefault(self.env.docname, set()).add(name)
        for path in _files(package_dir()):
            self.env.note_dependency(str(path))
        return parse_rst(self, message_table(name))


def _documented(env) -> dict[str, set[str]]:
    if not hasattr(env, "sna_errors_documented") or not isinstance(env.sna_errors_documented, dict):
        env.sna_errors_documented = {}
    return env.sna_errors_documented


def message_table(name: str) -> list[str]:
    """reST lines: the table of every message of error class ``name``."""
    raised = [r for r in scan() if r.cls == name]
    if not raised:
        return [f"No message of ``{name}`` is raised by sna at present."]
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 62 38", "",
             "   * - message", "     - raised in"]
    for r in raised:
        extra = []
        if r.where:
            extra.append("names the " + ", ".join(r.where))
        if r.via_validator:
            extra.append("reported as a ``ConfigError`` naming the key")
        note = f" ({'; '.join(extra)})" if extra else ""
        lines += [f"   * - {_literal(r.message)}{note}",
                  f"     - ``{r.module}`` ``{r.function}`` (``{r.path}:{r.line}``)"]
    return lines


class RemainingErrors(SphinxDirective):
    """``.. sna-error-remaining::``: a section for every error class not documented above.

    Put it at the end of the troubleshooting page: an error class added to sna later gets
    its docstring and messages here until someone writes advice for it.
    """

    def run(self):
        done = _documented(self.env)
        documented = set().union(*done.values()) if done else set()
        for path in _files(package_dir()):
            self.env.note_dependency(str(path))
        lines: list[str] = []
        for c in error_classes().values():
            if c.name in documented:
                continue
            done.setdefault(self.env.docname, set()).add(c.name)
            title = f"``{c.name}``"
            lines += [title, "-" * len(title), "",
                      f"Defined in ``{c.module}``; a kind of ``{c.base}``.", ""]
            doc = " ".join(c.doc.strip().split("\n\n")[0].split()) if c.doc else ""
            if doc:
                lines += [doc, ""]
            lines += message_table(c.name) + [""]
        if not lines:
            return []
        return parse_rst(self, lines)


class ConfigErrorExample(SphinxDirective):
    """``.. sna-config-error::`` with a YAML config as content: shows the real message."""

    has_content = True

    def run(self):
        import textwrap

        import yaml

        from sna.config import load_config
        from sna.errors import ConfigError

        text = "\n".join(self.content)
        data = yaml.safe_load(text)
        try:
            load_config(data)
        except ConfigError as exc:
            message = str(exc)
        else:
            logger.warning("sna-config-error: this config is valid, so it shows no error",
                           location=self.get_location())
            return []
        yml = nodes.literal_block(text, text, language="yaml")
        wrapped = "\n".join(textwrap.wrap("ConfigError: " + message, width=90))
        out = nodes.literal_block(wrapped, wrapped, language="text")
        return [yml, out]


def msg_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    from docutils.utils import unescape

    node = nodes.literal(rawtext, unescape(text), classes=["sna-error-message"])
    return [node], []


def merge(app, env, docnames, other):
    mine = _documented(env)
    for docname, names in _documented(other).items():
        if docname in docnames:
            mine[docname] = names


def purge(app, env, docname):
    _documented(env).pop(docname, None)


def check_complete(app, env):
    documented = set().union(*_documented(env).values()) if _documented(env) else set()
    raised = {r.cls for r in scan()}
    for name in sorted(raised - documented):
        logger.warning("sna_errors: %s is raised in sna/ but has no sna-error-messages section "
                       "in the troubleshooting page", name)


def setup(app):
    app.add_role("sna-msg", msg_role)
    app.add_directive("sna-error-classes", ErrorClasses)
    app.add_directive("sna-error-messages", ErrorMessages)
    app.add_directive("sna-config-error", ConfigErrorExample)
    app.add_directive("sna-error-remaining", RemainingErrors)
    app.connect("env-merge-info", merge)
    app.connect("env-purge-doc", purge)
    app.connect("env-check-consistency", check_complete)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 2}
