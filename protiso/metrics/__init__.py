"""Geometry of embedding sets: plain numpy, float64, no DuckDB.

isotropy     IsoScore, IsoScore* (scale-free) and IsoScore*-fixed (package), effective dims, eigen-spectrum of points (rules for bad input there)
stats        SufficientStats: mergeable (count, sum x, sum x x^T) and the same metrics from them
cosine       exact O(N n) mean pairwise cosine, mergeable CosineStats
bootstrap    seeded percentile CIs for IsoScore
postprocess  centring, PCA whitening, all-but-the-top
registry     one declaration per isotropy metric (SQL functions, isotropy columns, report table follow)
"""

from protiso.metrics.bootstrap import BootstrapCI, bootstrap_isoscore
from protiso.metrics.cosine import CosineStats, mean_pairwise_cosine
from protiso.metrics.isotropy import (
    effective_dims,
    effective_dims_rounded,
    eigen_spectrum,
    isoscore,
    isoscore_star,
    isoscore_star_fixed,
    participation_ratio,
)
from protiso.metrics.stats import SufficientStats

__all__ = [
    "BootstrapCI",
    "CosineStats",
    "SufficientStats",
    "bootstrap_isoscore",
    "effective_dims",
    "effective_dims_rounded",
    "eigen_spectrum",
    "isoscore",
    "isoscore_star",
    "isoscore_star_fixed",
    "mean_pairwise_cosine",
    "participation_ratio",
]
