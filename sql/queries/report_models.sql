-- Report section 1: what is embedded, per model, layer and embedding set. (The vectors' width is left
-- out on purpose: reading every embedding list to measure it would cost seconds on large warehouses;
-- the isotropy table and spectra show it.)
-- $models: VARCHAR[] of model names to keep, or NULL for all.
SELECT
    model,
    layer,
    embedding_set,
    string_agg(DISTINCT pooling, ', ' ORDER BY pooling) AS pooling,
    count(*)                                            AS vectors,
    count(DISTINCT accession)                           AS proteins
FROM embeddings
WHERE control = 'none' AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
GROUP BY model, layer, embedding_set
ORDER BY model, layer, embedding_set = 'raw' DESC, embedding_set
