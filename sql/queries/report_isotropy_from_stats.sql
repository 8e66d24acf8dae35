-- Report section 2 (and every reader of Source.isotropy_rows) when `protiso isotropy` has not run for a
-- set: the same figures over all points from the float64 statistics the embedding job stored, through
-- the plain-SQL macros of sql/macros/isotropy_stats.sql: global sets from embedding_stats (complete
-- sets only), the pooled local cloud from residue_stats. Same columns as report_isotropy.sql, plus
-- origin (the table read). Mean cosine of the local cloud is NULL (residue_stats keep no unit vectors).
-- $models: VARCHAR[] or NULL; $zeta: IsoScore* shrinkage (as protiso isotropy's default).
-- The placeholder isotropy_metric_macros is each metric column of the registry through its macro over
-- the statistics (NULL for a metric without one); isotropy_metric_columns names them.
SELECT model, layer, embedding_set, 'global' AS scope, 'all' AS group_by, 'all' AS group_value,
       n AS n_points, dim, {{ isotropy_metric_columns }}, $zeta::DOUBLE AS zeta,
       NULL::DOUBLE AS isoscore_ci_low, NULL::DOUBLE AS isoscore_ci_high, NULL::INTEGER AS bootstrap,
       NULL::VARCHAR AS computed_at, 'embedding_stats' AS origin
FROM embedding_stats_isotropy(zeta := $zeta::DOUBLE)
WHERE complete AND isoscore IS NOT NULL AND control = 'none'
  AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
UNION ALL BY NAME
SELECT model, layer, 'raw' AS embedding_set, 'local' AS scope, 'all' AS group_by, 'all' AS group_value,
       n AS n_points, dim, {{ isotropy_metric_macros }}, zeta,
       NULL::DOUBLE AS isoscore_ci_low, NULL::DOUBLE AS isoscore_ci_high, NULL::INTEGER AS bootstrap,
       NULL::VARCHAR AS computed_at, 'residue_stats' AS origin
FROM (SELECT *, $zeta::DOUBLE AS zeta, NULL::BIGINT AS n_unit, NULL::DOUBLE[] AS sum_unit,
             NULL::DOUBLE AS sum_unit_sq
      FROM residue_stats_merged())
WHERE n >= 2 AND control = 'none' AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
ORDER BY model, embedding_set = 'raw' DESC, embedding_set, scope, layer
