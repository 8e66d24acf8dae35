-- Report sections 2 and 4: the newest matched row (group_by = 'matched', migration 0010) of each model,
-- layer, embedding set, scope and family (group_value 'layers' | 'models'), with the matched N (n_points)
-- and the set's own N over all its proteins (n_own, its newest 'all' row); local rows: n_points counts the
-- residues of the n_proteins proteins with stored residues at every layer. $models: VARCHAR[] or NULL.
WITH matched AS (
    SELECT * FROM isotropy
    WHERE group_by = 'matched' AND (control = 'none' OR group_value = 'controls') AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
    QUALIFY row_number() OVER (PARTITION BY model, layer, embedding_set, control, scope, group_value
                               ORDER BY computed_at DESC, run_id DESC) = 1
), own AS (
    SELECT model, layer, embedding_set, control, scope, n_points, isoscore
    FROM isotropy
    WHERE group_by = 'all'
    QUALIFY row_number() OVER (PARTITION BY model, layer, embedding_set, control, scope ORDER BY computed_at DESC, run_id DESC) = 1
)
SELECT m.model, m.layer, m.embedding_set, m.control, m.scope, m.group_by, m.group_value, m.n_points, m.dim, m.isoscore,
       m.isoscore_star, m.effective_dims, m.mean_cosine, m.isoscore_ci_low, m.isoscore_ci_high, m.matched_sets,
       m.n_proteins,
       o.n_points AS n_own, o.isoscore AS isoscore_own
FROM matched m
LEFT JOIN own o USING (model, layer, embedding_set, control, scope)
ORDER BY m.group_value, m.model, m.embedding_set = 'raw' DESC, m.embedding_set, m.scope, m.layer
