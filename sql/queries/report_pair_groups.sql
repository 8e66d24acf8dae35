-- Report section 5: the pair groups drawn as density plots: each model's highest layer of raw
-- embeddings in pair_metrics, per pooling and alignment run, with the range of each metric over the
-- complete pairs (as the correlations view counts them). $models: VARCHAR[] or NULL.
WITH chosen AS (
    FROM highest_raw_layer('pair_metrics', $models::VARCHAR[])
)
SELECT
    p.model, p.layer, p.pooling, p.alignment_run, count(*) AS pairs,
    min(p.identity) AS identity_min, max(p.identity) AS identity_max,
    min(p.score) AS score_min, max(p.score) AS score_max,
    min(p.cosine) AS cosine_min, max(p.cosine) AS cosine_max,
    min(p.sq_euclidean) AS sq_euclidean_min, max(p.sq_euclidean) AS sq_euclidean_max
FROM pair_metrics p
JOIN chosen c ON c.model = p.model AND c.layer = p.layer
WHERE p.embedding_set = 'raw' AND p.control = 'none' AND p.complete
GROUP BY ALL
ORDER BY p.model, p.layer, p.pooling, p.alignment_run
