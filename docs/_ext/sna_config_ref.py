"""The configuration reference, generated from the pydantic models of :mod:`sna.config`.

``.. sna-config-reference::`` walks :class:`sna.config.Config` recursively and writes one
``confval`` entry per key path (``geography.boundaries``, ``sources.<name>.columns`` ...) with
its type, whether it is required, its default, its constraints, its description and an
example. ``.. sna-config-example::`` writes a complete ``sna.yml`` with every key at its
default (or its example where it has no default). Both read the models at build time, so the
reference cannot drift from the code; link to a key with ``{confval}`` (checked: a key that
no longer exists breaks the ``-W`` build).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_origin

import yaml
from docutils import nodes
from pydantic import BaseModel
from pydantic_core import PydanticUndefined
from sphinx.util.docutils import SphinxDirective
from sna_rst import parse_rst

DICT_KEY = "<name>"


@dataclass
class Key:
    """One key of the configuration file."""

    path: str
    type: str
    required: bool
    default: Any = None
    has_default: bool = False
    description: str = ""
    examples: list = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    model: type | None = None  # the model this key opens, if any
    mapping: bool = False  # True for a mapping of names to tables (``sources``)
    section: str = ""


def _is_model(tp) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def type_name(tp) -> str:
    """A readable name for a type annotation, as a user writes it in YAML."""
    origin = get_origin(tp)
    args = get_args(tp)
    if tp is type(None):
        return "null"
    if origin is Literal:
        return " | ".join(repr(a) if isinstance(a, str) else str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin in (list, tuple, set):
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping of {type_name(args[0])} to {type_name(args[1])}" if args else "mapping"
    if _is_model(tp):
        return "table"
    return getattr(tp, "__name__", str(tp))


def _models_in(tp) -> list[tuple[str, type]]:
    """(path suffix, model) pairs reachable from an annotation."""
    if _is_model(tp):
        return [("", tp)]
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is dict and args and _is_model(args[1]):
        return [(f".{DICT_KEY}", args[1])]
    if origin in (typing.Union, types.UnionType):
        out = []
        for a in args:
            out += _models_in(a)
        return out
    return []


def _constraints(finfo) -> list[str]:
    out = []
    for meta in finfo.metadata:
        for attr, sym in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(meta, attr, None)
            if value is not None:
                out.append(f"{sym} {value}")
    return out


def walk(model: type[BaseModel], prefix: str = "", section: str = "") -> list[Key]:
    """Every key path of ``model``, depth first, in declaration order."""
    keys: list[Key] = []
    for name, finfo in model.model_fields.items():
        if finfo.exclude:
            continue
        path = f"{prefix}{name}"
        default, has_default = None, False
        if finfo.default is not PydanticUndefined:
            default, has_default = finfo.default, True
        elif finfo.default_factory is not None:
            default, has_default = finfo.default_factory(), True
        if isinstance(default, BaseModel):
            default = default.model_dump(mode="json")
        sub = _models_in(finfo.annotation)
        key = Key(
            path=path,
            type=type_name(finfo.annotation),
            required=finfo.is_required(),
            default=default,
            has_default=has_default,
            description=(finfo.description or "").strip(),
            examples=list(finfo.examples or []),
            constraints=_constraints(finfo),
            model=sub[0][1] if sub else None,
            mapping=bool(sub and sub[0][0]),
            section=section or path.split(".")[0],
        )
        keys.append(key)
        for suffix, submodel in sub:
            keys += walk(submodel, prefix=f"{path}{suffix}.", section=key.section)
    return keys


def _yaml_inline(value) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, allow_unicode=True,
                          width=10_000)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    return text.removesuffix("...").strip()


#: Values used in the complete example where a key has neither a default nor an example.
EXAMPLE_VALUES = {
    "area": "Nottinghamshire",
    "sources.<name>": "police",  # the name given to the example source
    "sources.<name>.format": "police_extract",
    "sources.<name>.path": "data/police/extract.csv",
}


def _placeholder(path: str, finfo):
    if path in EXAMPLE_VALUES:
        return EXAMPLE_VALUES[path]
    if finfo.examples:
        return finfo.examples[0]
    if finfo.default is not PydanticUndefined:
        return finfo.default
    if finfo.default_factory is not None:
        return finfo.default_factory()
    lit = get_args(finfo.annotation) if get_origin(finfo.annotation) is Literal else ()
    return lit[0] if lit else f"<{path.rsplit('.', 1)[-1]}>"


def example_config(model: type[BaseModel], prefix: str = "") -> dict:
    """A complete config: every key at its default, or its example / a placeholder.

    The result validates against ``model`` (``tests/test_docs.py`` checks it).
    """
    return {name: value for name, value, _ in _example_items(model, prefix)}


def _example_items(model, prefix=""):
    for name, finfo in model.model_fields.items():
        if finfo.exclude:
            continue
        path = f"{prefix}{name}"
        sub = _models_in(finfo.annotation)
        if sub and sub[0][0] == "":
            value = example_config(sub[0][1], f"{path}.")
        elif sub:  # a mapping of names to tables
            entry = EXAMPLE_VALUES.get(f"{path}.{DICT_KEY}", "example")
            value = {entry: example_config(sub[0][1], f"{path}.{DICT_KEY}.")}
        else:
            value = _placeholder(path, finfo)
        yield name, value, (finfo.description or "").strip()


def example_yaml(model: type[BaseModel], prefix: str = "", indent: int = 0) -> list[str]:
    """The complete example as commented YAML lines (a comment above each key)."""
    import textwrap

    pad = " " * indent
    lines: list[str] = []
    for name, value, desc in _example_items(model, prefix):
        if desc:
            for part in textwrap.wrap(desc, width=max(40, 92 - indent)):
                lines.append(f"{pad}# {part}")
        sub = _models_in(model.model_fields[name].annotation)
        if sub and sub[0][0] == "":
            lines.append(f"{pad}{name}:")
            lines += example_yaml(sub[0][1], f"{prefix}{name}.", indent + 2)
        elif sub:
            (entry,) = value
            lines.append(f"{pad}{name}:")
            lines.append(f"{pad}  {entry}:")
            lines += example_yaml(sub[0][1], f"{prefix}{name}.{DICT_KEY}.", indent + 4)
        else:
            lines.append(f"{pad}{name}: {_yaml_inline(value)}")
    return lines


def _rst_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("`", "\\`").replace("|", "\\|")


def render(keys: list[Key], model_docs: dict[str, str]) -> list[str]:
    lines: list[str] = []
    current = None
    for k in keys:
        if k.section != current:
            current = k.section
            title = f"``{current}``"
            lines += ["", title, "-" * len(title), ""]
            doc = model_docs.get(current)
            if doc:
                lines += [doc, ""]
        default = ""
        if k.required:
            default = "required"
        elif k.has_default and k.model is None:
            default = f"``{_yaml_inline(k.default)}``" if k.default not in (None, {}, []) else (
                "not set" if k.default is None else f"``{_yaml_inline(k.default)}``")
        lines += [f".. confval:: {k.path}", f"   :type: {_rst_escape(k.type)}"]
        if default:
            lines.append(f"   :default: {default}")
        lines.append("")
        body = _rst_escape(k.description) if k.description else ""
        if body:
            lines += [f"   {body}", ""]
        if k.constraints:
            lines += ["   Allowed values: " + ", ".join(k.constraints) + ".", ""]
        if k.mapping:
            lines += [f"   Each entry is a table with the keys ``{k.path}.{DICT_KEY}.*`` below; "
                      f"``{DICT_KEY}`` is a name you choose.", ""]
        elif k.model is not None:
            lines += [f"   A table with the keys ``{k.path}.*`` below.", ""]
        for ex in k.examples:
            snippet = yaml.safe_dump(_nest(k.path, ex), sort_keys=False, allow_unicode=True)
            lines += ["   Example:", "", "   .. code-block:: yaml", ""]
            lines += [f"      {line}" for line in snippet.rstrip().splitlines()]
            lines.append("")
    return lines


def _nest(path: str, value):
    parts = [p if p != DICT_KEY else "police" for p in path.split(".")]
    out = value
    for part in reversed(parts):
        out = {part: out}
    return out


def _model_docs(model: type[BaseModel]) -> dict[str, str]:
    docs = {}
    for k in walk(model):
        if k.model is not None and "." not in k.path:
            docs[k.path] = (k.model.__doc__ or "").strip().splitlines()[0]
    docs.setdefault("area", "Top-level keys.")
    return docs


class ConfigReference(SphinxDirective):
    """``.. sna-config-reference::`` (optional argument: the model, default sna.config.Config)."""

    optional_arguments = 1

    def _model(self):
        import importlib

        target = self.arguments[0] if self.arguments else "sna.config.Config"
        module, _, name = target.rpartition(".")
        self.env.note_dependency(importlib.import_module(module).__file__)
        return getattr(importlib.import_module(module), name)

    def run(self):
        model = self._model()
        keys = walk(model)
        docs = _model_docs(model)
        # top-level scalar keys share one section
        for k in keys:
            if "." not in k.path and k.model is None:
                k.section = "top level"
        docs["top level"] = "Keys at the top of ``sna.yml``."
        keys.sort(key=lambda k: (k.section != "top level",))
        lines = render(keys, docs)
        return parse_rst(self, lines)


class ConfigExample(SphinxDirective):
    """``.. sna-config-example::``: a complete sna.yml with every key."""

    def run(self):
        from sna.config import Config

        text = "\n".join(example_yaml(Config)) + "\n"
        block = nodes.literal_block(text, text, language="yaml")
        return [block]


def setup(app):
    app.add_directive("sna-config-reference", ConfigReference)
    app.add_directive("sna-config-example", ConfigExample)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
