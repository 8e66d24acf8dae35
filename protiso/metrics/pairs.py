"""float64 numpy maths for pair metrics: embedding distances per pair, average ranks."""

from __future__ import annotations

import numpy as np


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


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing their average rank (scipy.stats.rankdata(method='average'))."""
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if n == 0:
        return np.zeros(0)
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    edges = np.concatenate([[0], np.flatnonzero(ordered[1:] != ordered[:-1]) + 1, [n]])
    starts, stops = edges[:-1], edges[1:]
    ranks = np.empty(n)
    ranks[order] = np.repeat((starts + stops + 1) / 2.0, stops - starts)
    return ranks
