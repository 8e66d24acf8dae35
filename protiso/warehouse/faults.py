"""A test-only seam for fault injection: ``PROTISO_FAULT_AT`` kills this process at a chosen commit.

``PROTISO_FAULT_AT="commit:3"`` sends SIGKILL to the process when its third ``Warehouse.commit`` has
written its parts but not yet catalogued them; ``"committed:3"`` when the third commit's transaction
is done but its pending markers are not yet removed; ``"part:2"`` right after the second Parquet part of
this process is written (catalogued by no commit yet); ``"export-batch:1"`` after ``protiso export`` has
handed its first batch to the writer. tests/test_faults.py uses it to kill every long
job at seeded points and check that resuming gives the warehouse an uninterrupted run gives. Unset
(always, outside those tests) it costs one dictionary look-up per commit.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def point(name: str) -> None:
    """Count one pass through ``name``; SIGKILL this process if PROTISO_FAULT_AT names this pass."""
    wanted = os.environ.get("PROTISO_FAULT_AT")
    if not wanted:
        return
    _counts[name] = _counts.get(name, 0) + 1
    where, _, nth = wanted.partition(":")
    if where == name and str(_counts[name]) == nth:
        os.kill(os.getpid(), signal.SIGKILL)
