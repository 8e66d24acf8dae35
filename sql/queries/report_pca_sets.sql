-- Report PCA section: the embedding set each model's PCA view shows: raw vectors of the model's
-- highest stored layer (one row per pooling), with its vector count and width. $models: VARCHAR[] or NULL.
SELECT model, layer, pooling, count(embedding) AS vectors, max(len(embedding)) AS dim
FROM embeddings
WHERE embedding_set = 'raw' AND control = 'none'
  AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
GROUP BY model, layer, pooling
QUALIFY layer = max(layer) OVER (PARTITION BY model)
ORDER BY model, pooling NULLS FIRST
