-- Embedding sets to measure: one row per model, layer, embedding set and pooling.
-- $models, $embedding_sets: VARCHAR[] or NULL (all).
SELECT model, layer, embedding_set, pooling, count(*) AS n
FROM embeddings
WHERE ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
  AND ($embedding_sets::VARCHAR[] IS NULL OR list_contains($embedding_sets::VARCHAR[], embedding_set))
GROUP BY ALL
ORDER BY model, layer, embedding_set, pooling
