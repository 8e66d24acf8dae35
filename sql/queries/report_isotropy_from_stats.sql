-- Report section 2 (and every reader of Source.isotropy_rows) when `protiso isotropy` has not run for a
-- set: the same figures over all points from the float64 statistics the embedding job stored, through
-- the plain-SQL macros of sql/macros/isotropy_stats.sql: global sets from embedding_stats (complete
-- sets only), the pooled local cloud from residue_stats. Same columns as report_isotropy.sql, plus
-- origin (the table read). Mean cosine of the local cloud is NULL (residue_stats keep no unit vectors).
-- $models: VARCHAR[] or NULL; $zeta: IsoScore* shrinkage (as protiso isotropy's default).
SELECT model, layer, embedding_set, 'global' AS scope, 'all' AS group_by, 'all' AS group_value,
       n AS n_points, dim, isoscore, isoscore_star, $zeta::DOUBLE AS zeta, effective_dims, effective_dims_rounded,
       mean_cosine, NULL::DOUBLE AS isoscore_ci_low, NULL::DOUBLE AS isoscore_ci_high, NULL::INTEGER AS bootstrap,
       NULL::VARCHAR AS computed_at, 'embedding_stats' AS origin
FROM embedding_stats_isotropy(zeta := $zeta::DOUBLE)
WHERE complete AND isoscore IS NOT NULL AND control = 'none'
  AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
UNION ALL
SELECT model, layer, 'raw', 'local', 'all', 'all', n, dim,
       stats_isoscore(n, dim, sum_x, sum_xxt), stats_isoscore_star(n, dim, sum_x, sum_xxt, $zeta::DOUBLE),
       $zeta::DOUBLE, stats_effective_dims(n, dim, sum_x, sum_xxt), stats_effective_dims_rounded(n, dim, sum_x, sum_xxt),
       NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::INTEGER, NULL::VARCHAR, 'residue_stats'
FROM residue_stats_merged()
WHERE n >= 2 AND control = 'none' AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
ORDER BY model, embedding_set = 'raw' DESC, embedding_set, scope, layer
