-- Source embedding sets to post-process: one row per model, layer, pooling and control of $source.
-- $models: VARCHAR[] or NULL (all).
SELECT model, layer, pooling, control, count(*) AS n
FROM embeddings
WHERE embedding_set = $source
  AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
GROUP BY ALL
ORDER BY model, layer, pooling, control
