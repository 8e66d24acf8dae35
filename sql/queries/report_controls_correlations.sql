-- Report headline, controls: r(cosine, identity) and r(cosine, score) of each model's raw set per layer and
-- control, for the newest alignment run that has pair metrics of the real set (control none) of that model
-- and layer. $models: VARCHAR[] or NULL.
WITH chosen AS (
    SELECT c.model, c.layer, c.alignment_run
    FROM correlations c JOIN alignment_runs a ON a.run_id = c.alignment_run
    WHERE c.embedding_set = 'raw' AND c.control = 'none'
      AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], c.model))
    QUALIFY row_number() OVER (PARTITION BY c.model, c.layer ORDER BY a.created_at DESC, c.alignment_run DESC) = 1
)
SELECT c.model, c.layer, c.pooling, c.control, c.alignment_run, c.metric_x, c.metric_y, c.pearson, c.spearman, c.n
FROM correlations c
JOIN chosen h ON h.model = c.model AND h.layer = c.layer AND h.alignment_run = c.alignment_run
WHERE c.embedding_set = 'raw' AND c.metric_x = 'cosine' AND c.metric_y IN ('identity', 'score')
ORDER BY c.model, c.layer, c.control, c.metric_y
