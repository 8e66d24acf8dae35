"""Group rows of ``protiso isotropy --by`` counted in proteins, controlled for size and tested.

``control_for_size`` takes the rows ``grouped_rows`` measured for one grouping of one scan and gives
each its ``n_proteins`` (distinct accessions among the group's rows: for local rows ``n_points``
counts residues, so "n = 68" can be one protein), drops groups with fewer than ``min_proteins``
proteins (the stated minimum, ``--min-points``), and adds the group's null: random groups of its
protein count (``--null size``, ``protiso.metrics.size_null``) or of its protein count per length
stratum (``--null length``, ``protiso.metrics.length_null``), with ``null_mean``, ``null_sd``,
``null_low``, ``null_high``, ``null_draws``, the draws themselves (``null_values``), ``size_z`` (the
statistic the report ranks groups by), its Monte-Carlo error ``size_z_se``, the empirical two-sided
``p_value`` and the Benjamini-Hochberg ``q_value`` within each family (GO namespace; root terms,
``is_root``, are not tested) (``protiso.metrics.group_tests``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from protiso import progress
from protiso.jobs.isotropy_groups import Groups, Scan
from protiso.metrics.group_tests import bh_qvalues, empirical_p, z_mc_se
from protiso.metrics.length_null import LengthNull, length_strata
from protiso.metrics.size_null import SizeNull, units_of

NULL_COLUMNS = ("n_proteins", "null_mean", "null_sd", "null_low", "null_high", "null_draws", "size_z",
                "null_method", "null_values", "p_value", "q_value", "size_z_se", "is_root", "matched_sets")


@dataclass(frozen=True)
class NullOptions:
    """How groups are tested: ``draws`` random groups per null (0: none), ``method`` size | length,
    ``strata`` length bins of the length-matched null, ``seed``, ``level`` of the null's interval, ``workers``
    processes that draw (None: one per available CPU)."""

    draws: int
    seed: int
    level: float
    method: str
    strata: int
    workers: int | None = 1


def empty_null() -> dict:
    """The size columns of a row that has none (rows over all points)."""
    return dict.fromkeys(NULL_COLUMNS)


def control_for_size(scan: Scan, groups: Groups, rows: list[dict], min_proteins: int, opts: NullOptions,
                     families: dict[str, tuple[str | None, bool]] | None = None,
                     unit_lengths: dict[str, int | None] | None = None, desc: str = "isotropy") -> list[dict]:
    """``rows`` (one per group of ``groups``) with proteins counted, small groups dropped, nulls and tests
    added. ``families``: group value -> (family, is root); ``unit_lengths``: accession -> length (needed by
    the length-matched null)."""
    if not rows:
        return rows
    labels = np.asarray(scan.accessions.to_numpy(zero_copy_only=False), dtype=object)
    units, code = units_of(labels)
    members = dict(zip(groups.names, groups.members))
    counted = []
    for row in rows:
        mine = np.unique(code[members[row["group_value"]]])
        if len(mine) >= min_proteins:
            counted.append((row, mine))
    families = families or {}
    nulls = [None] * len(counted)
    if opts.draws > 0 and counted:
        whole = scan.stats.sufficient() if scan.stats is not None else None
        with tqdm(total=opts.draws, desc=f"{desc}: random groups ({opts.method} null)", unit="draw",
                  disable=progress.disable()) as bar:
            if opts.method == "length":
                names = np.unique(labels)
                lengths = np.array([(unit_lengths or {}).get(str(n)) or 0 for n in names], dtype=np.float64)
                kept = {row["group_value"]: k for k, (row, _) in enumerate(counted)}
                position = {name: kept.get(name) for name in groups.names}
                relations = [(position[groups.names[a]], position[groups.names[b]]) for a, b in groups.relations
                             if position[groups.names[a]] is not None and position[groups.names[b]] is not None]
                null = LengthNull(scan.points, units, length_strata(lengths, opts.strata),
                                  [mine for _, mine in counted], opts.draws, opts.seed, opts.level, whole=whole,
                                  progress=bar.update, relations=relations, workers=opts.workers)
                nulls = [null.of_group(g) for g in range(len(counted))]
            else:
                null = SizeNull(scan.points, units, [len(mine) for _, mine in counted], opts.draws, opts.seed,
                                opts.level, whole=whole, progress=bar.update, workers=opts.workers)
                nulls = [null.of_size(len(mine)) for _, mine in counted]
    out = []
    for (row, mine), stats in zip(counted, nulls):
        family, root = families.get(row["group_value"], (None, False))
        row = {**row, **empty_null(), "n_proteins": len(mine), "is_root": bool(root)}
        if stats is not None:
            z = stats.z(row["isoscore"])
            row.update(null_method=opts.method, null_mean=stats.mean, null_sd=stats.sd, null_low=stats.low,
                       null_high=stats.high, null_draws=stats.draws, size_z=z, size_z_se=z_mc_se(z, stats.draws),
                       null_values=list(stats.values),
                       p_value=None if root else empirical_p(row["isoscore"], stats.values, stats.mean))
        out.append(row)
    _add_qvalues(out, families)
    return out


def _add_qvalues(rows: list[dict], families: dict[str, tuple[str | None, bool]]) -> None:
    """Benjamini-Hochberg q-values within each family, over the rows that have a p-value."""
    by_family: dict[str | None, list[dict]] = {}
    for row in rows:
        if row["p_value"] is not None:
            by_family.setdefault(families.get(row["group_value"], (None, False))[0], []).append(row)
    for members in by_family.values():
        for row, q in zip(members, bh_qvalues([r["p_value"] for r in members])):
            row["q_value"] = float(q)
