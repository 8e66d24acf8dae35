-- Ingest: the first few rejects, for the command-line summary.
SELECT source, record, reason FROM ingest_rejects ORDER BY file_idx, record LIMIT $n
