-- Report section 6's plot: every ranked group (newest row, root GO terms left out) with its size in
-- proteins, IsoScore and its null's mean and 95 % interval, per model, layer, set, scope, grouping and
-- GO namespace. $models: VARCHAR[] or NULL.
WITH terms AS (
    SELECT go_id, any_value(namespace) AS namespace FROM go_terms GROUP BY go_id
)
SELECT i.model, i.layer, i.embedding_set, i.scope, i.group_by,
       CASE WHEN i.group_by = 'go_term' THEN t.namespace END AS namespace, i.group_value,
       coalesce(i.n_proteins, i.n_points) AS size, i.isoscore, i.null_mean, i.null_low, i.null_high, i.q_value
FROM isotropy i
LEFT JOIN terms t ON i.group_by = 'go_term' AND t.go_id = i.group_value
WHERE i.group_by NOT IN ('all', 'matched') AND i.isoscore IS NOT NULL AND i.control = 'none'
  AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], i.model))
QUALIFY row_number() OVER (
    PARTITION BY i.model, i.layer, i.embedding_set, i.scope, i.group_by, i.group_value
    ORDER BY i.computed_at DESC, i.run_id DESC) = 1
    AND NOT coalesce(i.is_root, false)
ORDER BY i.model, i.layer, i.embedding_set, i.scope, i.group_by, namespace NULLS LAST, size, i.group_value
