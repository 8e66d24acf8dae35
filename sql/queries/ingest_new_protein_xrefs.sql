-- Ingest output: protein_xrefs rows to add: distinct (accession, database, xref_id) of records that were
-- not rejected, not stored yet.
WITH rejected AS (
    SELECT DISTINCT file_idx, record FROM ingest_rejects
),
candidates AS (
    SELECT x.* FROM staged_protein_xrefs x ANTI JOIN rejected r USING (file_idx, record)
),
distinct_rows AS (
    SELECT accession, database, xref_id, arg_min(source, file_idx) AS source, min(file_idx) AS file_idx
    FROM candidates
    GROUP BY accession, database, xref_id
)
SELECT d.* FROM distinct_rows d ANTI JOIN protein_xrefs s USING (accession, database, xref_id)
ORDER BY accession, database, xref_id
