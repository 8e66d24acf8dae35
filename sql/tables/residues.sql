-- control: none (trained model, real sequences) | shuffled (residue = the shuffled sequence's) | random-init (sql/migrations/0008_controls.sql);
-- parts written before 0.3 lack the column and read as 'none'.
-- Per-residue vectors (all proteins, none, or a seeded sample: see `protiso ingest --residues`).
-- position is 1-based in the stored sequence. vector: stored as a fixed-size list, read as FLOAT[] (see embeddings.sql).
SELECT
    NULL::VARCHAR AS accession,
    NULL::VARCHAR AS model,
    NULL::INTEGER AS layer,
    NULL::VARCHAR AS control,
    NULL::INTEGER AS position,
    NULL::VARCHAR AS residue,
    NULL::FLOAT[] AS vector,
    NULL::VARCHAR AS run_id
LIMIT 0
