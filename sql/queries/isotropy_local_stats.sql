-- Residue-vector sufficient statistics merged over runs, one row per model and layer.
-- $models: VARCHAR[] or NULL (all).
SELECT model, layer, n, dim, sum_x, sum_xxt
FROM residue_stats_merged()
WHERE $models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model)
ORDER BY model, layer
