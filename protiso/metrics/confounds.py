"""What a pair's alignment and embedding similarity share besides sequence similarity: lengths and composition.

Per pair: the linear adjustments (``len_diff``, ``comp_dist``), the flexible basis (``FLEXIBLE_TERMS``: cubic
polynomials in log lengths and the length ratio, their interaction, composition distance and its square)
and the length-ratio strata (``RATIO_BINS``). Definitions in full: docs/architecture.md, "Module notes".
"""

from __future__ import annotations

import numpy as np

AMINO = "ACDEFGHIKLMNPQRSTVWY"
FLEXIBLE_TERMS = ("u", "u^2", "u^3", "v", "v^2", "v^3", "q", "q^2", "q^3", "u*v", "comp_dist", "comp_dist^2")
RATIO_BINS = (("[0, 0.5)", 0.0, 0.5), ("[0.5, 0.8)", 0.5, 0.8), ("[0.8, 1]", 0.8, 1.0 + 1e-12))


def composition(sequences: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(lengths, n x 20 composition fractions) of ``sequences``."""
    lengths = np.array([len(s) for s in sequences], dtype=np.float64)
    table = np.zeros((len(sequences), 20))
    lookup = np.full(256, -1, dtype=np.int64)
    for k, letter in enumerate(AMINO):
        lookup[ord(letter)] = k
    for row, seq in enumerate(sequences):
        codes = lookup[np.frombuffer(seq.encode("ascii", "replace"), dtype=np.uint8)]
        table[row] = np.bincount(codes[codes >= 0], minlength=20)
    with np.errstate(invalid="ignore", divide="ignore"):
        return lengths, table / lengths[:, None]


def raw_terms(len_a: np.ndarray, len_b: np.ndarray, comp_a: np.ndarray, comp_b: np.ndarray) -> dict[str, np.ndarray]:
    """The pair variables: len_diff, comp_dist, u = log shorter, v = log longer, q = shorter / longer."""
    short, long = np.minimum(len_a, len_b), np.maximum(len_a, len_b)
    with np.errstate(invalid="ignore", divide="ignore"):  # a protein without a stored sequence: NaN / -inf
        return {"len_diff": long - short, "comp_dist": np.sqrt(((comp_a - comp_b) ** 2).sum(axis=1)),
                "u": np.log(short), "v": np.log(long), "q": short / long}


def flexible_basis(terms: dict[str, np.ndarray]) -> np.ndarray:
    """The 12 flexible columns (``FLEXIBLE_TERMS``) from ``raw_terms``, each variable standardised first."""

    def standard(x: np.ndarray) -> np.ndarray:
        sd = x.std()
        return (x - x.mean()) / (sd if sd > 0 else 1.0)

    u, v, q, c = (standard(terms[k]) for k in ("u", "v", "q", "comp_dist"))
    return np.column_stack([u, u ** 2, u ** 3, v, v ** 2, v ** 3, q, q ** 2, q ** 3, u * v, c, c ** 2])


def orthonormal(columns: np.ndarray, weights: np.ndarray | None = None, rcond: float = 1e-12) -> np.ndarray:
    """Columns spanning the same space as ``columns`` after (weighted) centring, orthonormal in the
    (weighted) inner product: the partial correlations they give are those of ``columns``, but their
    covariance is the identity, so the moments' normal equations stay well-conditioned (a cubic in the
    length ratio within a narrow ratio stratum is nearly collinear: condition number ~1e8, squared by
    the normal equations). Directions with singular value below ``rcond`` times the largest are dropped."""
    w = np.ones(len(columns)) if weights is None else np.asarray(weights, dtype=np.float64)
    total = w.sum()
    centred = columns - (w @ columns) / total if total > 0 else columns
    root = np.sqrt(w)[:, None]
    _, s, vt = np.linalg.svd(centred * root, full_matrices=False)
    keep = s > rcond * (s[0] if len(s) else 0.0)
    return centred @ (vt[keep].T / s[keep]) * np.sqrt(total)

