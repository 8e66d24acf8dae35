-- Report headline, controls: r(cosine, identity) and r(cosine, score) of each model's raw set per layer and
-- control, with their 95 % delete-one-protein jackknife intervals over proteins, for the newest alignment run
-- that has pair metrics of the real set (control none) of that model and layer. Rows per run: a random sample
-- gives stratum 'all' / weighting 'unweighted' only; a homolog-enriched sample gives one 'unweighted' row per
-- stratum ('homolog', 'non-homolog') and the population estimate 'all' / 'weighted' (its pooled unweighted
-- row mixes the strata in the sample's own proportions, so it is left out). $models: VARCHAR[] or NULL.
WITH chosen AS (
    SELECT c.model, c.layer, c.alignment_run
    FROM correlations c JOIN alignment_runs a ON a.run_id = c.alignment_run
    WHERE c.embedding_set = 'raw' AND c.control = 'none' AND c.stratum = 'all' AND c.weighting = 'unweighted'
      AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], c.model))
    QUALIFY row_number() OVER (PARTITION BY c.model, c.layer ORDER BY a.created_at DESC, c.alignment_run DESC) = 1
), rows AS (
    SELECT c.*, bool_or(c.stratum <> 'all' OR c.weighting <> 'unweighted')
               OVER (PARTITION BY c.model, c.layer, c.alignment_run) AS enriched
    FROM correlations c
    JOIN chosen h ON h.model = c.model AND h.layer = c.layer AND h.alignment_run = c.alignment_run
    WHERE c.embedding_set = 'raw' AND c.metric_x = 'cosine' AND c.metric_y IN ('identity', 'score')
)
SELECT model, layer, pooling, control, alignment_run, mode, stratum, weighting, metric_x, metric_y, pearson,
       pearson_low, pearson_high, spearman, n, n_proteins
FROM rows
WHERE CASE WHEN enriched
           THEN (stratum <> 'all' AND weighting = 'unweighted') OR (stratum = 'all' AND weighting = 'weighted')
           ELSE stratum = 'all' AND weighting = 'unweighted' END
ORDER BY model, layer, control, stratum = 'all', stratum, metric_y
