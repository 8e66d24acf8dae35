-- Report section 3 (local scope): residue-vector sufficient statistics of each model's highest layer
-- that has them, one row per embedding run (rows merge by addition). $models: VARCHAR[] or NULL.
WITH chosen AS (
    SELECT model, max(layer) AS layer
    FROM residue_stats
    WHERE $models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model)
    GROUP BY model
)
SELECT r.model, r.layer, r.n, r.dim, r.sum_x, r.sum_xxt
FROM residue_stats r
JOIN chosen c ON c.model = r.model AND c.layer = r.layer
ORDER BY r.model, r.run_id
