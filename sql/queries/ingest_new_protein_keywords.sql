-- Ingest output: protein_keywords rows to add: distinct (accession, keyword) of records that were
-- not rejected, not stored yet.
WITH rejected AS (
    SELECT DISTINCT file_idx, record FROM ingest_rejects
),
candidates AS (
    SELECT k.* FROM staged_protein_keywords k ANTI JOIN rejected r USING (file_idx, record)
),
distinct_rows AS (
    SELECT accession, keyword, arg_min(source, file_idx) AS source, min(file_idx) AS file_idx
    FROM candidates
    GROUP BY accession, keyword
)
SELECT d.* FROM distinct_rows d ANTI JOIN protein_keywords s USING (accession, keyword)
ORDER BY accession, keyword
