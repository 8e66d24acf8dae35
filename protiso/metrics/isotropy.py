"""Exact float64 IsoScore, IsoScore*, effective dimensions and eigen-spectra of point clouds.

IsoScore is the participation ratio of the covariance rescaled to [0, 1] (no eigen-decomposition);
``isoscore_star`` shrinks toward the identity at the sample's own scale (scale-free, protiso's default),
``isoscore_star_fixed`` toward I as the IsoScore package does. Degenerate input: ProtisoError for bad
shapes or non-finite values, None where a metric is undefined. Derivations and the rules in detail:
docs/architecture.md, "Module notes".
"""

from __future__ import annotations

import math

import numpy as np

from protiso.errors import ProtisoError

CHUNK_ROWS = 8192
_EPS = np.finfo(np.float64).eps


def check_points(points: np.ndarray, what: str = "points") -> np.ndarray:
    """Return ``points`` as a 2-D float32/float64 array, raising ProtisoError if invalid.

    Float32 input is kept as is (converted chunk by chunk later); other dtypes become float64.
    """
    arr = np.asarray(points)
    if arr.ndim != 2:
        raise ProtisoError(f"{what}: expected a 2-D array (points, dim), got shape {arr.shape}")
    if arr.shape[1] < 1:
        raise ProtisoError(f"{what}: vectors have dimension 0")
    if arr.dtype not in (np.float32, np.float64):
        if not (np.issubdtype(arr.dtype, np.number) and not np.iscomplexobj(arr)):
            raise ProtisoError(f"{what}: expected real numbers, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    for start in range(0, arr.shape[0], CHUNK_ROWS):
        if not np.isfinite(arr[start : start + CHUNK_ROWS]).all():
            bad = start + int(np.flatnonzero(~np.isfinite(arr[start : start + CHUNK_ROWS]).all(axis=1))[0])
            raise ProtisoError(f"{what}: vector {bad} contains NaN or infinity")
    return arr


def column_mean(points: np.ndarray) -> np.ndarray:
    """Float64 mean of the rows, accumulated chunk by chunk."""
    total = np.zeros(points.shape[1])
    for start in range(0, points.shape[0], CHUNK_ROWS):
        total += points[start : start + CHUNK_ROWS].sum(axis=0, dtype=np.float64)
    return total / points.shape[0]


def scatter_matrix(points: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """Centred scatter ``sum (x - mean)(x - mean)^T`` in float64, in chunks of rows (two-pass, exact)."""
    if mean is None:
        mean = column_mean(points)
    dim = points.shape[1]
    out = np.zeros((dim, dim))
    for start in range(0, points.shape[0], CHUNK_ROWS):
        block = points[start : start + CHUNK_ROWS].astype(np.float64) - mean
        out += block.T @ block
    return out


def centred_gram(points: np.ndarray) -> np.ndarray:
    """Gram matrix ``Xc Xc^T`` of the centred points (N x N), float64."""
    centred = points.astype(np.float64) - column_mean(points)
    return centred @ centred.T


def _use_gram(points: np.ndarray) -> bool:
    return points.shape[0] < points.shape[1]


def zero_tolerance(points: np.ndarray) -> float:
    """Largest trace of the scatter that rounding of the mean alone could produce."""
    scale = float(np.max(np.abs(points))) if points.size else 0.0
    return points.shape[0] * points.shape[1] * (8 * _EPS * scale) ** 2


def trace_and_frobenius(points: np.ndarray) -> tuple[float, float] | None:
    """``(tr S, ||S||_F^2)`` of the centred scatter S, or None for < 2 points or zero variance.

    Uses the Gram matrix when there are fewer points than dimensions.
    """
    points = check_points(points)
    if points.shape[0] < 2:
        return None
    mat = centred_gram(points) if _use_gram(points) else scatter_matrix(points)
    trace = float(np.trace(mat))
    if trace <= zero_tolerance(points):
        return None
    return trace, float(np.sum(mat * mat))


def participation_ratio(cov: np.ndarray) -> float | None:
    """``tr(C)^2 / ||C||_F^2`` of a symmetric positive semi-definite matrix, None if C is zero."""
    cov = np.asarray(cov, dtype=np.float64)
    frob2 = float(np.sum(cov * cov))
    if frob2 == 0.0:
        return None
    return float(np.trace(cov)) ** 2 / frob2


def isoscore_from_pr(pr: float | None, dim: int) -> float | None:
    """IsoScore ``(PR - 1) / (n - 1)``; None when PR is None or n < 2.

    PR lies in [1, n] for any covariance; rounding can put a rank-1 cloud's PR a few ulps below 1,
    so PR is clamped to that range (IsoScore is then never negative).
    """
    if pr is None or dim < 2:
        return None
    return (min(max(pr, 1.0), float(dim)) - 1.0) / (dim - 1.0)


def effective_dims(points: np.ndarray) -> float | None:
    """Participation ratio PR = IsoScore * (n - 1) + 1 of the points' covariance (exact, float64)."""
    moments = trace_and_frobenius(points)
    if moments is None:
        return None
    trace, frob2 = moments
    return trace * trace / frob2


def effective_dims_rounded(pr: float | None) -> int | None:
    """PR rounded up (ceil) as the study reports it, ignoring rounding noise below 1e-9 relative."""
    if pr is None:
        return None
    return int(math.ceil(pr * (1.0 - 1e-9)))


def isoscore(points: np.ndarray) -> float | None:
    """IsoScore of ``points`` (N, n): equals ``IsoScore.IsoScore.IsoScore(points)`` in float64."""
    points = check_points(points)
    return isoscore_from_pr(effective_dims(points), points.shape[1])


DEFAULT_ZETA = 0.2  # IsoScore*'s shrinkage unless told otherwise (protiso isotropy, the report's rows from statistics)


def check_shrinkage(zeta: float, dim: int, c0: np.ndarray | None) -> np.ndarray | None:
    """Validate IsoScore* parameters; return C0 as a float64 array (None means identity)."""
    if not (0.0 <= zeta <= 1.0) or math.isnan(zeta):
        raise ProtisoError(f"isoscore_star: zeta must be in [0, 1], got {zeta}")
    if c0 is None:
        return None
    c0 = np.asarray(c0, dtype=np.float64)
    if c0.shape != (dim, dim):
        raise ProtisoError(f"isoscore_star: C0 must be {dim} x {dim}, got {c0.shape}")
    if not np.isfinite(c0).all() or not np.allclose(c0, c0.T, rtol=1e-12, atol=0.0):
        raise ProtisoError("isoscore_star: C0 must be a finite symmetric matrix")
    if np.linalg.eigvalsh(c0)[0] < -1e-12 * max(1.0, float(np.abs(c0).max())):
        raise ProtisoError("isoscore_star: C0 must be positive semi-definite")
    return c0


def shrunk_isoscore(trace: float, frob2: float, cross: float, c0_trace: float, c0_frob2: float,
                    zeta: float, dim: int) -> float | None:
    """IsoScore of ``(1 - zeta) C + zeta C0`` from tr C, ||C||_F^2, <C, C0>_F, tr C0, ||C0||_F^2."""
    tr = (1 - zeta) * trace + zeta * c0_trace
    fr = (1 - zeta) ** 2 * frob2 + 2 * zeta * (1 - zeta) * cross + zeta**2 * c0_frob2
    if fr <= 0.0:
        return None
    return isoscore_from_pr(tr * tr / fr, dim)


def scaled_identity(trace: float, dim: int) -> tuple[float, float, float]:
    """``(<C, C0>_F, tr C0, ||C0||_F^2)`` of the scale-free target C0 = (tr C / n) I, given tr C."""
    return trace * trace / dim, trace, trace * trace / dim


def _covariance_terms(points: np.ndarray, c0: np.ndarray | None) -> tuple[float, float, float] | None:
    """``(tr C, ||C||_F^2, <C, C0>_F or None)`` of the unbiased covariance C, zeros for no variance."""
    n_points = points.shape[0]
    mean = column_mean(points)
    if _use_gram(points):
        centred = points.astype(np.float64) - mean
        gram = centred @ centred.T / (n_points - 1)
        trace, frob2 = float(np.trace(gram)), float(np.sum(gram * gram))
        cross = None if c0 is None else float(np.sum((centred @ c0) * centred)) / (n_points - 1)
    else:
        cov = scatter_matrix(points, mean) / (n_points - 1)
        trace, frob2 = float(np.trace(cov)), float(np.sum(cov * cov))
        cross = None if c0 is None else float(np.sum(cov * c0))
    if trace <= zero_tolerance(points) / (n_points - 1):
        return 0.0, 0.0, 0.0 if c0 is not None else None
    return trace, frob2, cross


def isoscore_star(points: np.ndarray, zeta: float, c0: np.ndarray | None = None) -> float | None:
    """Scale-free IsoScore* of ``points``: shrinkage ``(1 - zeta) * cov + zeta * C0`` with C0 = (tr cov / n) I
    (None) or the C0 given (e.g. the covariance of the whole set a group is drawn from).

    ``cov`` is the unbiased sample covariance. With a C0 given it equals
    ``IsoScore.IsoScore.IsoScore_star(points, C0, zeta)``; without, that call with C0 = (tr cov / n) I.
    """
    return _shrunk(points, zeta, c0, scale_free=True)


def isoscore_star_fixed(points: np.ndarray, zeta: float, c0: np.ndarray | None = None) -> float | None:
    """Package-identical IsoScore* with shrinkage ``(1 - zeta) * cov + zeta * C0`` (C0 = identity if None):
    exactly ``IsoScore.IsoScore.IsoScore_star(points, C0, zeta)``. Depends on the vectors' scale."""
    return _shrunk(points, zeta, c0, scale_free=False)


def _shrunk(points: np.ndarray, zeta: float, c0: np.ndarray | None, scale_free: bool) -> float | None:
    """IsoScore* of ``points`` shrunk towards ``c0``; with none, towards (tr cov / n) I (``scale_free``) or I."""
    points = check_points(points)
    n_points, dim = points.shape
    c0 = check_shrinkage(zeta, dim, c0)
    if n_points < 2:
        return None
    trace, frob2, cross = _covariance_terms(points, c0)
    if c0 is not None:
        return shrunk_isoscore(trace, frob2, cross, float(np.trace(c0)), float(np.sum(c0 * c0)), zeta, dim)
    if scale_free:
        return shrunk_isoscore(trace, frob2, *scaled_identity(trace, dim), zeta, dim)
    return shrunk_isoscore(trace, frob2, trace, float(dim), float(dim), zeta, dim)


def spectrum_from_matrix(mat: np.ndarray, dim: int) -> np.ndarray | None:
    """Eigenvalues of a symmetric PSD matrix, clipped at 0, padded to ``dim``, sorted descending, sum 1."""
    values = np.clip(np.linalg.eigvalsh(mat), 0.0, None)[::-1]
    total = float(values.sum())
    if total <= 0.0:
        return None
    out = np.zeros(dim)
    out[: min(dim, values.size)] = values[:dim] / total
    return out


def eigen_spectrum(points: np.ndarray) -> np.ndarray | None:
    """Sorted (descending) covariance eigenvalues normalised to sum 1, length n (zeros padded when N <= n)."""
    points = check_points(points)
    if trace_and_frobenius(points) is None:
        return None
    mat = centred_gram(points) if _use_gram(points) else scatter_matrix(points)
    return spectrum_from_matrix(mat, points.shape[1])
