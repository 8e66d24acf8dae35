-- The rows of one isotropy run, inserted at once: protiso registers them as the Arrow table
-- protiso_isotropy_rows (the columns below except run_id). The placeholder isotropy_metric_columns is
-- every metric column of the registry (protiso/metrics/registry.py), the same list in both places.
INSERT INTO isotropy (
    run_id, model, layer, embedding_set, control, scope, group_by, group_value, n_points, dim,
    {{ isotropy_metric_columns }},
    zeta, isoscore_ci_low, isoscore_ci_high, bootstrap, computed_at,
    n_proteins, null_mean, null_sd, null_low, null_high, null_draws, size_z,
    isoscore_star_target, null_method, null_values, p_value, q_value, size_z_se, is_root,
    matched_sets
)
SELECT
    $run_id, model, layer, embedding_set, control, scope, group_by, group_value, n_points, dim,
    {{ isotropy_metric_columns }},
    zeta, isoscore_ci_low, isoscore_ci_high, bootstrap, computed_at,
    n_proteins, null_mean, null_sd, null_low, null_high, null_draws, size_z,
    isoscore_star_target, null_method, null_values, p_value, q_value, size_z_se, is_root,
    matched_sets
FROM protiso_isotropy_rows
