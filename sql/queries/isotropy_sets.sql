-- Embedding sets to measure: one row per model, layer, embedding set, control and pooling.
-- $models, $embedding_sets, $controls: VARCHAR[] or NULL (all).
SELECT model, layer, embedding_set, control, pooling, count(*) AS n
FROM embeddings
WHERE ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
  AND ($embedding_sets::VARCHAR[] IS NULL OR list_contains($embedding_sets::VARCHAR[], embedding_set))
  AND ($controls::VARCHAR[] IS NULL OR list_contains($controls::VARCHAR[], control))
GROUP BY ALL
ORDER BY model, layer, embedding_set, control, pooling
