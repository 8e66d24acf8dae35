-- Report section 6: isotropy per annotation group (organism, GO term, ...): the $top most and
-- $top least isotropic groups (by IsoScore) of each model, layer, embedding set, scope and grouping,
-- newest row per group. GO ids get their names from go_terms. $models: VARCHAR[] or NULL.
WITH latest AS (
    SELECT *
    FROM isotropy
    WHERE group_by <> 'all' AND isoscore IS NOT NULL
      AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
    QUALIFY row_number() OVER (
        PARTITION BY model, layer, embedding_set, scope, group_by, group_value
        ORDER BY computed_at DESC, run_id DESC
    ) = 1
), ranked AS (
    SELECT
        *,
        row_number() OVER w_desc AS rank_most,
        row_number() OVER w_asc  AS rank_least,
        count(*) OVER (PARTITION BY model, layer, embedding_set, scope, group_by) AS groups
    FROM latest
    WINDOW
        w_desc AS (PARTITION BY model, layer, embedding_set, scope, group_by ORDER BY isoscore DESC, group_value),
        w_asc  AS (PARTITION BY model, layer, embedding_set, scope, group_by ORDER BY isoscore ASC, group_value)
)
SELECT
    r.model, r.layer, r.embedding_set, r.scope, r.group_by, r.group_value,
    g.name AS group_name,
    r.n_points, r.isoscore, r.isoscore_star, r.effective_dims, r.mean_cosine,
    r.rank_most, r.rank_least, r.groups
FROM ranked r
LEFT JOIN (SELECT go_id, any_value(name) AS name FROM go_terms GROUP BY go_id) g
       ON r.group_by = 'go_term' AND g.go_id = r.group_value
WHERE r.rank_most <= $top OR r.rank_least <= $top
ORDER BY r.model, r.layer, r.embedding_set = 'raw' DESC, r.embedding_set, r.scope, r.group_by, r.isoscore DESC
