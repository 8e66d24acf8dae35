-- Report section 5: the correlations rows of homolog-enriched samples besides all pairs unweighted: all pairs
-- weighted to the population, and each stratum (homolog, non-homolog) unweighted.
-- $models: VARCHAR[] or NULL.
SELECT model, layer, pooling, embedding_set, alignment_run, mode, stratum, weighting, metric_x, metric_y,
       pearson, spearman, n, pearson_low, pearson_high, spearman_low, spearman_high, n_proteins,
       n_aligned, n_missing_embedding, n_null_metric
FROM correlations
WHERE NOT (stratum = 'all' AND weighting = 'unweighted') AND control = 'none'
  AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
ORDER BY model, layer, embedding_set = 'raw' DESC, embedding_set, pooling, alignment_run,
         stratum <> 'all', stratum, weighting DESC, metric_x, metric_y
