"""A Parquet part written before a column joined its table's contract reads as NULL in that column (as
warehouses of 0.2 hold alignments without stratum, weight and homolog_evidence)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from protiso.warehouse import Warehouse


def test_alignments_part_without_the_newer_columns_reads_them_as_null(tmp_path):
    old = pa.table({"accession_a": ["A1"], "accession_b": ["B2"], "score": [12.0], "identity": [0.5],
                    "similarity": [0.6], "alignment_length": pa.array([10], pa.int32()),
                    "gaps": pa.array([1], pa.int32()), "normalized_score": [0.3], "run_id": ["r1"]})
    with Warehouse.create(tmp_path / "w") as wh:
        with wh.commit(None) as tx:
            path = tx.write_part("alignments", old)
        pq.write_table(old, path)           # the part as 0.2 wrote it: the contract's columns of then only
        wh.refresh_views()
        row, = wh.query("SELECT accession_a, identity, stratum, weight, homolog_evidence FROM alignments").to_pylist()
    assert row == {"accession_a": "A1", "identity": 0.5, "stratum": None, "weight": None, "homolog_evidence": None}
