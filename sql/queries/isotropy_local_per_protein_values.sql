-- Each protein's own local IsoScore per model and layer (raw embeddings), as one list per (model, layer):
-- what the per-protein local summaries' intervals over proteins resample. $models: VARCHAR[] or NULL.
SELECT model, layer, list(local_isoscore ORDER BY accession) AS values
FROM embeddings
WHERE embedding_set = 'raw' AND local_isoscore IS NOT NULL
  AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
GROUP BY model, layer
