"""Tests of groups against their null: empirical p-values, Benjamini-Hochberg q-values, the Monte-Carlo
error of size_z.

* ``empirical_p``: two-sided, ``(1 + #{draws v: |v - mean| >= |x - mean|}) / (1 + B)`` over the B valid
  draws of the group's null (mean = their mean). The +1 keeps it a valid p-value (never 0); its floor
  is 1 / (1 + B), so B draws cannot show p below that.
* ``bh_qvalues``: the Benjamini-Hochberg step-up adjusted p-values, ``q_(i) = min_{j >= i} p_(j) m / j``
  capped at 1, over the p-values given (the caller passes one family: one GO namespace of one set).
* ``z_mc_se``: the standard error of ``z = (x - mean) / sd`` that comes from estimating mean and sd
  from B draws (delta method, normal null): ``sqrt(1 / B + z^2 / (2 (B - 1)))``; z +- 1.96 se is the
  range another seed would give 95 % of the time (+-0.1 at z = 2 takes about 1,150 draws).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def empirical_p(value: float | None, draws: Sequence[float], mean: float | None) -> float | None:
    """Two-sided empirical p-value of ``value`` against the null ``draws`` centred on ``mean``."""
    if value is None or mean is None or len(draws) < 2:
        return None
    arr = np.asarray(draws, dtype=np.float64)
    extreme = int(np.count_nonzero(np.abs(arr - mean) >= abs(value - mean)))
    return (1 + extreme) / (1 + len(arr))


def bh_qvalues(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg q-values of ``p_values`` (same order)."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return out


def z_mc_se(z: float | None, draws: int) -> float | None:
    """Monte-Carlo standard error of a z-score against ``draws`` null draws (see the module)."""
    if z is None or draws < 2:
        return None
    return math.sqrt(1.0 / draws + z * z / (2.0 * (draws - 1)))

