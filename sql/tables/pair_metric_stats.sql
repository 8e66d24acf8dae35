-- control: none (trained model, real sequences) | shuffled | random-init (sql/migrations/0008_controls.sql);
-- parts written before 0.3 lack the column and read as 'none'.
-- Sufficient statistics of pair_metrics, one row per embedding set (model, layer, pooling, embedding_set)
-- and alignment run, written by protiso (float64 numpy) in the same commit as that group's pair_metrics part.
-- Over the complete pairs (all six metrics non-NULL): n; the metric names in order; their means; and two
-- centred scatter matrices, row-major k x k: value_scatter[i, j] = sum (x_i - mean_i)(x_j - mean_j) over
-- the metric values, rank_scatter the same over their average ranks (centred at (n + 1) / 2).
-- The correlations view derives Pearson (values) and Spearman (ranks) from them in plain SQL.
SELECT
    NULL::VARCHAR   AS model,
    NULL::INTEGER   AS layer,
    NULL::VARCHAR   AS pooling,
    NULL::VARCHAR   AS embedding_set,
    NULL::VARCHAR   AS control,
    NULL::VARCHAR   AS alignment_run,
    NULL::BIGINT    AS n,
    NULL::VARCHAR[] AS metrics,
    NULL::DOUBLE[]  AS means,
    NULL::DOUBLE[]  AS value_scatter,
    NULL::DOUBLE[]  AS rank_scatter,
    NULL::VARCHAR   AS run_id
LIMIT 0
