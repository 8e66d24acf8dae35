-- The test family and root flag of each group of $group_by (protiso registers protiso_group_names(group_value)):
-- GO terms are tested within their namespace (go_terms; NULL when unknown) and a root term (the three GO
-- roots, or with a GO graph loaded any term with no is_a / part_of parent, go_true_path_edges()) is neither
-- tested nor ranked: it holds nearly every annotated protein. Other groupings: one family, no roots.
WITH terms AS (
    SELECT go_id, any_value(namespace) AS namespace FROM go_terms GROUP BY go_id
), has_parent AS (
    SELECT DISTINCT child FROM go_true_path_edges()
)
SELECT n.group_value,
       CASE WHEN $group_by = 'go_term' THEN t.namespace END AS namespace,
       $group_by = 'go_term' AND (
           n.group_value IN ('GO:0008150', 'GO:0003674', 'GO:0005575')
           OR ((SELECT count(*) FROM has_parent) > 0 AND n.group_value NOT IN (SELECT child FROM has_parent))
       ) AS is_root
FROM protiso_group_names n
LEFT JOIN terms t ON t.go_id = n.group_value
