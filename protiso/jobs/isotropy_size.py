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
from tqdm import tqdm

from protiso import progress
from protiso.jobs.isotropy_groups import Groups, Scan
from protiso.metrics.size_null import SizeNull, units_of

NULL_COLUMNS = ("n_proteins", "null_mean", "null_sd", "null_low", "null_high", "null_draws", "size_z")


def empty_null() -> dict:
    """The size columns of a row that has none (rows over all points)."""
    return dict.fromkeys(NULL_COLUMNS)


def control_for_size(scan: Scan, groups: Groups, rows: list[dict], min_proteins: int, draws: int, seed: int,
                     level: float, desc: str = "isotropy") -> list[dict]:
    """``rows`` (one per group of ``groups``) with proteins counted, small groups dropped, nulls added."""
    if not rows:
        return rows
    labels = np.asarray(scan.accessions.to_numpy(zero_copy_only=False), dtype=object)
    units, code = units_of(labels)
    members = dict(zip(groups.names, groups.members))
    counted = [(row, len(np.unique(code[members[row["group_value"]]]))) for row in rows]
    counted = [(row, proteins) for row, proteins in counted if proteins >= min_proteins]
    null = None
    if draws > 0 and counted:
        with tqdm(total=draws, desc=f"{desc}: random groups of each size", unit="draw", disable=progress.disable()) as bar:
            null = SizeNull(scan.points, units, [proteins for _, proteins in counted], draws, seed, level,
                            whole=scan.stats.sufficient() if scan.stats is not None else None, progress=bar.update)
    out = []
    for row, proteins in counted:
        row = {**row, **empty_null(), "n_proteins": proteins}
        if null is not None:
            stats = null.of_size(proteins)
            row.update(null_mean=stats.mean, null_sd=stats.sd, null_low=stats.low, null_high=stats.high,
                       null_draws=stats.draws, size_z=stats.z(row["isoscore"]))
        out.append(row)
    return out
