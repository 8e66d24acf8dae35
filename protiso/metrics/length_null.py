"""Group isotropy against random groups matched on protein length (``protiso isotropy --null length``).

The size null (``protiso.metrics.size_null``) draws random groups of a group's number of proteins from
the whole set; a GO term whose proteins are all long or all short is then compared with groups of a
different length mix, and length alone moves IsoScore. This null matches the length distribution:
the set's proteins (units) are cut into ``strata`` bins at the quantiles of their lengths, a group's
composition is how many of its proteins fall in each bin, and a random group takes that many
proteins, uniformly without replacement, from each bin.

How the draws are made: draw j orders each bin's proteins at random,
``numpy.random.default_rng([seed, j, b]).permutation(proteins of bin b)`` (bins numbered from the
shortest, proteins in the set's row order), and a group's random group is the first c_b proteins of
every bin b. One float64 moment matrix
(``protiso.metrics.grouped.MomentEngine``) moves from one group's random group to the next by adding
or subtracting the rows where their bin prefixes differ, so a draw costs the sum of those differences,
not the sum of the group sizes. Groups are visited depth-first along the spanning tree of
``protiso.metrics.grouped.plan_groups`` over the related groups (for GO terms parent and child, whose
random groups are nested the same way), ``walk_order``. Each group has its own null (``NullStats``), drawn the same way whatever other groups
exist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from protiso.metrics.grouped import EMPTY, MomentEngine, plan_groups
from protiso.metrics.isotropy import CHUNK_ROWS
from protiso.metrics.size_null import NullStats, summarise
from protiso.metrics.stats import SufficientStats
from protiso.metrics.stream import StreamStats

DEFAULT_STRATA = 10


def length_strata(lengths: np.ndarray, strata: int = DEFAULT_STRATA) -> np.ndarray:
    """Bin of each unit: ``strata`` bins at the quantiles of ``lengths`` (ties share a bin; fewer bins
    when lengths repeat)."""
    lengths = np.asarray(lengths, dtype=np.float64)
    edges = np.unique(np.quantile(lengths, np.linspace(0, 1, strata + 1)[1:-1]))
    return np.searchsorted(edges, lengths, side="right")


def walk_order(groups: Sequence[np.ndarray], count: int, relations: Sequence[tuple[int, int]]) -> list[int]:
    """The order the draws visit the groups: depth-first along the spanning tree ``plan_groups`` builds over
    the groups and their ``relations`` (a child right after its parent: their random groups differ by about
    what the groups differ by, since every bin's prefix of the child is one of the parent's)."""
    plan = plan_groups([len(g) for g in groups], lambda g: np.asarray(groups[g]), count, 1, relations)
    order, stack = [], [EMPTY]
    while stack:
        v = stack.pop()
        if v >= 2:
            order.append(v - 2)
        stack.extend(reversed(plan.children.get(v, [])))
    return order


class LengthNull:
    """Length-matched null of IsoScore for each group (``groups``: unit indices of each group)."""

    def __init__(self, points: np.ndarray, units: list[np.ndarray], strata: np.ndarray,
                 groups: Sequence[np.ndarray], draws: int, seed: int, level: float = 0.95,
                 whole: SufficientStats | None = None, progress: Callable[[int], None] | None = None,
                 relations: Sequence[tuple[int, int]] = ()) -> None:
        self.level = level
        strata = np.asarray(strata)
        n_bins = int(strata.max()) + 1 if len(strata) else 0
        composition = [np.bincount(strata[np.asarray(g, dtype=np.int64)], minlength=n_bins) for g in groups]
        order = walk_order(groups, len(units), relations)
        values: list[list[float]] = [[] for _ in groups]
        if draws > 0 and len(groups) and n_bins:
            if whole is None:
                whole = StreamStats(points.shape[1]).add(points).sufficient()
            engine = MomentEngine(points, whole, CHUNK_ROWS)
            bins = [np.flatnonzero(strata == b) for b in range(n_bins)]
            lengths = np.array([len(u) for u in units])
            with threadpool_limits(1):    # updates of a few rows each: threads only add their wake-ups
                for j in range(draws):
                    rows, ends = [], []
                    for b, members in enumerate(bins):
                        shuffled = members[np.random.default_rng([seed, j, b]).permutation(len(members))]
                        rows.append(np.concatenate([units[u] for u in shuffled]) if len(shuffled)
                                    else np.empty(0, dtype=np.int64))
                        ends.append(np.concatenate([[0], np.cumsum(lengths[shuffled])]))
                    state, current = engine.new_state(), np.zeros(n_bins, dtype=np.int64)
                    for g in order:
                        want = composition[g]
                        for b in np.flatnonzero(want != current):
                            lo, hi = sorted((int(current[b]), int(want[b])))
                            engine.update(state, rows[b][ends[b][lo]:ends[b][hi]], 1.0 if want[b] > current[b] else -1.0)
                        current = want
                        members = np.concatenate([rows[b][:ends[b][want[b]]] for b in range(n_bins)])
                        value = engine.finish(state, members).isoscore()
                        if value is not None:
                            values[g].append(value)
                    if progress:
                        progress(1)
        self._stats = [summarise(len(groups[g]), values[g], level) for g in range(len(groups))]

    def of_group(self, g: int) -> NullStats:
        return self._stats[g]
