"""Isotropy of many overlapping groups of one set of vectors (GO terms, organisms, length bins), exact
in float64, in bounded memory, with no eigen-decomposition unless a metric asks for eigenvalues.

Every stored number of a group follows from n and five sums (tr S, ``||S||_F^2``, ``sum ||x||^2``, the sum
of unit vectors and of their squared norms); with ``target`` also ``<S, C_W>_F`` for IsoScore*'s shrinkage
towards the whole set's covariance C_W. ``group_moments`` gets them by the Gram form (n < dim) or the
moment form, building one group's moment matrix from another's by symmetric rank-k updates along a
minimum spanning tree (``plan_groups``); at most ``log2(groups) + 2`` matrices are alive. With ``spectrum``
each group also keeps the eigenvalues of S (metrics over eigenvalues). docs/architecture.md (module notes)
has the forms, the plan, the memory bound and the precision argument.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.linalg.blas import dsyrk
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

from protiso.errors import ProtisoError
from protiso.metrics.blas import numpy_blas_single
from protiso.metrics.cosine import CosineStats
from protiso.metrics.isotropy import (
    CHUNK_ROWS,
    effective_dims_rounded,
    isoscore_from_pr,
    scaled_identity,
    shrunk_isoscore,
)
from protiso.metrics.stats import RELATIVE_VARIANCE_FLOOR, SufficientStats

EMPTY, WHOLE = 0, 1            # plan nodes before the groups (group g is node 2 + g)
NODE_ROWS = 64                 # a moment-form node's fixed cost (copy, finish) in rows of dsyrk
_CANCELLATION = 1e4            # ||A||_F^2 / ||S||_F^2 above which S is formed element-wise


@dataclass(frozen=True)
class GroupMoments:
    """What the isotropy metrics of one group need; the methods follow ``SufficientStats`` exactly."""

    n: int
    dim: int
    trace: float | None          # tr S; None when the variance is degenerate (see the module's rules)
    frobenius2: float | None     # ||S||_F^2
    sum_unit: np.ndarray         # sum of x / ||x||
    sum_unit_sq: float           # sum of ||x / ||x||||^2
    target: tuple[float, float, float] | None = None   # (<S, C_W>_F, tr C_W, ||C_W||_F^2), C_W the whole set's
    spectrum: np.ndarray | None = None   # eigenvalues of S, descending (kept when ``group_moments(spectrum=True)``)

    def effective_dims(self) -> float | None:
        return None if self.trace is None else self.trace * self.trace / self.frobenius2

    def effective_dims_rounded(self) -> int | None:
        return effective_dims_rounded(self.effective_dims())

    def isoscore(self) -> float | None:
        return isoscore_from_pr(self.effective_dims(), self.dim)

    def _cov(self) -> tuple[float, float]:
        scale = self.n - 1.0
        if self.trace is None:
            return 0.0, 0.0
        return self.trace / scale, self.frobenius2 / (scale * scale)

    def isoscore_star(self, zeta: float) -> float | None:
        """Scale-free IsoScore*: shrinkage ``(1 - zeta) cov + zeta C_W`` towards the covariance C_W of the
        whole set the group is drawn from (``target``), else towards (tr cov / n) I; cov unbiased."""
        if self.n < 2:
            return None
        trace, frob2 = self._cov()
        if self.target is None:
            return shrunk_isoscore(trace, frob2, *scaled_identity(trace, self.dim), zeta, self.dim)
        cross = 0.0 if self.trace is None else self.target[0] / (self.n - 1.0)
        return shrunk_isoscore(trace, frob2, cross, self.target[1], self.target[2], zeta, self.dim)

    def isoscore_star_fixed(self, zeta: float) -> float | None:
        """Package-identical IsoScore*: shrinkage ``(1 - zeta) cov + zeta I`` (depends on the scale)."""
        if self.n < 2:
            return None
        trace, frob2 = self._cov()
        return shrunk_isoscore(trace, frob2, trace, float(self.dim), float(self.dim), zeta, self.dim)

    def mean_cosine(self) -> float | None:
        return CosineStats(self.dim, self.n, self.sum_unit, self.sum_unit_sq).mean_cosine()

    def eigenvalues(self) -> np.ndarray | None:
        """Eigenvalues of S, clipped at 0, descending, length dim (as ``SufficientStats.eigenvalues``);
        None when the variance is degenerate. Kept only when the moments were asked for them."""
        if self.trace is None:
            return None
        if self.spectrum is None:
            raise ProtisoError("group isotropy: eigenvalues were not kept (group_moments(spectrum=True))")
        return self.spectrum


def _moments(n: int, dim: int, trace: float, frob2: float, raw: float, sum_unit: np.ndarray,
             sum_unit_sq: float, target: tuple[float, float, float] | None = None,
             matrix: Callable[[], np.ndarray] | None = None) -> GroupMoments:
    """``matrix``: makes S (or the group's centred Gram matrix), whose eigenvalues are then kept."""
    if n < 2 or raw <= 0.0 or trace <= RELATIVE_VARIANCE_FLOOR * raw or frob2 <= 0.0:
        return GroupMoments(n, dim, None, None, sum_unit, sum_unit_sq, target)
    spectrum = None
    if matrix is not None:
        values = np.clip(np.linalg.eigvalsh(matrix()), 0.0, None)[::-1]
        spectrum = np.zeros(dim)
        spectrum[:min(dim, values.size)] = values[:dim]
    return GroupMoments(n, dim, trace, frob2, sum_unit, sum_unit_sq, target, spectrum)


@dataclass(frozen=True)
class Plan:
    """The tree ``group_moments`` walks: each node's parent (``EMPTY``, ``WHOLE`` or group node 2 + g),
    children lightest subtree first, which groups are Gram leaves, and what the walk costs."""

    parent: dict[int, int]
    children: dict[int, list[int]]
    gram: frozenset[int]                # group indices computed in the Gram form
    rows: int                           # vectors added or subtracted by moment-form updates
    rows_from_scratch: int              # the same if every group were built from nothing
    matrices_needed: int                # (dim + 2)^2 float64 matrices alive at once, at most


def plan_groups(sizes: Sequence[int], members: Callable[[int], np.ndarray], count: int, dim: int,
                relations: Iterable[tuple[int, int]] = (), whole: bool = False) -> Plan:
    """The minimum spanning tree over groups 0..k-1 (``sizes``, ``members(g)``) of ``count`` vectors of
    dimension ``dim``: "from nothing", "from the whole set" (with ``whole``) and ``relations``."""
    k = len(sizes)
    rows, cols, weights = [], [], []

    def edge(a: int, b: int, cost: float) -> None:
        rows.append(a)
        cols.append(b)
        weights.append(cost + 1.0)   # +1 everywhere: explicit zeros would read as "no edge"

    if whole:
        edge(EMPTY, WHOLE, 0)
    by_larger: dict[int, set[int]] = {}
    for a, b in relations:
        if a != b and 0 <= a < k and 0 <= b < k:
            big, small = (a, b) if (sizes[a], a) >= (sizes[b], b) else (b, a)
            by_larger.setdefault(big, set()).add(small)
    mask = np.zeros(count, dtype=bool)
    for big, smaller in by_larger.items():
        mask[members(big)] = True
        for small in smaller:
            differ = sizes[big] + sizes[small] - 2 * int(np.count_nonzero(mask[members(small)]))
            if differ < sizes[big]:
                edge(2 + big, 2 + small, differ + NODE_ROWS)
        mask[members(big)] = False
    for g, size in enumerate(sizes):
        edge(EMPTY, 2 + g, size * size / dim if size < dim else size + NODE_ROWS)
        if whole:
            edge(WHOLE, 2 + g, count - size + NODE_ROWS)
    n_nodes = 2 + k
    tree = minimum_spanning_tree(coo_matrix((weights, (rows, cols)), shape=(n_nodes, n_nodes)).tocsr())
    tree = (tree + tree.T).tocsr()
    order, predecessors = breadth_first_order(tree, EMPTY, directed=False, return_predecessors=True)
    order = [int(v) for v in order]
    parent = {v: int(predecessors[v]) for v in order if v != EMPTY}
    children: dict[int, list[int]] = {v: [] for v in order}
    for v, p in parent.items():
        children[p].append(v)
    subtree = dict.fromkeys(order, 1)
    for v in order[::-1]:
        if v in parent:
            subtree[parent[v]] += subtree[v]
    for kids in children.values():
        kids.sort(key=lambda c: (subtree[c], c))
    gram = frozenset(v - 2 for v in children[EMPTY] if v >= 2 and sizes[v - 2] < dim and not children[v])
    moved = 0
    for v, p in parent.items():
        if v < 2 or v - 2 in gram:
            continue
        size = sizes[v - 2]
        moved += size if p == EMPTY else count - size if p == WHOLE else int(round(tree[v, p])) - 1 - NODE_ROWS
    light = dict.fromkeys(children[EMPTY], 0)
    for v in order:
        for c in children[v]:
            if v != EMPTY:
                light[c] = light[v] + (0 if c == children[v][-1] else 1)
    return Plan(parent, children, gram, moved, int(sum(sizes)), max(light.values(), default=0) + 2)


class MomentEngine:
    """The vectors, per-vector numbers, the shift and gather buffers; the two forms' arithmetic."""

    def __init__(self, points: np.ndarray, whole: SufficientStats | None, chunk_rows: int,
                 target: bool = False, spectrum: bool = False) -> None:
        if points.ndim != 2 or points.shape[1] < 1:
            raise ProtisoError(f"group isotropy: expected a 2-D array (points, dim), got shape {points.shape}")
        self.points = points
        self.count, self.dim = points.shape
        self.chunk = max(1, int(chunk_rows))
        if whole is not None and (whole.n != self.count or whole.dim != self.dim):
            raise ProtisoError(f"group isotropy: whole-set statistics of {whole.n} x {whole.dim} vectors "
                               f"do not describe these {self.count} x {self.dim}")
        self.whole = whole
        self.spectrum = spectrum      # keep each group's eigenvalues of S (GroupMoments.spectrum)
        self.sq_norm = np.empty(self.count)
        self.inv_norm = np.empty(self.count)
        self.unit_sq = np.empty(self.count)
        self.total_unit = np.zeros(self.dim)
        total = np.zeros(self.dim)
        for start in range(0, self.count, self.chunk):
            block = np.asarray(points[start:start + self.chunk], dtype=np.float64)
            sq = np.einsum("ij,ij->i", block, block)
            if not np.isfinite(sq).all():
                bad = start + int(np.flatnonzero(~np.isfinite(sq))[0])
                raise ProtisoError(f"group isotropy: vector {bad} contains NaN or infinity")
            if (sq == 0).any():
                bad = start + int(np.flatnonzero(sq == 0)[0])
                raise ProtisoError(f"mean_pairwise_cosine: vector {bad} is zero and has no direction")
            inv = 1.0 / np.sqrt(sq)
            stop = start + len(block)
            self.sq_norm[start:stop], self.inv_norm[start:stop] = sq, inv
            self.unit_sq[start:stop] = sq * inv * inv
            self.total_unit += inv @ block
            total += block.sum(axis=0)
        self.shift = whole.sum_x / whole.n if whole is not None else total / max(self.count, 1)
        self._rows = np.empty((self.chunk, self.dim + 2))
        # IsoScore*'s target: the whole set's covariance C_W, and z^T C_W z per row (filled when first needed)
        self.target_cov = whole.covariance() if target and whole is not None else None
        if self.target_cov is not None:
            self.target_terms = (float(np.trace(self.target_cov)), float(np.vdot(self.target_cov, self.target_cov)))
            self._quad = np.full(self.count, np.nan)

    def _target(self, members: np.ndarray, s: np.ndarray, n: int, upper: np.ndarray | None = None,
                diag: np.ndarray | None = None) -> tuple[float, float, float] | None:
        """``(<S, C_W>_F, tr C_W, ||C_W||_F^2)`` of a group with shifted sum ``s``: from the upper triangle
        of A = sum z z^T when given, else from the rows' z^T C_W z."""
        cov = self.target_cov
        if cov is None:
            return None
        if upper is not None:
            a_c = 2.0 * float(np.vdot(np.triu(upper), cov)) - float(diag @ np.diagonal(cov))
        else:
            todo = members[np.isnan(self._quad[members])]
            for start in range(0, len(todo), self.chunk):
                part = todo[start:start + self.chunk]
                z = np.asarray(self.points[part], dtype=np.float64) - self.shift
                self._quad[part] = np.einsum("ij,ij->i", z @ cov, z)
            a_c = float(self._quad[members].sum())
        return a_c - float(s @ (cov @ s)) / n, *self.target_terms

    def new_state(self) -> np.ndarray:
        return np.zeros((self.dim + 2, self.dim + 2))

    def whole_state(self) -> np.ndarray:
        """M of the whole set: A is its scatter (c is its mean, so s = 0), sum z w from the unit vectors."""
        d, w = self.dim, self.whole
        scatter = w.sum_xxt - np.outer(w.sum_x, w.sum_x) / w.n
        state = self.new_state()
        state[:d, :d] = np.triu((scatter + scatter.T) / 2)
        state[d, d] = self.count
        state[d, d + 1] = self.inv_norm.sum()
        state[:d, d + 1] = self.total_unit - self.shift * state[d, d + 1]
        state[d + 1, d + 1] = float(self.inv_norm @ self.inv_norm)
        return state

    def update(self, state: np.ndarray, index: np.ndarray, sign: float) -> None:
        """M += sign * sum over the rows ``index`` of [z 1 w]^T [z 1 w] (upper triangle)."""
        d = self.dim
        for start in range(0, len(index), self.chunk):
            part = index[start:start + self.chunk]
            rows = len(part)
            buf = self._rows[:rows]
            np.subtract(self.points[part], self.shift, out=buf[:, :d])   # fancy indexing: 3x np.take(out=)
            buf[:, d] = 1.0
            buf[:, d + 1] = self.inv_norm[part]
            dsyrk(sign, buf.T, beta=1.0, c=state.T, trans=0, lower=1, overwrite_c=1)

    def finish(self, state: np.ndarray, members: np.ndarray) -> GroupMoments:
        d, n = self.dim, len(members)
        upper, s = state[:d, :d], state[:d, d]
        diag = np.diagonal(state)[:d]
        frob_u = float(np.vdot(state, state)) - float(state[:, d] @ state[:, d]) - float(state[:, d + 1] @ state[:, d + 1])
        frob_a = 2.0 * frob_u - float(diag @ diag)
        s_a_s = 2.0 * float(s @ (upper @ s)) - float(diag @ (s * s))
        ss = float(s @ s)
        trace = float(diag.sum()) - ss / n
        frob2 = frob_a - 2.0 * s_a_s / n + ss * ss / (n * n)

        def scatter() -> np.ndarray:
            full = upper + upper.T
            full[np.diag_indices(d)] = diag
            full -= np.outer(s, s) / n
            return full

        if frob2 * _CANCELLATION < frob_a:
            full = scatter()
            frob2 = float(np.vdot(full, full))
        unit = state[:d, d + 1] + self.shift * state[d, d + 1]
        return _moments(n, d, trace, frob2, float(self.sq_norm[members].sum()), unit,
                        float(self.unit_sq[members].sum()), self._target(members, s, n, upper, diag),
                        scatter if self.spectrum else None)

    def gram(self, members: np.ndarray) -> GroupMoments:
        x = np.asarray(self.points[members], dtype=np.float64)
        unit = self.inv_norm[members] @ x
        total = x.sum(axis=0)
        target = self._target(members, total - len(members) * self.shift, len(members))
        x -= total / len(members)
        gram = dsyrk(1.0, x.T, trans=1, lower=0)       # x x^T, upper triangle only (half of x @ x.T)
        gram += np.triu(gram, 1).T                     # mirrored: the same sums as the full product
        return _moments(len(members), self.dim, float(np.trace(gram)), float(np.vdot(gram, gram)),
                        float(self.sq_norm[members].sum()), unit, float(self.unit_sq[members].sum()), target,
                        (lambda: gram) if self.spectrum else None)

    def move(self, state: np.ndarray, mine: np.ndarray, theirs: np.ndarray | None) -> None:
        """Turn the state of ``theirs`` (None: the whole set) into the state of ``mine``."""
        mask = np.zeros(self.count, dtype=bool)
        mask[mine] = True
        if theirs is None:
            self.update(state, np.flatnonzero(~mask), -1.0)
            return
        self.update(state, theirs[~mask[theirs]], -1.0)
        mask[:] = False
        mask[theirs] = True
        self.update(state, mine[~mask[mine]], 1.0)


def group_moments(points: np.ndarray, members: Sequence[np.ndarray], relations: Iterable[tuple[int, int]] = (),
                  whole: SufficientStats | None = None, chunk_rows: int = CHUNK_ROWS,
                  max_matrices: int | None = None, progress: Callable[[int], None] | None = None,
                  target: bool = False, spectrum: bool = False) -> Iterator[tuple[int, GroupMoments]]:
    """Yield ``(group index, GroupMoments)`` for every group (in the order they complete).

    ``points``: (N, dim) float32/float64 array (a memory map works); ``members[g]``: sorted unique row
    indices of group g (groups need >= 1 member); ``relations``: index pairs of groups that share most
    members (candidates of the spanning tree; any pairs are correct, good ones are fast); ``whole``:
    the statistics of all N points (``SufficientStats``), a free start for large groups;
    ``max_matrices``: (dim + 2)^2 float64 matrices the memory budget allows (ProtisoError if the plan
    needs more); ``progress(k)``: called with the number of groups just finished. numpy's own BLAS
    runs on one thread until the iteration ends, the caller's numpy work between groups included.
    ``target`` (needs ``whole``): each group's moments carry the terms of IsoScore*'s shrinkage towards the
    whole set's covariance (``GroupMoments.target``). ``spectrum``: each group's moments keep the eigenvalues
    of its scatter (``GroupMoments.eigenvalues``; one symmetric eigen-decomposition per group, O(d^3) or
    O(n^3) for a Gram-form group), for metrics that need them (``protiso.metrics.registry``).
    """
    engine = MomentEngine(points, whole, chunk_rows, target, spectrum)
    for g, m in enumerate(members):
        if len(m) == 0:
            raise ProtisoError(f"group isotropy: group {g} has no members")
    plan = plan_groups([len(m) for m in members], members.__getitem__, engine.count, engine.dim, relations,
                       whole is not None)
    if max_matrices is not None and plan.matrices_needed > max_matrices:
        dim = engine.dim + 2
        raise ProtisoError(f"group isotropy needs {plan.matrices_needed} matrices of {dim} x {dim} float64 "
                           f"({plan.matrices_needed * 8 * dim * dim / 2**20:,.1f} MiB) at once; the memory "
                           f"budget allows {max_matrices}")
    def move(state: np.ndarray, g: int, p: int) -> None:
        engine.move(state, members[g], None if p == WHOLE else members[p - 2])

    with numpy_blas_single():
        for g, moments in walk_plan(plan, engine, members.__getitem__, move):
            yield g, moments
            if progress:
                progress(1)


def walk_plan(plan, engine: MomentEngine, members: Callable[[int], np.ndarray],
              move: Callable[[np.ndarray, int, int], None]) -> Iterator[tuple[int, GroupMoments]]:
    """Each group's moments, walking ``plan``'s spanning tree depth first with a stack of states.

    ``members(g)``: group g's rows; ``move(state, g, p)``: turn the state of tree node ``p`` (a group
    ``p - 2``, or ``WHOLE``) into group g's by adding and removing the rows where they differ. A child
    visited last inherits its parent's state in place; the others get a copy."""
    stack: list[tuple[int, int, np.ndarray | None, bool]] = []

    def push(v: int, state: np.ndarray | None) -> None:
        for pos, kid in enumerate(reversed(plan.children.get(v, []))):   # the heaviest deepest: visited last
            stack.append((kid, v, state, pos == 0))

    push(EMPTY, None)
    while stack:
        v, p, state, inherit = stack.pop()
        if v == WHOLE:
            push(v, engine.whole_state())
            continue
        g = v - 2
        if g in plan.gram:
            yield g, engine.gram(members(g))
            continue
        if p == EMPTY:
            state = engine.new_state()
            engine.update(state, members(g), 1.0)
        else:
            state = state if inherit else state.copy()
            move(state, g, p)
        yield g, engine.finish(state, members(g))
        push(v, state)

