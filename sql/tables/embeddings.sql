-- control: none (trained model, real sequences) | shuffled | random-init (sql/migrations/0008_controls.sql);
-- parts written before 0.3 lack the column and read as 'none'.
-- One global vector per (accession, model, layer, pooling, embedding_set).
-- embedding is a FLOAT list here; parts store it as a fixed-size list of the model's width (protiso/warehouse/contracts.py),
-- which DuckDB reads as FLOAT[]: cast with embedding::FLOAT[512] (etc.) for fixed-size array functions.
-- length_policy says how a sequence longer than the model's limit was handled (none | truncate | chunk_mean).
-- local_isoscore / local_n: IsoScore of this protein's own residue vectors and their count.
SELECT
    NULL::VARCHAR AS accession,
    NULL::VARCHAR AS seq_hash,
    NULL::VARCHAR AS model,
    NULL::INTEGER AS layer,
    NULL::VARCHAR AS pooling,
    NULL::VARCHAR AS embedding_set,
    NULL::VARCHAR AS control,
    NULL::VARCHAR AS length_policy,
    NULL::FLOAT[] AS embedding,
    NULL::DOUBLE  AS local_isoscore,
    NULL::INTEGER AS local_n,
    NULL::VARCHAR AS run_id
LIMIT 0
