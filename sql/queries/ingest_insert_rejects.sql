-- Ingest commit: keep every rejected record with its reason.
INSERT INTO rejects (run_id, source, record, accession, reason)
SELECT $run_id, source, CAST(record AS VARCHAR), accession, reason
FROM ingest_rejects
ORDER BY file_idx, record
