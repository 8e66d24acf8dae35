-- Local isotropy, per-protein definition: each raw embeddings row's own residue-cloud IsoScore
-- (local_isoscore, stored by the embedding stage or the import for every protein), summarised per
-- model and layer over the proteins that have one: mean, sample sd and quartiles (quantile_cont) of
-- IsoScore and of effective dims = IsoScore * (dim - 1) + 1, dim being the residue vectors' width
-- (residue_stats; else the stored vectors' width). $models: VARCHAR[] or NULL.
WITH per_protein AS (
    SELECT model, layer, local_isoscore AS iso, local_n
    FROM embeddings
    WHERE embedding_set = 'raw' AND control = 'none' AND local_isoscore IS NOT NULL
      AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
), widths AS (
    SELECT model, layer, dim FROM residue_stats_merged() WHERE control = 'none'
), summary AS (
    SELECT model, layer, count(*) AS n_proteins, sum(local_n)::BIGINT AS n_points,
           avg(iso) AS isoscore, stddev_samp(iso) AS isoscore_sd,
           quantile_cont(iso, 0.25) AS isoscore_q1, quantile_cont(iso, 0.5) AS isoscore_median,
           quantile_cont(iso, 0.75) AS isoscore_q3
    FROM per_protein
    GROUP BY model, layer
)
SELECT s.model, s.layer, s.n_proteins, s.n_points,
       coalesce(w.dim, (SELECT len(e.embedding) FROM embeddings e
                        WHERE e.model = s.model AND e.layer = s.layer AND e.embedding_set = 'raw' AND e.control = 'none'
                          AND e.embedding IS NOT NULL LIMIT 1))::INTEGER AS dim,
       s.isoscore, s.isoscore_sd, s.isoscore_q1, s.isoscore_median, s.isoscore_q3
FROM summary s
LEFT JOIN widths w USING (model, layer)
ORDER BY s.model, s.layer
