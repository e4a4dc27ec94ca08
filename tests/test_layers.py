"""Imports flow one way, as docs/architecture.md draws it.

An ``ast`` walk over every module of ``sna`` (no import is executed) checks three rules:

1. no module imports from a higher layer (:data:`LAYERS`, bottom first);
2. no private name (``_x``) is imported from another module: shared helpers are public
   names of a small module of their own (private *modules* such as ``sna._validate`` may be
   imported; their names are public);
3. no cycle among the modules' run-time imports (imports under ``if TYPE_CHECKING:`` do
   not run and are left out).

Imports inside functions count: they run, only later.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sna"

#: The layers, bottom first, each with what it holds: a module may import from its own layer
#: and the layers below. A module belongs to the layer of the longest name that is it or a
#: package holding it (``sna`` itself stands for the package's ``__init__`` only).
#: docs/architecture.md draws this list (``sna-layers``), with the imports the code has.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundations: errors, logging, bundled data, the canonical tables' contracts",
     ("sna", "sna.errors", "sna._log", "sna._spawn", "sna.datasets", "sna.schemas")),
    ("plain helpers: periods, the QualityLog, input checks, files, the registry of formats, inert output cells",
     ("sna.periods", "sna.quality", "sna._validate", "sna.formats", "sna.io", "sna.io._files",
      "sna.inert")),
    ("the typed configuration",
     ("sna.config",)),
    ("what cleaning stands on: definitions, pseudonyms, geography, the execution engines",
     ("sna.definitions", "sna.privacy", "sna.io.geography", "sna.engine")),
    ("the cleaning toolkit",
     ("sna.clean",)),
    ("one module (or package) per source family: read, detect and clean together; downloads",
     ("sna.io.partner", "sna.io.mapping", "sna.io.police_uk", "sna.io.police_extract",
      "sna.io.health", "sna.io.interventions", "sna.io.fetch")),
    ("the one object a chapter starts from",
     ("sna.assessment", "sna.dataset")),
    ("analysis: pure functions, frame in, frame out",
     ("sna.rates", "sna.spc", "sna.trend", "sna.hotspot", "sna._tabulate", "sna.people",
      "sna.interventions", "sna.areas")),
    ("figures, maps and the public build",
     ("sna.plot", "sna.maps", "sna.disclosure")),
    ("what the chapter notebooks share, and the analyst's narrative sections",
     ("sna.chapter", "sna.formatting", "sna.narrative")),
    ("the batch run and its report",
     ("sna.report", "sna.office", "sna.chapter_outputs")),
    ("the command line",
     ("sna.init", "sna.cli")),
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def layer_of(module: str) -> int:
    """Index in :data:`LAYERS` of the longest entry that is ``module`` or holds it."""
    best, found = -1, None
    for i, (_, layer) in enumerate(LAYERS):
        for name in layer:
            holds = module.startswith(name + ".") and name != "sna"
            if (module == name or holds) and len(name) > best:
                best, found = len(name), i
    if found is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")
    return found


def _type_checking_only(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


@functools.lru_cache(maxsize=None)
def imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) of ``module``'s run-time imports of sna.

    ``from sna.x import y`` gives ``("sna.x.y", None)`` when ``y`` is a submodule, else
    ``("sna.x", "y")``.
    """
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names
                    if a.name == "sna" or a.name.startswith("sna.")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not (target == "sna" or target.startswith("sna.")):
                continue
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    out.append((f"{target}.{alias.name}", None, node.lineno))
                else:
                    out.append((target, alias.name, node.lineno))
    return out


def _graph() -> dict[str, set[str]]:
    return {m: {t for t, _, _ in imports(m) if t != m} for m in MODULES}


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


def test_every_import_names_a_module_of_the_package():
    unknown = sorted({f"{m}:{line} imports {t}" for m in MODULES for t, _, line in imports(m)
                      if t not in MODULES})
    assert not unknown, "imports of modules that do not exist:\n" + "\n".join(unknown)


def test_no_upward_import():
    upward = sorted({f"{m}:{line} imports {t} (layer {layer_of(t)} > {layer_of(m)})"
                     for m in MODULES for t, _, line in imports(m) if layer_of(t) > layer_of(m)})
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_no_private_name_crosses_a_module_border():
    crossing = sorted({f"{m}:{line} imports {name} from {t}"
                       for m in MODULES for t, name, line in imports(m)
                       if name and name.startswith("_") and not name.startswith("__") and t != m})
    assert not crossing, "private names imported from another module:\n" + "\n".join(crossing)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle():
    found = cycles(_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_walk_sees_relative_and_function_level_imports():
    # sna.assessment imports the configuration at the top and the cleaning toolkit in a function
    targets = {t for t, _, _ in imports("sna.assessment")}
    assert {"sna.config", "sna.clean"} <= targets
