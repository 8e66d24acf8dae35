-- One row per aligned pair (accession_a < accession_b) and alignment run.
-- identity / similarity = identical / positive-scoring aligned positions divided by alignment length.
SELECT
    NULL::VARCHAR AS accession_a,
    NULL::VARCHAR AS accession_b,
    NULL::DOUBLE  AS score,
    NULL::DOUBLE  AS identity,
    NULL::DOUBLE  AS similarity,
    NULL::INTEGER AS alignment_length,
    NULL::INTEGER AS gaps,
    NULL::DOUBLE  AS normalized_score,
    NULL::VARCHAR AS run_id
LIMIT 0
