-- The local_isotropy rows of one isotropy run (migration 0007), registered by protiso as the Arrow
-- table protiso_local_isotropy_rows (the columns below except run_id).
INSERT INTO local_isotropy (
    run_id, model, layer, definition, n_proteins, n_points, dim,
    isoscore, isoscore_sd, isoscore_q1, isoscore_median, isoscore_q3,
    effective_dims, effective_dims_sd, effective_dims_q1, effective_dims_median, effective_dims_q3,
    mean_cosine, mean_cosine_sd, cosine_proteins, cosine_points, computed_at,
    isoscore_ci_low, isoscore_ci_high, mean_cosine_ci_low, mean_cosine_ci_high, ci_method, ci_replicates, ci_seed
)
SELECT
    $run_id, model, layer, definition, n_proteins, n_points, dim,
    isoscore, isoscore_sd, isoscore_q1, isoscore_median, isoscore_q3,
    effective_dims, effective_dims_sd, effective_dims_q1, effective_dims_median, effective_dims_q3,
    mean_cosine, mean_cosine_sd, cosine_proteins, cosine_points, computed_at,
    isoscore_ci_low, isoscore_ci_high, mean_cosine_ci_low, mean_cosine_ci_high, ci_method, ci_replicates, ci_seed
FROM protiso_local_isotropy_rows
