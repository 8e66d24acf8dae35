"""Group rows of ``protiso isotropy --by`` counted in proteins and controlled for size.

``control_for_size`` takes the rows ``grouped_rows`` measured for one grouping of one scan and gives
each its ``n_proteins`` (distinct accessions among the group's rows: for local rows ``n_points``
counts residues, so "n = 68" can be one protein), drops groups with fewer than ``min_proteins``
proteins (the stated minimum, ``--min-points``), and adds the random-group null of the group's protein
count (``protiso.metrics.size_null``: ``null_mean``, ``null_sd``, ``null_low``, ``null_high``,
``null_draws``) and ``size_z``, the size-corrected statistic the report ranks groups by.
"""

from __future__ import annotations

import numpy as np

from protiso.jobs.isotropy_groups import Groups, Scan
from protiso.metrics.size_null import SizeNull, units_of

NULL_COLUMNS = ("n_proteins", "null_mean", "null_sd", "null_low", "null_high", "null_draws", "size_z")


def empty_null() -> dict:
    """The size columns of a row that has none (rows over all points)."""
    return dict.fromkeys(NULL_COLUMNS)


def control_for_size(scan: Scan, groups: Groups, rows: list[dict], min_proteins: int, draws: int, seed: int,
                     level: float) -> list[dict]:
    """``rows`` (one per group of ``groups``) with proteins counted, small groups dropped, nulls added."""
    if not rows:
        return rows
    labels = np.asarray(scan.accessions.to_numpy(zero_copy_only=False), dtype=object)
    units, code = units_of(labels)
    null = SizeNull(scan.points, units, draws, seed, level) if draws > 0 else None
    members = dict(zip(groups.names, groups.members))
    out = []
    for row in rows:
        proteins = len(np.unique(code[members[row["group_value"]]]))
        if proteins < min_proteins:
            continue
        row = {**row, **empty_null(), "n_proteins": proteins}
        if null is not None:
            stats = null.of_size(proteins)
            row.update(null_mean=stats.mean, null_sd=stats.sd, null_low=stats.low, null_high=stats.high,
                       null_draws=stats.draws, size_z=stats.z(row["isoscore"]))
        out.append(row)
    return out
