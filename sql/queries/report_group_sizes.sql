-- Report section 6's plot: every ranked group (newest row, root GO terms left out) with its size in
-- proteins, IsoScore and its null's mean and 95 % interval, per model, layer, set, scope, grouping and
-- GO namespace. $models: VARCHAR[] or NULL.
SELECT model, layer, embedding_set, scope, group_by, namespace, group_value,
       size, isoscore, null_mean, null_low, null_high, q_value
FROM groups_latest($models::VARCHAR[])
WHERE NOT coalesce(is_root, false)
ORDER BY model, layer, embedding_set, scope, group_by, namespace NULLS LAST, size, group_value
