-- Ingest step: every rejected record of this input, reader rejects plus sequence conflicts.
CREATE OR REPLACE TEMP VIEW ingest_rejects AS
SELECT file_idx, source, record, accession, reason FROM staged_rejects
UNION ALL
SELECT file_idx, source, record, accession, reason FROM ingest_protein_status
WHERE status IN ('conflict_input', 'conflict_stored')
