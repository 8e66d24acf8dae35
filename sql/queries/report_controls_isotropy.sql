-- Report headline, controls: the whole-set global isotropy of each model's raw set (isotropy_latest,
-- group_by = 'all') per layer and control (none | shuffled | random-init). $models: VARCHAR[] or NULL.
SELECT model, layer, control, n_points, dim, isoscore, effective_dims, mean_cosine
FROM isotropy_latest
WHERE embedding_set = 'raw' AND scope = 'global' AND group_by = 'all'
  AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
ORDER BY model, layer, control
