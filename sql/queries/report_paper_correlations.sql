-- Report, "how this compares with the paper": the six correlations the study printed (cosine,
-- squared Euclidean distance, alignment score, identity), Pearson, for each raw embedding set at
-- its model's highest layer and each alignment run. $models: VARCHAR[] or NULL.
WITH highest AS (
    SELECT model, max(layer) AS layer FROM correlations
    WHERE embedding_set = 'raw' AND stratum = 'all' AND weighting = 'unweighted' AND control = 'none' GROUP BY model
)
SELECT c.model, c.layer, c.pooling, c.embedding_set, c.alignment_run, c.metric_x, c.metric_y, c.pearson, c.n
FROM correlations c
JOIN highest h ON h.model = c.model AND h.layer = c.layer
WHERE c.embedding_set = 'raw' AND c.stratum = 'all' AND c.weighting = 'unweighted' AND c.control = 'none'
  AND list_contains(['cosine', 'sq_euclidean', 'score', 'identity'], c.metric_x)
  AND list_contains(['cosine', 'sq_euclidean', 'score', 'identity'], c.metric_y)
  AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], c.model))
ORDER BY c.model, c.pooling, c.alignment_run, c.metric_x, c.metric_y
