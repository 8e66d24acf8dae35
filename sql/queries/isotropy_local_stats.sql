-- Residue-vector sufficient statistics merged over runs, one row per model and layer (real
-- sequences, trained weights: local isotropy of controls is not measured).
-- $models: VARCHAR[] or NULL (all).
SELECT model, layer, n, dim, sum_x, sum_xxt
FROM residue_stats_merged()
WHERE control = 'none' AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
ORDER BY model, layer
