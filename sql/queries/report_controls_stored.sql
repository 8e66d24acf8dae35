-- Report headline, controls: which raw sets are stored, per model, layer and control (to name the command
-- that makes a missing control). $models: VARCHAR[] or NULL.
SELECT model, layer, control, count(*) AS vectors
FROM embeddings
WHERE embedding_set = 'raw' AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
GROUP BY ALL
ORDER BY model, layer, control
