-- Ingest step: classify every staged protein record (temp views staged_* over the staged Parquet).
--   new              first record of an accession that is not stored yet
--   duplicate        same accession and same sequence as an earlier record of this input
--   unchanged        accession already stored with the same sequence (reruns add nothing)
--   conflict_input   the input gives this accession with different sequences: every record rejected
--   conflict_stored  accession stored with a different sequence: rejected
--   (an accession stored without a sequence, as import-vectors creates them, counts as unchanged: its
--   sequence and empty fields are filled, ingest_protein_enrich.sql)
CREATE OR REPLACE TEMP TABLE ingest_protein_status AS
WITH staged AS (
    SELECT file_idx, record, source, accession, md5(sequence) AS seq_hash
    FROM staged_proteins
),
per_accession AS (
    SELECT accession, count(DISTINCT seq_hash) AS n_sequences
    FROM staged
    GROUP BY accession
),
conflicts AS (
    SELECT accession, any_value(n_sequences) AS n_sequences,
           string_agg(source || ' line ' || record, ', ' ORDER BY file_idx, record) AS places
    FROM staged JOIN per_accession USING (accession)
    WHERE n_sequences > 1
    GROUP BY accession
),
stored AS (
    SELECT p.accession, any_value(p.seq_hash) AS seq_hash, any_value(p.source) AS source
    FROM proteins p SEMI JOIN staged s ON p.accession = s.accession
    GROUP BY p.accession
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY accession ORDER BY file_idx, record) AS occurrence
    FROM staged
)
SELECT
    r.file_idx, r.record, r.source, r.accession, r.seq_hash,
    CASE
        WHEN c.accession IS NOT NULL THEN 'conflict_input'
        WHEN st.seq_hash IS NOT NULL AND st.seq_hash <> r.seq_hash THEN 'conflict_stored'
        WHEN st.seq_hash IS NOT NULL THEN 'unchanged'
        WHEN r.occurrence > 1 THEN 'duplicate'
        WHEN st.accession IS NOT NULL THEN 'unchanged'
        ELSE 'new'
    END AS status,
    CASE
        WHEN c.accession IS NOT NULL THEN
            'accession ' || r.accession || ' occurs with ' || c.n_sequences
            || ' different sequences in the input (' || left(c.places, 200) || ')'
        WHEN st.seq_hash IS NOT NULL AND st.seq_hash <> r.seq_hash THEN
            'accession ' || r.accession || ' is already stored with a different sequence (from '
            || coalesce(st.source, '?') || ')'
    END AS reason
FROM ranked r
LEFT JOIN conflicts c USING (accession)
LEFT JOIN stored st USING (accession)
