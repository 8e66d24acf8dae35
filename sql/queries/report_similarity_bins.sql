-- Report section 5: the similarity_bins view (mean and standard deviation of cosine similarity and
-- squared Euclidean distance per identity bin) for each model's highest layer of raw embeddings.
-- $models: VARCHAR[] or NULL.
SELECT model, layer, pooling, alignment_run, bin, bin_low, bin_high, n,
       cosine_mean, cosine_stddev, sq_euclidean_mean, sq_euclidean_stddev
FROM similarity_bins
WHERE bin_by = 'identity' AND embedding_set = 'raw' AND control = 'none'
  AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
QUALIFY layer = max(layer) OVER (PARTITION BY model)
ORDER BY model, layer, pooling, alignment_run, bin
