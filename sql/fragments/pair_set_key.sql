    -- the key every pair-metric table starts with: the embedding set and the alignment run (sql/fragments)
    NULL::VARCHAR AS model,
    NULL::INTEGER AS layer,
    NULL::VARCHAR AS pooling,
    NULL::VARCHAR AS embedding_set,
    NULL::VARCHAR AS control,
    NULL::VARCHAR AS alignment_run,
