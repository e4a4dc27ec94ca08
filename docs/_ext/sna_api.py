"""Write one API page per public module of ``sna``, so the reference follows the code.

At ``builder-inited`` every importable public module (no ``_private`` part in its dotted
name) gets ``api/generated/<module>.rst`` with an autosummary table of its public names and
``automodule``. Stale pages of removed modules are deleted. A module that fails to import is
a build warning (so ``-W`` fails), never a silent gap.

Public names re-exported from the top level (``sna.Config`` for ``sna.config.Config``) are
made resolvable by a ``missing-reference`` handler, so docstrings may use either spelling.

Objects whose docstrings cannot be rendered yet can be listed in ``sna_api_exclude`` (in
``conf.py``) by their full dotted name; each exclusion must be reported to the module owner.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import re
from pathlib import Path

from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sna_rst import parse_rst

logger = logging.getLogger(__name__)

GENERATED = "api/generated"


def public_modules(package: str = "sna") -> list[str]:
    """Dotted names of the public modules of ``package`` that exist on disk."""
    pkg = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(pkg.__path__, prefix=package + ".", onerror=lambda n: None):
        if _is_private(info.name):
            continue
        names.append(info.name)
    return sorted(names)


def _is_private(modname: str) -> bool:
    return any(part.startswith("_") for part in modname.split("."))


def public_names(module) -> list[str]:
    """The public names a module offers: ``__all__`` or its own public functions/classes."""
    if hasattr(module, "__all__"):
        return [n for n in module.__all__ if not n.startswith("__")]
    out = []
    for name, obj in vars(module).items():
        if name.startswith("_"):
            continue
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module.__name__:
            out.append(name)
    return out


def classify(module) -> tuple[list[str], dict[str, str], list[str]]:
    """Split a module's public names into (documented here, re-exports -> home, failures).

    A name is documented on this module's page when it is defined here or in a private
    module; a name defined in another public module is a re-export, linked to its home.
    Submodules listed in ``__all__`` are left to their own pages.
    """
    here, elsewhere, failed = [], {}, []
    for name in public_names(module):
        if hasattr(module, "__path__") and importlib.util.find_spec(f"{module.__name__}.{name}"):
            continue  # a submodule: it has its own page
        try:
            obj = getattr(module, name)
        except Exception as exc:  # noqa: BLE001 - reported as a build warning
            failed.append(f"{name} ({type(exc).__name__}: {exc})")
            continue
        if inspect.ismodule(obj):
            continue
        home = getattr(obj, "__module__", None) if (inspect.isclass(obj) or callable(obj)) else None
        if home and home != module.__name__ and home.startswith("sna") and not _is_private(home):
            elsewhere[name] = f"{home}.{getattr(obj, '__qualname__', name)}"
        else:
            here.append(name)
    return here, elsewhere, failed


def _title(text: str) -> str:
    return f"{text}\n{'=' * len(text)}\n"


def _module_page(name: str, module, exclude: set[str]) -> str:
    here, elsewhere, failed = classify(module)
    for item in failed:
        logger.warning("sna_api: %s.%s cannot be imported; it is left out of the API page",
                       name, item)
    here = [n for n in here if f"{name}.{n}" not in exclude]
    lines = [f".. title:: {name}", "", _title(f"``{name}``")]
    lines += [f".. automodule:: {name}", "   :no-members:", ""]
    if here:
        lines += [f".. currentmodule:: {name}", "", ".. autosummary::", ""]
        lines += [f"   {n}" for n in here]
        lines.append("")
    if elsewhere:
        lines += ["Also available here" if here else "Public names", "-" * 19 if here else "-" * 12,
                  "", "These names are defined in another module and documented there.", "",
                  ".. list-table::", "   :header-rows: 1", "",
                  "   * - name", "     - documented as"]
        for n, target in elsewhere.items():
            lines += [f"   * - ``{name}.{n}``", f"     - :py:obj:`{target}`"]
        lines.append("")
    for n in here:
        lines += [f".. auto{_kind(module, n)}:: {name}.{n}", ""]
    return "\n".join(lines) + "\n"


def _kind(module, name: str) -> str:
    obj = getattr(module, name)
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if callable(obj):
        return "function"
    return "data"


def write_pages(app) -> None:
    srcdir = Path(app.srcdir)
    outdir = srcdir / GENERATED
    outdir.mkdir(parents=True, exist_ok=True)
    exclude = set(app.config.sna_api_exclude)
    wanted: dict[str, str] = {}
    for name in public_modules():
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - reported as a build warning
            logger.warning("sna_api: cannot import %s (%s: %s); its API page is missing",
                           name, type(exc).__name__, exc)
            continue
        wanted[f"{name}.rst"] = _module_page(name, module, exclude)
    for path in outdir.glob("*.rst"):
        if path.name not in wanted:
            path.unlink()
    for fname, text in wanted.items():
        path = outdir / fname
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def resolve_reexports(app, env, node, contnode):
    """Resolve a re-exported name to where it is documented.

    ``sna.Config`` -> ``sna.config.Config``, ``sna.plot.spc_chart`` ->
    ``sna.plot.stats.spc_chart``: the object is imported and its ``__module__`` and
    ``__qualname__`` name its home. Docstrings may use either spelling.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target.startswith("sna."):
        return _resolve_in_package(app, env, node, contnode, target)
    home = _home_of(target)
    if home is None or home == target:
        return None
    return _retarget(app, env, node, contnode, home)


def _resolve_in_package(app, env, node, contnode, target: str):
    """A bare name in the docstring of a module of a package (``apply`` in
    ``sna.disclosure.publish``): the module's name, then its package's, and so on up to ``sna``
    (``sna.disclosure.apply``, re-exported from ``sna.disclosure.rules``)."""
    module = node.get("py:module") or ""
    if not target or "." in target or not (module == "sna" or module.startswith("sna.")):
        return None
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i] + [target])
        home = _home_of(candidate)
        if home is not None:
            return _retarget(app, env, node, contnode, home)
        found = _retarget(app, env, node, contnode, candidate)  # a constant documented there
        if found is not None:
            return found
    return None


def _home_of(target: str) -> str | None:
    parts = target.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except Exception:  # noqa: BLE001 - not a module: try a shorter prefix
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except Exception:  # noqa: BLE001 - no such name: a genuinely broken reference
            return None
        module = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None)
        if inspect.ismodule(obj) or not module or not qualname:
            return None
        return f"{module}.{qualname}"
    return None


def resolve_error_names(app, env, node, contnode):
    """Resolve a bare error class name (``PrivacyError``) to :mod:`sna.errors`."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if "." in target:
        return None
    import sna.errors

    if target in getattr(sna.errors, "__all__", ()):
        return _retarget(app, env, node, contnode, f"sna.errors.{target}")
    return None


def _retarget(app, env, node, contnode, new_target):
    domain = env.get_domain("py")
    new = node.deepcopy()
    new["reftarget"] = new_target
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"],
                               new["reftarget"], new, contnode)


def skip_member(app, what, name, obj, skip, options):
    """Hide pydantic plumbing (``model_*``) from the config classes."""
    if name.startswith("model_"):
        return True
    return None


class Modules(SphinxDirective):
    """``.. sna-modules::``: a table of the public modules with their one-line summaries."""

    def run(self):
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 25 75", "",
                 "   * - module", "     - holds"]
        for name in public_modules():
            if name == "sna":
                continue
            try:
                module = importlib.import_module(name)
            except Exception:  # noqa: BLE001 - write_pages already warned
                continue
            self.env.note_dependency(module.__file__)
            doc = (inspect.getdoc(module) or "").strip().split("\n\n")[0].replace("\n", " ")
            # a bare name in a module's summary is one of that module's names
            doc = re.sub(r":(\w+):`(\w+)`", lambda m: f":{m[1]}:`~{name}.{m[2]}`", doc)
            lines += [f"   * - :py:mod:`{name}`", f"     - {doc}"]
        return parse_rst(self, lines)


def dataclass_signature(app, what, name, obj, options, signature, return_annotation):
    """Write dataclass ``default_factory`` defaults as Python (``dict()``), not ``<factory>``.

    ``<factory>`` is not valid Python, so Sphinx would fall back to splitting the signature
    at every comma and break annotations such as ``dict[str, int]``.
    """
    if not signature or "<factory>" not in signature:
        return None
    import dataclasses

    target = obj if inspect.isclass(obj) else None
    fields = dataclasses.fields(target) if target and dataclasses.is_dataclass(target) else ()
    for f in fields:
        if f.init and f.default_factory is not dataclasses.MISSING:
            factory = getattr(f.default_factory, "__name__", "")
            text = f"{factory}()" if factory.isidentifier() else "..."
            signature = signature.replace("<factory>", text, 1)
    return signature.replace("<factory>", "..."), return_annotation


def quarantine_docstring(app, what, name, obj, options, lines):
    """Replace the docstring of an object listed in ``sna_docstring_quarantine`` (conf.py).

    For docstrings that do not render yet (their owner is told); the object itself stays in
    the reference with its signature, and every other warning still fails the build.
    """
    reason = app.config.sna_docstring_quarantine.get(name)
    if reason is None:
        return
    del reason  # kept in conf.py for the owner; not rendered (it may hold broken markup)
    lines[:] = ["Documentation not rendered in this build, because its docstring does not "
                "render yet. Read it in Python with help().", ""]


def reexported_data_docstring(app, what, name, obj, options, lines):
    """The ``#:`` comment of a constant documented where it is re-exported.

    ``sna.people.NOT_KNOWN`` is defined (with its ``#:`` comment) in ``sna._tabulate``; autodoc
    reads comments only from the module it documents, and would show ``str``'s docstring. The
    comment is looked up in the modules of sna that hold the same object.
    """
    if what != "data" or not name.startswith("sna."):
        return
    modname, _, attr = name.rpartition(".")
    home = _attribute_doc(modname, attr, obj)
    if home is not None:
        lines[:] = home + [""]


def _attribute_doc(modname: str, attr: str, obj) -> list[str] | None:
    """The ``#:`` comment of ``attr`` in ``modname``, or in another sna module holding the
    same object; None when ``modname`` documents it itself or none does."""
    import sys

    from sphinx.pycode import ModuleAnalyzer
    from sphinx.errors import PycodeError

    def docs_of(name):
        try:
            return ModuleAnalyzer.for_module(name).find_attr_docs().get(("", attr))
        except PycodeError:
            return None

    if docs_of(modname):
        return None
    for other in sorted(m for m in list(sys.modules) if m == "sna" or m.startswith("sna.")):
        if other != modname and getattr(sys.modules[other], attr, None) is obj:
            found = docs_of(other)
            if found:
                return list(found)
    return None


def setup(app):
    app.add_config_value("sna_docstring_quarantine", {}, "env")
    app.connect("autodoc-process-docstring", quarantine_docstring)
    app.connect("autodoc-process-docstring", reexported_data_docstring)
    app.connect("autodoc-process-signature", dataclass_signature)
    app.add_directive("sna-modules", Modules)
    app.add_config_value("sna_api_exclude", [], "env")
    app.connect("builder-inited", write_pages)
    app.connect("missing-reference", resolve_reexports)
    app.connect("missing-reference", resolve_error_names)
    app.connect("autodoc-skip-member", skip_member)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
