-- Report headline, controls: partial r(cosine, identity) over all pairs (length_ratio 'all') of each model's raw
-- set per layer, control, stratum and weighting, controlling linearly for length and composition and for the
-- flexible length + composition basis (partial_correlations), with their 95 % jackknife intervals over
-- proteins. The report keeps the rows of the alignment run and strata its correlations rows show.
-- $models: VARCHAR[] or NULL.
SELECT model, layer, pooling, control, alignment_run, stratum, weighting, metric_x, metric_y, adjustment, pearson,
       pearson_low, pearson_high, n, n_proteins
FROM partial_correlations
WHERE embedding_set = 'raw' AND length_ratio = 'all' AND metric_x = 'cosine' AND metric_y = 'identity'
  AND adjustment IN ('length + composition (linear)', 'flexible length + composition')
  AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
ORDER BY model, layer, control, alignment_run, stratum, weighting, adjustment
