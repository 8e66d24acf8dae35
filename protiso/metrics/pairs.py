"""float64 numpy maths for pair metrics: embedding distances per pair, average ranks.

``pair_distances`` computes each pair directly (its dot product and summed squared differences) and is
the reference. ``blocked_pair_distances`` gives the same numbers for millions of pairs from a blocked
matrix product over the proteins involved: the pairs are sorted by (block of a, block of b), each
block's Gram matrix ``X_i X_j^T`` is one float64 BLAS product, and every pair reads its dot product
from it: ``cos = <a, b> / (|a| |b|)``, ``|a - b|^2 = |a|^2 + |b|^2 - 2 <a, b>``. That expansion
cancels when a and b nearly coincide, so a pair whose squared distance is below ``1e-4`` of
``|a|^2 + |b|^2`` is recomputed directly (identical vectors give exactly 0, as the reference); every
other pair agrees with the reference to ~1e-12 relative (1e4 times the float64 rounding at worst).
A zero vector gives cosine NaN in both.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

RECOMPUTE_BELOW = 1e-4   # squared distance relative to |a|^2 + |b|^2 below which a pair is recomputed


def pair_distances(vectors: np.ndarray, a: np.ndarray, b: np.ndarray,
                   chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarity and squared Euclidean distance of rows ``a[k]`` and ``b[k]`` of ``vectors``.

    Computed directly per pair in float64 (dot products and summed squared differences, no Gram-matrix
    shortcut, so identical vectors give exactly 0 distance). A zero vector gives cosine NaN.
    """
    x = np.asarray(vectors, dtype=np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))
    cosine = np.empty(len(a))
    sq = np.empty(len(a))
    for start in range(0, len(a), chunk):
        ia, ib = a[start:start + chunk], b[start:start + chunk]
        va, vb = x[ia], x[ib]
        dot = np.einsum("ij,ij->i", va, vb)
        with np.errstate(invalid="ignore", divide="ignore"):
            cosine[start:start + chunk] = dot / (norms[ia] * norms[ib])
        diff = va - vb
        sq[start:start + chunk] = np.einsum("ij,ij->i", diff, diff)
    return cosine, sq


def block_rows_for(budget: int, dim: int, count: int) -> int:
    """Proteins per block so that one block pair (two float64 row blocks and their Gram matrix) takes
    at most a quarter of ``budget`` bytes."""
    rows = 256
    while rows < count and 8 * ((2 * rows) ** 2 + 2 * 2 * rows * dim) <= budget // 4:
        rows *= 2
    return min(rows, max(count, 1))


def blocked_pair_distances(vectors: np.ndarray, a: np.ndarray, b: np.ndarray, block_rows: int = 4096,
                           progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``pair_distances`` for many pairs, through one Gram matrix per block pair (see the module)."""
    x = np.asarray(vectors)
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    cosine = np.empty(len(a))
    sq = np.empty(len(a))
    if len(a) == 0:
        return cosine, sq
    sq_norm = np.empty(len(x))
    for start in range(0, len(x), block_rows):
        rows = np.asarray(x[start:start + block_rows], dtype=np.float64)
        sq_norm[start:start + len(rows)] = np.einsum("ij,ij->i", rows, rows)
    norms = np.sqrt(sq_norm)
    n_blocks = (len(x) + block_rows - 1) // block_rows
    key = (a // block_rows) * n_blocks + b // block_rows
    order = np.argsort(key, kind="stable")
    key = key[order]
    edges = np.concatenate([[0], np.flatnonzero(key[1:] != key[:-1]) + 1, [len(key)]])
    cached: tuple[int, np.ndarray] | None = None
    for first, last in zip(edges[:-1], edges[1:]):
        i, j = divmod(int(key[first]), n_blocks)
        if cached is None or cached[0] != i:
            cached = (i, np.asarray(x[i * block_rows:(i + 1) * block_rows], dtype=np.float64))
        right = cached[1] if j == i else np.asarray(x[j * block_rows:(j + 1) * block_rows], dtype=np.float64)
        gram = cached[1] @ right.T
        sel = order[first:last]
        ia, ib = a[sel], b[sel]
        dot = gram[ia - i * block_rows, ib - j * block_rows]
        with np.errstate(invalid="ignore", divide="ignore"):
            cosine[sel] = dot / (norms[ia] * norms[ib])
        scale = sq_norm[ia] + sq_norm[ib]
        dist = scale - 2.0 * dot
        close = np.flatnonzero(dist <= RECOMPUTE_BELOW * scale)
        if close.size:
            diff = np.asarray(x[ia[close]], dtype=np.float64) - np.asarray(x[ib[close]], dtype=np.float64)
            dist[close] = np.einsum("ij,ij->i", diff, diff)
        sq[sel] = dist
        if progress:
            progress(int(last - first))
    return cosine, sq


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing their average rank (scipy.stats.rankdata(method='average')).

    Ties get the mean of their positions whatever order the sort leaves them in, so the sort need not be
    stable (numpy's default sort is several times faster on millions of values)."""
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if n == 0:
        return np.zeros(0)
    order = np.argsort(x)
    ordered = x[order]
    edges = np.concatenate([[0], np.flatnonzero(ordered[1:] != ordered[:-1]) + 1, [n]])
    starts, stops = edges[:-1], edges[1:]
    ranks = np.empty(n)
    ranks[order] = np.repeat((starts + stops + 1) / 2.0, stops - starts)
    return ranks
