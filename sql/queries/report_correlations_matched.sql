-- Report section 4: the layer curves of the correlations on the pairs complete at every layer
-- (view correlations_matched), with N matched (n), the proteins among them and each layer's own N.
-- $models: VARCHAR[] or NULL.
SELECT model, layer, pooling, embedding_set, alignment_run, metric_x, metric_y, pearson, spearman, n, n_proteins,
       n_unmatched, layers
FROM correlations_matched
WHERE control = 'none' AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
ORDER BY model, embedding_set = 'raw' DESC, embedding_set, pooling, alignment_run, metric_x, metric_y, layer
