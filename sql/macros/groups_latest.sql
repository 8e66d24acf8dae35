-- groups_latest(models): the newest row of every annotation group (not 'all' or 'matched') of the real
-- sets (control none) that has an IsoScore, with its size in proteins and, for GO terms, the term's
-- namespace and name. models: VARCHAR[] or NULL (every model). Report section 6 reads it
-- (report_groups.sql, report_group_sizes.sql):
--   SELECT group_by, group_value, size, isoscore, size_z FROM groups_latest(NULL) ORDER BY size_z DESC;
CREATE OR REPLACE MACRO groups_latest(models) AS TABLE
WITH terms AS (
    SELECT go_id, any_value(name) AS name, any_value(namespace) AS namespace FROM go_terms GROUP BY go_id
)
SELECT i.*, coalesce(i.n_proteins, i.n_points) AS size,
       CASE WHEN i.group_by = 'go_term' THEN t.namespace END AS namespace, t.name AS group_name
FROM isotropy i
LEFT JOIN terms t ON i.group_by = 'go_term' AND t.go_id = i.group_value
WHERE i.group_by NOT IN ('all', 'matched') AND i.isoscore IS NOT NULL AND i.control = 'none'
  AND (models::VARCHAR[] IS NULL OR list_contains(models::VARCHAR[], i.model))
QUALIFY row_number() OVER (
    PARTITION BY i.model, i.layer, i.embedding_set, i.scope, i.group_by, i.group_value
    ORDER BY i.computed_at DESC, i.run_id DESC
) = 1;
