-- Report headline, controls: the whole-set global isotropy of each model's raw set per layer and control
-- (none | shuffled | random-init). Where `protiso isotropy` stored the matched 'controls' family
-- (group_by = 'matched', group_value = 'controls': the real set and its controls measured on the proteins all
-- of them have), its newest row per control, basis 'matched', N = the shared proteins; for a control the family
-- lacks, the set's own newest 'all' row (isotropy_latest), basis 'own'. $models: VARCHAR[] or NULL.
WITH matched AS (
    SELECT model, layer, control, n_points, dim, isoscore, effective_dims, mean_cosine, 'matched' AS basis
    FROM isotropy
    WHERE embedding_set = 'raw' AND scope = 'global' AND group_by = 'matched' AND group_value = 'controls'
      AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
    QUALIFY row_number() OVER (PARTITION BY model, layer, control ORDER BY computed_at DESC, run_id DESC) = 1
), own AS (
    SELECT model, layer, control, n_points, dim, isoscore, effective_dims, mean_cosine, 'own' AS basis
    FROM isotropy_latest
    WHERE embedding_set = 'raw' AND scope = 'global' AND group_by = 'all'
      AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
)
SELECT * FROM matched
UNION ALL
SELECT * FROM own o
WHERE NOT EXISTS (SELECT 1 FROM matched m WHERE m.model = o.model AND m.layer = o.layer AND m.control = o.control)
ORDER BY model, layer, control
