-- Report section 5: the correlations view (Pearson and Spearman of every pair of pair metrics, per
-- embedding set and alignment run). $models: VARCHAR[] or NULL.
SELECT model, layer, pooling, embedding_set, alignment_run, metric_x, metric_y, pearson, spearman, n
FROM correlations
WHERE control = 'none' AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
ORDER BY model, layer, embedding_set = 'raw' DESC, embedding_set, pooling, alignment_run, metric_x, metric_y
