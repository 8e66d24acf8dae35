-- For $group_by = 'go_term': every annotated GO term (group_value) with itself and each of its
-- ancestors by the true-path rule (go_ancestors(), sql/macros/protein_groups.sql); no rows otherwise.
SELECT go_id AS group_value, ancestor
FROM go_ancestors()
WHERE $group_by = 'go_term'
