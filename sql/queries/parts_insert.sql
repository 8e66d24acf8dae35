-- Catalogue a Parquet part: ? = part_id, table_name, path (relative to the warehouse), rows, run_id, committed_at.
INSERT INTO parts VALUES (?, ?, ?, ?, ?, ?)
