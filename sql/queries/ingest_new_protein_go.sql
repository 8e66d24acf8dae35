-- Ingest output: protein_go rows to add: distinct (accession, go_id) of records that were not
-- rejected, not stored yet. The ontology is the one any source states (NULL if none does).
WITH rejected AS (
    SELECT DISTINCT file_idx, record FROM ingest_rejects
),
candidates AS (
    SELECT g.* FROM staged_protein_go g ANTI JOIN rejected r USING (file_idx, record)
),
distinct_rows AS (
    SELECT accession, go_id, max(ontology) AS ontology,
           arg_min(source, file_idx) AS source, min(file_idx) AS file_idx
    FROM candidates
    GROUP BY accession, go_id
)
SELECT d.* FROM distinct_rows d ANTI JOIN protein_go s USING (accession, go_id)
ORDER BY accession, go_id
