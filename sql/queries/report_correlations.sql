-- Report section 5: the correlations view (Pearson and Spearman of every pair of pair metrics, per
-- embedding set and alignment run, over all its pairs unweighted, with jackknife intervals over proteins and
-- the pairs left out; report_correlation_strata.sql gives a homolog-enriched sample's other rows).
-- $models: VARCHAR[] or NULL.
SELECT model, layer, pooling, embedding_set, alignment_run, mode, stratum, weighting, metric_x, metric_y,
       pearson, spearman, n, pearson_low, pearson_high, spearman_low, spearman_high, n_proteins,
       n_aligned, n_missing_embedding, n_null_metric
FROM correlations
WHERE stratum = 'all' AND weighting = 'unweighted' AND control = 'none'
  AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
ORDER BY model, layer, embedding_set = 'raw' DESC, embedding_set, pooling, alignment_run,
         stratum <> 'all', stratum, weighting DESC, metric_x, metric_y
