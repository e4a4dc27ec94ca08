"""Secondary suppression (the ``legacy5`` rule): the equations of a table and the bridges of
its graph of unknowns (see :mod:`sna.disclosure.rules`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import DisclosureError


# ---------------------------------------------------------------------------------------------
# secondary suppression: equations, bridges
# ---------------------------------------------------------------------------------------------
def _bridges(n_nodes: int, edges: Sequence[tuple[int, int]]) -> set[int]:
    """Indices of the edges that are bridges of a multigraph (iterative Tarjan)."""
    adj: list[list[tuple[int, int]]] = [[] for _ in range(n_nodes)]
    for k, (u, v) in enumerate(edges):
        if u == v:
            continue
        adj[u].append((v, k))
        adj[v].append((u, k))
    disc = [-1] * n_nodes
    low = [0] * n_nodes
    t = 0
    out: set[int] = set()
    for s in range(n_nodes):
        if disc[s] != -1 or not adj[s]:
            continue
        disc[s] = low[s] = t
        t += 1
        stack = [(s, -1, iter(adj[s]))]
        while stack:
            node, pedge, it = stack[-1]
            advanced = False
            for nb, k in it:
                if k == pedge:
                    continue
                if disc[nb] == -1:
                    disc[nb] = low[nb] = t
                    t += 1
                    stack.append((nb, k, iter(adj[nb])))
                    advanced = True
                    break
                low[node] = min(low[node], disc[nb])
            if not advanced:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > disc[parent]:
                        out.add(pedge)
    return out

@dataclass
class Equations:
    """The additive structure of a table: which rows / columns sum to a published total."""

    n_rows: int
    n_cols: int
    total_row: int | None
    total_col: int | None
    row_eq: bool
    col_eq: Any  # bool array per column

    @property
    def ground(self) -> int:
        return self.n_rows + self.n_cols

    def nodes(self, i: int, j: int) -> tuple[int, int]:
        u = i if self.row_eq else self.ground
        w = self.n_rows + j if self.col_eq[j] else self.ground
        return u, w

    def level(self, i: int, j: int) -> int:
        return int(i == self.total_row) + int(j == self.total_col)

    def lines(self):
        """(kind, index, cells) of every equation."""
        if self.row_eq:
            for i in range(self.n_rows):
                yield "row", i, [(i, j) for j in range(self.n_cols)]
        for j in range(self.n_cols):
            if self.col_eq[j]:
                yield "column", j, [(i, j) for i in range(self.n_rows)]

    def recoverable(self, suppressed, unknown) -> list[tuple[int, int]]:
        """Suppressed cells that the published figures determine exactly (bridges)."""
        cells = [(int(i), int(j)) for i, j in zip(*unknown.nonzero())]
        edges = [self.nodes(i, j) for i, j in cells]
        br = _bridges(self.ground + 1, edges)
        return sorted(cells[k] for k in br if suppressed[cells[k]])

    def sides(self, unknown, cell) -> tuple[set[int], set[int]]:
        """The two node sets a bridge ``cell`` joins (the graph without it)."""
        adj: dict[int, list[int]] = {}
        for i, j in zip(*unknown.nonzero()):
            if (int(i), int(j)) == cell:
                continue
            u, w = self.nodes(int(i), int(j))
            adj.setdefault(u, []).append(w)
            adj.setdefault(w, []).append(u)

        def comp(start):
            seen = {start}
            todo = [start]
            while todo:
                x = todo.pop()
                for y in adj.get(x, ()):
                    if y not in seen:
                        seen.add(y)
                        todo.append(y)
            return seen

        u, w = self.nodes(*cell)
        return comp(u), comp(w)

def protect(values, primary, isnan, *, total_row, total_col, row_eq, col_eq, row_keys=None):
    """Secondary suppression (see :func:`apply`, Notes). Returns the new suppression mask.

    ``row_keys`` (one sortable label per row, e.g. the LSOA code) breaks ties between cells
    of equal value, so that two tables of the same counts in a different row order (a table
    sorted by count, a map layer in area order) hide the same cells."""
    import numpy as np

    eq = Equations(values.shape[0], values.shape[1], total_row, total_col, row_eq,
                    np.asarray(col_eq, dtype=bool))
    supp = primary.copy()
    if not eq.row_eq and not eq.col_eq.any():
        return supp

    def key(c):
        i, j = c
        v = values[i, j]
        return (v == 0, eq.level(i, j), v, "" if row_keys is None else row_keys[i], i, j)

    def pick(cells):
        cand = [c for c in cells if not supp[c] and not isnan[c]]
        return min(cand, key=key) if cand else None

    for _ in range(values.size + 1):
        changed = True
        while changed:
            changed = False
            for kind, k, cells in eq.lines():
                n_unknown = sum(1 for c in cells if supp[c] or isnan[c])
                if n_unknown == 1 and any(supp[c] for c in cells):
                    c = pick(cells)
                    if c is None:
                        raise DisclosureError(
                            f"cannot protect the suppressed cell of {kind} {k + 1}: no other "
                            "cell to suppress; publish this table without that "
                            f"{kind}'s total")
                    supp[c] = True
                    changed = True
        unknown = supp | isnan
        rec = eq.recoverable(supp, unknown)
        if not rec:
            return supp
        cell = rec[0]
        side_a, side_b = eq.sides(unknown, cell)
        joining = []
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                u, w = eq.nodes(i, j)
                if (u in side_a and w in side_b) or (u in side_b and w in side_a):
                    joining.append((i, j))
        c = pick(joining)
        if c is None:
            i, j = cell
            c = pick([(i, jj) for jj in range(values.shape[1])]
                     + [(ii, j) for ii in range(values.shape[0])])
        if c is None:
            raise DisclosureError(
                f"cannot protect suppressed cell (row {cell[0] + 1}, column {cell[1] + 1}) "
                "from differencing; publish the table without its totals")
        supp[c] = True
    raise DisclosureError("secondary suppression did not converge")  # pragma: no cover
