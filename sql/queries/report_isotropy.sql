-- Report sections 2, 4, 7: the newest isotropy row of each model, layer, embedding set and scope,
-- over all points (group_by = 'all'). $models: VARCHAR[] or NULL. The placeholder
-- isotropy_metric_columns is every metric column of the registry (protiso/metrics/registry.py).
SELECT
    model, layer, embedding_set, scope, group_by, group_value, n_points, dim,
    {{ isotropy_metric_columns }},
    zeta, isoscore_ci_low, isoscore_ci_high, bootstrap,
    strftime(computed_at, '%Y-%m-%d %H:%M:%S') AS computed_at
FROM isotropy
WHERE group_by = 'all' AND control = 'none'
  AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
QUALIFY row_number() OVER (
    PARTITION BY model, layer, embedding_set, scope ORDER BY computed_at DESC, run_id DESC
) = 1
ORDER BY model, embedding_set = 'raw' DESC, embedding_set, scope, layer
