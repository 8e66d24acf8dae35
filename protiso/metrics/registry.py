"""One declaration per isotropy metric; the SQL functions, isotropy rows, SQL column lists and report table
follow from the declarations.

A ``Metric`` names its column and SQL type, its function on points (an SQL function over ``list(vectors)``),
its function on sufficient statistics (``Sums``; ``needs`` says which sums it reads), an optional SQL macro
over stored statistics and its report column. ``DEFAULT`` holds protiso's metrics; ``active()`` is the
registry every consumer reads, ``using`` swaps it for a block (tests). docs/architecture.md, "Adding a
metric", says how to add one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from protiso.errors import ProtisoError
from protiso.metrics.cosine import mean_pairwise_cosine
from protiso.metrics.isotropy import effective_dims, eigen_spectrum, isoscore, isoscore_star, isoscore_star_fixed

# What a metric's function on statistics may read from ``Sums`` (S: the centred scatter of the n vectors).
NEEDS = {
    "n": "the number of vectors (and their dimension)",
    "trace": "tr S",
    "frobenius2": "||S||_F^2",
    "target": "IsoScore*'s whole-set target of a group: <S, C_W>_F, tr C_W, ||C_W||_F^2 (optional)",
    "eigenvalues": "the eigenvalues of S (whole sets: the d x d scatter; groups: kept when a metric asks)",
    "unit": "the sum of the unit vectors x / ||x|| and of their squared norms",
}
SQL_TYPES = ("DOUBLE", "INTEGER", "BIGINT", "DOUBLE[]")
_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
_SCATTER = {"trace", "frobenius2", "target", "eigenvalues"}


@dataclass(frozen=True)
class ReportColumn:
    """A metric's column in the report's isotropy table."""

    label: str                       # heading
    note: str = ""                   # small second line of the heading
    style: str = "sig4"              # number format: sig4, fixedN, count (protiso.report.common)
    interval: bool = False           # the row has <name>_ci_low / <name>_ci_high, shown below the value
    param: str | None = None         # a parameter column shown beside the value, e.g. zeta


@dataclass(frozen=True)
class Metric:
    """One isotropy metric, declared once."""

    name: str                                    # the isotropy column and the key of a row
    sql_type: str                                # one of SQL_TYPES
    on_points: Callable[..., Any] | None         # f(points (N, d), *params): the SQL function ``udf``
    on_stats: Callable[..., Any] | None          # f(sums: Sums, *params): the isotropy rows
    needs: tuple[str, ...] = ()                  # the sums ``on_stats`` reads (keys of NEEDS)
    params: tuple[str, ...] = ()                 # run parameters passed after the points or sums (zeta)
    udf: str | None = None                       # the SQL function over list(vectors); None: no function
    macro: str | None = None                     # SQL macro over stored statistics (sql/macros), or None
    column: bool = True                          # a column of the isotropy table
    grouped: bool = True                         # measured on group rows; False: whole sets only (NULL)
    report: ReportColumn | None = None           # shown in the report's isotropy table
    doc: str = ""                                # one line: what it is

    def macro_arguments(self) -> list[str]:
        """The stored-statistics columns the macro takes, from ``needs`` (as ``embedding_stats`` names them)."""
        args = ["n"]
        if _SCATTER & set(self.needs):
            args += ["dim", "sum_x", "sum_xxt"]
        if "unit" in self.needs:
            args += ["n_unit", "sum_unit", "sum_unit_sq"]
        return args + list(self.params)


@dataclass(frozen=True)
class Sums:
    """The sufficient statistics one row is measured from: ``moments`` (``SufficientStats`` or
    ``GroupMoments``: n, dim, tr S, ||S||_F^2, eigenvalues) and ``cosine`` (the unit sums) or None."""

    moments: Any
    cosine: Any = None
    grouped: bool = False

    def has(self, need: str) -> bool:
        return self.cosine is not None if need == "unit" else True


@dataclass(frozen=True)
class Registry:
    """An ordered set of metrics with unique names."""

    metrics: tuple[Metric, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        names: set[str] = set()
        for m in self.metrics:
            for name in (m.name, m.udf, m.macro, *m.params):
                if name is not None and not _NAME.match(name):
                    raise ProtisoError(f"metric {m.name!r}: {name!r} is not a lower-case SQL identifier")
            if m.name in names or (m.udf is not None and m.udf in names - {m.name}):
                raise ProtisoError(f"metric {m.name!r} is declared twice")
            names |= {m.name} | ({m.udf} if m.udf else set())
            if m.sql_type not in SQL_TYPES:
                raise ProtisoError(f"metric {m.name!r}: SQL type {m.sql_type!r} is not one of {', '.join(SQL_TYPES)}")
            unknown = set(m.needs) - set(NEEDS)
            if unknown:
                raise ProtisoError(f"metric {m.name!r} needs unknown sums {sorted(unknown)}; known: {', '.join(NEEDS)}")
            if m.udf is not None and m.on_points is None:
                raise ProtisoError(f"metric {m.name!r} declares SQL function {m.udf} but no function on points")

    def __iter__(self) -> Iterator[Metric]:
        return iter(self.metrics)

    def __getitem__(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    def extended(self, *metrics: Metric) -> Registry:
        """A new registry: these metrics after this one's."""
        return Registry(self.metrics + tuple(metrics))

    def columns(self) -> list[Metric]:
        """The metrics that are columns of the isotropy table, in order."""
        return [m for m in self.metrics if m.column]

    def functions(self) -> list[Metric]:
        """The metrics with an SQL function over vectors."""
        return [m for m in self.metrics if m.udf is not None]

    def function_names(self) -> frozenset[str]:
        return frozenset(m.udf for m in self.functions())

    def reported(self) -> list[Metric]:
        """The columns of the report's isotropy table, in order."""
        return [m for m in self.columns() if m.report is not None]

    def grouped_needs(self, need: str) -> bool:
        """Whether some column measured on group rows reads ``need``."""
        return any(m.grouped and need in m.needs for m in self.columns())

    def measure(self, sums: Sums, params: dict[str, Any]) -> dict[str, Any]:
        """Every column's value for one row: NULL where the metric has no function on statistics, is not
        measured on groups (``grouped``) or needs sums this row lacks (the local cloud has no unit sums)."""
        out = {}
        for m in self.columns():
            if m.on_stats is None or (sums.grouped and not m.grouped) or not all(sums.has(n) for n in m.needs):
                out[m.name] = None
            else:
                out[m.name] = m.on_stats(sums, *(params[p] for p in m.params))
        return out

    def placeholders(self) -> dict[str, str]:
        """What the ``{{ name }}`` placeholders of sql/ files stand for (``protiso.warehouse.resources``)."""
        columns = self.columns()
        macros = [f"{m.macro}({', '.join(m.macro_arguments())}) AS {m.name}" if m.macro
                  else f"NULL::{m.sql_type} AS {m.name}" for m in columns]
        return {"isotropy_metric_columns": ", ".join(m.name for m in columns),
                "isotropy_metric_macros": ", ".join(macros)}

    def fingerprint(self) -> str:
        """Changes when the SQL made from the registry changes (stored views and macros, columns)."""
        text = repr(sorted(self.placeholders().items())) + repr([(m.name, m.sql_type) for m in self.columns()])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _isoscore(sums: Sums) -> float | None:
    return sums.moments.isoscore()


def _isoscore_star(sums: Sums, zeta: float) -> float | None:
    return sums.moments.isoscore_star(zeta)


def _isoscore_star_fixed(sums: Sums, zeta: float) -> float | None:
    return sums.moments.isoscore_star_fixed(zeta)


def _effective_dims(sums: Sums) -> float | None:
    return sums.moments.effective_dims()


def _effective_dims_rounded(sums: Sums) -> int | None:
    return sums.moments.effective_dims_rounded()


def _mean_cosine(sums: Sums) -> float | None:
    return sums.cosine.mean_cosine()


def _spectrum(sums: Sums) -> list[float] | None:
    values = sums.moments.eigenvalues()
    if values is None or float(values.sum()) <= 0.0:
        return None
    return (np.asarray(values) / float(values.sum())).tolist()


DEFAULT = Registry((
    Metric("isoscore", "DOUBLE", isoscore, _isoscore, ("n", "trace", "frobenius2"), udf="isoscore",
           macro="stats_isoscore", report=ReportColumn("IsoScore", interval=True),
           doc="IsoScore (Rudman et al. 2022), = reference IsoScore==2.0.1"),
    Metric("isoscore_star", "DOUBLE", isoscore_star, _isoscore_star, ("n", "trace", "frobenius2", "target"),
           ("zeta",), udf="isoscore_star", macro="stats_isoscore_star",
           report=ReportColumn("IsoScore* (ζ)", "scale-free", param="zeta"),
           doc="IsoScore*, scale-free: (1 - zeta) C + zeta (tr C / dim) I; groups: + zeta C of the whole set"),
    Metric("isoscore_star_fixed", "DOUBLE", isoscore_star_fixed, _isoscore_star_fixed, ("n", "trace", "frobenius2"),
           ("zeta",), udf="isoscore_star_fixed", macro="stats_isoscore_star_fixed",
           doc="IsoScore* as the IsoScore package: (1 - zeta) C + zeta I"),
    Metric("effective_dims", "DOUBLE", effective_dims, _effective_dims, ("n", "trace", "frobenius2"),
           udf="effective_dims", macro="stats_effective_dims", report=ReportColumn("eff. dims", style="fixed2"),
           doc="participation ratio = IsoScore * (dim - 1) + 1"),
    Metric("effective_dims_rounded", "INTEGER", None, _effective_dims_rounded, ("n", "trace", "frobenius2"),
           macro="stats_effective_dims_rounded", report=ReportColumn("⌈dims⌉", style="count"),
           doc="effective dims rounded up, as the study reports it"),
    Metric("mean_cosine", "DOUBLE", mean_pairwise_cosine, _mean_cosine, ("n", "unit"), udf="mean_pairwise_cosine",
           macro="stats_mean_cosine", report=ReportColumn("mean cos", style="fixed4"),
           doc="mean cosine over all pairs i != j, exact in O(N dim)"),
    Metric("eigen_spectrum", "DOUBLE[]", eigen_spectrum, _spectrum, ("n", "eigenvalues"), udf="eigen_spectrum",
           column=False, doc="covariance eigenvalues, descending, summing to 1 (length dim)"),
))

_ACTIVE: list[Registry] = [DEFAULT]


def active() -> Registry:
    """The registry protiso reads now: ``DEFAULT`` unless a ``using`` block swapped it."""
    return _ACTIVE[-1]


@contextmanager
def using(registry: Registry) -> Iterator[Registry]:
    """Make ``registry`` the active one for the block (e.g. a test's registry with one metric more)."""
    depth = len(_ACTIVE)
    _ACTIVE.append(registry)
    try:
        yield registry
    finally:
        del _ACTIVE[depth:]
