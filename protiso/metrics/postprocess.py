"""Isotropy-enhancing post-processing, fitted on a set of vectors and applied to it (or to others).

* ``center``: subtract the mean.
* ``whiten``: PCA whitening, ``x -> diag(1 / sqrt(lambda + eps * mean(lambda))) U^T (x - mean)`` with
  (lambda, U) the eigen-decomposition of the unbiased covariance. ``eps`` is relative to the mean
  eigenvalue so it does not depend on the units of the embedding; directions with no variance stay 0.
* ``abtt``: all-but-the-top (Mu & Viswanath 2018): subtract the mean, then remove the projections on
  the top-k principal components. The paper's default is k = dim / 100 (at least 1).

Fitting needs only the mean and covariance, so a transform can be fitted from streamed
``SufficientStats`` (``fit_from_stats``) and applied batch by batch. Output is float32, like the
stored embeddings; maths is float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from protiso.errors import ProtisoError
from protiso.metrics.isotropy import check_points
from protiso.metrics.stats import SufficientStats

METHODS = ("center", "whiten", "abtt")


def default_abtt_k(dim: int) -> int:
    """Mu & Viswanath's rule of thumb: about dim / 100 components, at least one."""
    return max(1, round(dim / 100))


def set_name(method: str, k: int | None = None) -> str:
    """The ``embedding_set`` label of a derived set: centered | whitened | abtt-<k>."""
    if method == "center":
        return "centered"
    if method == "whiten":
        return "whitened"
    if method == "abtt":
        if k is None:
            raise ProtisoError("abtt needs k (the number of top components removed)")
        return f"abtt-{k}"
    raise ProtisoError(f"unknown post-processing method {method!r}; choose one of {', '.join(METHODS)}")


@dataclass(frozen=True)
class Postprocessor:
    """A fitted transform ``y = (x - mean) @ matrix`` (``matrix`` None means identity)."""

    method: str
    mean: np.ndarray
    matrix: np.ndarray | None
    k: int | None = None
    eps: float | None = None

    @property
    def embedding_set(self) -> str:
        return set_name(self.method, self.k)

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Transform (N, dim) vectors; returns float32 (N, dim)."""
        points = check_points(points)
        if points.shape[1] != self.mean.size:
            raise ProtisoError(f"{self.method}: vectors have dimension {points.shape[1]}, fitted on {self.mean.size}")
        centred = points.astype(np.float64) - self.mean
        out = centred if self.matrix is None else centred @ self.matrix
        return out.astype(np.float32)


def fit_from_stats(stats: SufficientStats, method: str, k: int | None = None, eps: float = 1e-6) -> Postprocessor:
    """Fit ``method`` from the mean and covariance held in ``stats``."""
    set_name(method, k if method != "abtt" else (k or 1))  # validates the method name
    if stats.n < 2:
        raise ProtisoError(f"{method}: need at least 2 vectors to fit, got {stats.n}")
    mean = stats.sum_x / stats.n
    if method == "center":
        return Postprocessor(method, mean, None)
    cov = stats.covariance()
    if cov is None:
        raise ProtisoError(f"{method}: the vectors have no variance")
    values, vectors = np.linalg.eigh(cov)
    values = np.clip(values, 0.0, None)
    if method == "whiten":
        if eps <= 0:
            raise ProtisoError(f"whiten: eps must be > 0, got {eps}")
        floor = eps * float(values.mean())
        scale = np.where(values > 0, 1.0 / np.sqrt(values + floor), 0.0)
        return Postprocessor(method, mean, vectors * scale, eps=eps)
    k = default_abtt_k(stats.dim) if k is None else int(k)
    if not 1 <= k < stats.dim:
        raise ProtisoError(f"abtt: k must be between 1 and {stats.dim - 1}, got {k}")
    top = vectors[:, ::-1][:, :k]
    return Postprocessor(method, mean, np.eye(stats.dim) - top @ top.T, k=k)


def fit(points: np.ndarray, method: str, k: int | None = None, eps: float = 1e-6) -> Postprocessor:
    """Fit ``method`` on ``points`` (N, dim)."""
    return fit_from_stats(SufficientStats.from_points(points), method, k=k, eps=eps)


def fit_apply(points: np.ndarray, method: str, k: int | None = None, eps: float = 1e-6) -> np.ndarray:
    """Fit on ``points`` and transform them."""
    return fit(points, method, k=k, eps=eps).apply(points)
