"""``.. sna-layers::``: the layers of the package, drawn from the list the layer test checks.

The list of layers (bottom first, each with what it holds) is ``LAYERS`` in
``tests/test_layers.py``, the test that fails on an import cycle, an upward import or a
private name imported across modules. This directive reads that list and the package's own
imports (the test's ``ast`` walk), and draws them top first: each layer's modules and the
lower layers they import from. The page cannot drift from the code: both come from it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sphinx.util.docutils import SphinxDirective
from sna_rst import parse_rst

TEST = Path(__file__).resolve().parents[2] / "tests" / "test_layers.py"


def load_layers():
    """The layer test as a module (LAYERS, MODULES, imports, layer_of, cycles)."""
    spec = importlib.util.spec_from_file_location("sna_docs_test_layers", TEST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _entry(layers, module: str) -> str:
    """The name in LAYERS that ``module`` belongs to (the longest that is it or holds it)."""
    best = ""
    for _, names in layers:
        for name in names:
            holds = module.startswith(name + ".") and name != "sna"
            if (module == name or holds) and len(name) > len(best):
                best = name
    return best


def rows(test) -> list[tuple[int, str, list[str], list[str]]]:
    """(layer, what, modules, lower-layer names imported) for every layer, top first."""
    out = []
    for i, (what, names) in reversed(list(enumerate(test.LAYERS))):
        used: set[str] = set()
        for module in test.MODULES:
            if test.layer_of(module) != i:
                continue
            for target, _, _ in test.imports(module):
                if test.layer_of(target) < i:
                    used.add(_entry(test.LAYERS, target))
        below = sorted(used, key=lambda n: (-test.layer_of(n), n))
        out.append((i, what, list(names), below))
    return out


class Layers(SphinxDirective):
    """``.. sna-layers::``"""

    def run(self):
        self.env.note_dependency(str(TEST))
        test = load_layers()
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 6 34 30 30", "",
                 "   * - layer", "     - holds", "     - modules", "     - imports from below"]
        for i, what, names, below in rows(test):
            lines += [f"   * - {i}", f"     - {what}",
                      "     - " + ", ".join(f"``{n}``" for n in names),
                      "     - " + (", ".join(f"``{n}``" for n in below) or "(nothing of sna)")]
        return parse_rst(self, lines)


def setup(app):
    app.add_directive("sna-layers", Layers)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
