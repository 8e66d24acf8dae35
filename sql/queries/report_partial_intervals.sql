-- Report section 5: partial_correlations rows (Pearson with jackknife intervals over proteins) of the
-- embedding metrics against identity and score: every adjustment over all pairs, and within length-ratio
-- strata. $models: VARCHAR[] or NULL.
SELECT model, layer, pooling, embedding_set, alignment_run, stratum, weighting, length_ratio, metric_x, metric_y,
       adjustment, pearson, pearson_low, pearson_high, n, n_proteins
FROM partial_correlations
WHERE list_contains(['identity', 'score'], metric_y) AND control = 'none'
  AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
ORDER BY model, layer, embedding_set = 'raw' DESC, embedding_set, pooling, alignment_run, stratum <> 'all', stratum,
         weighting DESC, metric_x, metric_y, length_ratio <> 'all', length_ratio, adjustment
