"""Group isotropy against random groups matched on protein length (``protiso isotropy --null length``).

The set's proteins (units) are cut into ``strata`` bins at the quantiles of their lengths; a group's
composition is how many of its proteins fall in each bin, and its random group takes that many proteins,
uniformly without replacement, from each bin. Draw j orders bin b's proteins by
``numpy.random.default_rng([seed, j, b]).permutation`` (bins from the shortest, proteins in row order) and
a group's random group is the first c_b proteins of every bin b: it depends on the composition only, and
groups with one composition share it. Per draw, one spanning tree over the compositions (``LengthPlan``)
builds each random group's float64 moments from a neighbour's by the per-bin prefix rows where they
differ (neighbours: related groups and nearest compositions), from the whole set minus per-bin suffixes,
or, when small, in the Gram form; a stack keeps O(log) moment matrices. docs/benchmarks.md has the cost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree
from scipy.spatial import cKDTree
from threadpoolctl import threadpool_limits

from protiso.metrics.draws import row_seconds, run_draws
from protiso.metrics.grouped import EMPTY, NODE_ROWS, WHOLE, MomentEngine, walk_plan
from protiso.metrics.isotropy import CHUNK_ROWS
from protiso.metrics.size_null import NullStats, summarise
from protiso.metrics.stats import SufficientStats
from protiso.metrics.stream import StreamStats

DEFAULT_STRATA = 10
NEIGHBOURS = 8                 # nearest compositions (L1) offered to the spanning tree besides the relations


def length_strata(lengths: np.ndarray, strata: int = DEFAULT_STRATA) -> np.ndarray:
    """Bin of each unit: ``strata`` bins at the quantiles of ``lengths`` (ties share a bin; fewer bins
    when lengths repeat)."""
    lengths = np.asarray(lengths, dtype=np.float64)
    edges = np.unique(np.quantile(lengths, np.linspace(0, 1, strata + 1)[1:-1]))
    return np.searchsorted(edges, lengths, side="right")


@dataclass(frozen=True)
class LengthPlan:
    """The tree one draw walks over the distinct compositions (node 2 + u is composition u): parents,
    children lightest subtree first, Gram leaves, and the rows a draw is expected to move."""

    compositions: np.ndarray            # (U, bins) unit counts
    parent: dict[int, int]
    children: dict[int, list[int]]
    gram: frozenset[int]
    rows: float                         # expected rows added or subtracted per draw (Gram leaves: rows^2 / dim)


def plan_lengths(compositions: np.ndarray, bin_rows: np.ndarray, bin_units: np.ndarray, dim: int,
                 relations: Sequence[tuple[int, int]] = ()) -> LengthPlan:
    """Minimum spanning tree over EMPTY, WHOLE and the ``compositions``; an edge costs the expected rows
    that move (``bin_rows / bin_units`` per unit of each bin) plus ``NODE_ROWS``."""
    comp = np.asarray(compositions, dtype=np.int64)
    k = len(comp)
    per_unit = np.where(bin_units > 0, bin_rows / np.maximum(bin_units, 1), 0.0)
    size = comp @ per_unit
    edges: dict[tuple[int, int], float] = {}
    for a, b in relations:
        if a != b and 0 <= a < k and 0 <= b < k:
            edges[(min(a, b), max(a, b))] = 0.0
    if k > 1:
        _, near = cKDTree(comp.astype(np.float64)).query(comp, k=min(NEIGHBOURS + 1, k), p=1)
        for a, row in enumerate(np.atleast_2d(near)):
            for b in row:
                if b != a and b < k:
                    edges[(min(a, int(b)), max(a, int(b)))] = 0.0
    pairs = np.array(list(edges), dtype=np.int64).reshape(-1, 2)
    cost = np.abs(comp[pairs[:, 0]] - comp[pairs[:, 1]]) @ per_unit + NODE_ROWS
    scratch = np.where(size < dim, size * size / dim, size + NODE_ROWS)
    rows = np.concatenate([[EMPTY], 2 + pairs[:, 0], np.full(k, EMPTY), np.full(k, WHOLE)])
    cols = np.concatenate([[WHOLE], 2 + pairs[:, 1], 2 + np.arange(k), 2 + np.arange(k)])
    weights = np.concatenate([[0.0], cost, scratch, bin_rows.sum() - size + NODE_ROWS]) + 1.0
    tree = minimum_spanning_tree(coo_matrix((weights, (rows, cols)), shape=(k + 2, k + 2)).tocsr())
    tree = (tree + tree.T).tocsr()
    order, predecessors = breadth_first_order(tree, EMPTY, directed=False, return_predecessors=True)
    parent = {int(v): int(predecessors[v]) for v in order if v != EMPTY}
    children: dict[int, list[int]] = {int(v): [] for v in order}
    for v, p in parent.items():
        children[p].append(v)
    subtree = dict.fromkeys(children, 1)
    for v in [int(v) for v in order[::-1]]:
        if v in parent:
            subtree[parent[v]] += subtree[v]
    for kids in children.values():
        kids.sort(key=lambda c: (subtree[c], c))
    gram = frozenset(v - 2 for v in children[EMPTY] if v >= 2 and size[v - 2] < dim and not children[v])
    moved = sum(float(tree[v, p]) - 1.0 for v, p in parent.items() if v >= 2)
    return LengthPlan(comp, parent, children, gram, moved)


class LengthNull:
    """Length-matched null of IsoScore for each group (``groups``: unit indices of each group); ``workers``
    processes draw (``protiso.metrics.draws``; None: one per available CPU), with the same values."""

    def __init__(self, points: np.ndarray, units: list[np.ndarray], strata: np.ndarray,
                 groups: Sequence[np.ndarray], draws: int, seed: int, level: float = 0.95,
                 whole: SufficientStats | None = None, progress: Callable[[int], None] | None = None,
                 relations: Sequence[tuple[int, int]] = (), workers: int | None = 1) -> None:
        self.level = level
        strata = np.asarray(strata)
        n_bins = int(strata.max()) + 1 if len(strata) else 0
        self.plan: LengthPlan | None = None
        values: list[list[float]] = [[] for _ in groups]
        if draws > 0 and len(groups) and n_bins:
            composition = np.array([np.bincount(strata[np.asarray(g, dtype=np.int64)], minlength=n_bins)
                                    for g in groups], dtype=np.int64)
            distinct, of_group = np.unique(composition, axis=0, return_inverse=True)
            of_group = of_group.reshape(-1)
            lengths = np.array([len(u) for u in units])
            bin_units = np.bincount(strata, minlength=n_bins)
            bin_rows = np.bincount(strata, weights=lengths, minlength=n_bins)
            linked = [(int(of_group[a]), int(of_group[b])) for a, b in relations
                      if 0 <= a < len(groups) and 0 <= b < len(groups)]
            self.plan = plan_lengths(distinct, bin_rows, bin_units, points.shape[1], linked)
            if whole is None:
                whole = StreamStats(points.shape[1]).add(points).sufficient()
            engine = MomentEngine(points, whole, CHUNK_ROWS)
            bins = [np.flatnonzero(strata == b) for b in range(n_bins)]
            plan = self.plan
            with threadpool_limits(1):    # updates of a few rows each: threads only add their wake-ups
                drawn = run_draws(lambda j: _draw(engine, plan, units, lengths, bins, seed, j), draws, workers,
                                  progress, row_seconds(plan.rows, points.shape[1]))
            for g, u in enumerate(of_group):
                values[g] = [v[u] for v in drawn if v[u] is not None]
        self._stats = [summarise(len(groups[g]), values[g], level) for g in range(len(groups))]

    def of_group(self, g: int) -> NullStats:
        return self._stats[g]


def _draw(engine: MomentEngine, plan: LengthPlan, units: list[np.ndarray], lengths: np.ndarray,
          bins: list[np.ndarray], seed: int, j: int) -> list[float | None]:
    """IsoScore of every composition's random group in draw ``j``, walking ``plan`` with a stack."""
    rows, ends = [], []
    for b, members in enumerate(bins):
        shuffled = members[np.random.default_rng([seed, j, b]).permutation(len(members))]
        rows.append(np.concatenate([units[u] for u in shuffled]) if len(shuffled) else np.empty(0, dtype=np.int64))
        ends.append(np.concatenate([[0], np.cumsum(lengths[shuffled])]).astype(np.int64))
    comp = plan.compositions
    out: list[float | None] = [None] * len(comp)

    def members(u: int) -> np.ndarray:
        return np.concatenate([rows[b][:ends[b][c]] for b, c in enumerate(comp[u])])

    def move(state: np.ndarray, u: int, p: int) -> None:
        """Rows that enter and rows that leave, every bin's together: one rank-k update each (a call
        reads and writes the whole moment matrix, so ten small ones cost about 130 rows more)."""
        enter: list[np.ndarray] = []
        leave: list[np.ndarray] = []
        for b, c in enumerate(comp[u]):
            if p == WHOLE:
                leave.append(rows[b][ends[b][c]:])
            elif comp[p - 2][b] != c:
                lo, hi = sorted((int(comp[p - 2][b]), int(c)))
                (enter if c > comp[p - 2][b] else leave).append(rows[b][ends[b][lo]:ends[b][hi]])
        for parts, sign in ((enter, 1.0), (leave, -1.0)):
            if parts:
                engine.update(state, np.concatenate(parts), sign)

    for u, moments in walk_plan(plan, engine, members, move):
        out[u] = moments.isoscore()
    return out
