-- One row of the materialised isotropy table.
INSERT INTO isotropy (
    run_id, model, layer, embedding_set, scope, group_by, group_value, n_points, dim,
    isoscore, isoscore_star, zeta, effective_dims, effective_dims_rounded, mean_cosine,
    isoscore_ci_low, isoscore_ci_high, bootstrap, computed_at
) VALUES (
    $run_id, $model, $layer, $embedding_set, $scope, $group_by, $group_value, $n_points, $dim,
    $isoscore, $isoscore_star, $zeta, $effective_dims, $effective_dims_rounded, $mean_cosine,
    $isoscore_ci_low, $isoscore_ci_high, $bootstrap, $computed_at
)
