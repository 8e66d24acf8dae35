-- Sufficient statistics of pair_metrics, one row per embedding set (model, layer, pooling, embedding_set,
-- control), alignment run, stratum and weighting, written by protiso (float64 numpy) in the same commit as that
-- group's pair_metrics part. stratum 'all' / weighting 'unweighted' covers every pair (the only row of a random
-- sample); a homolog-enriched sample adds 'all' / 'weighted' (each pair weighted by its sampling weight: the
-- population estimate) and one 'unweighted' row per stratum ('homolog', 'non-homolog').
-- control: none (trained model, real sequences) | shuffled | random-init (sql/migrations/0008_controls.sql);
-- parts written before 0.3 lack the column and read as 'none'.
-- Over the complete pairs (all metrics non-NULL): n; the metric names in order; their (weighted) means; and
-- two centred (weighted) scatter matrices, row-major k x k: value_scatter[i, j] = sum w (x_i - mean_i)(x_j -
-- mean_j), rank_scatter the same over ranks (average ranks over all pairs for 'all' / 'unweighted', as the
-- rank columns of pair_metrics; ranks within the stratum for a stratum; for 'weighted', estimated population
-- mid-ranks: the weight of the smaller values plus half the weight of the ties). weight_total = sum w.
-- The correlations view derives Pearson (values) and Spearman (ranks) from them in plain SQL.
-- Intervals (k x k, row-major): 95 % delete-one-protein jackknife on Fisher's z (`interval` says so), over the
-- n_proteins proteins with pairs; Spearman's ranks are held fixed. Pairs left out: n_aligned (alignment rows
-- of the run and stratum) = n + n_missing_embedding (a protein has no vector in the set) + n_null_metric (a
-- metric is NULL, e.g. cosine of a zero vector, normalized_score of an all-X protein); null_by_metric counts
-- each metric's NULLs among the pairs with vectors (a pair can have several).
SELECT
{{ pair_set_key }}
    NULL::VARCHAR   AS stratum,
    NULL::VARCHAR   AS weighting,
    NULL::BIGINT    AS n,
    NULL::VARCHAR[] AS metrics,
    NULL::DOUBLE[]  AS means,
    NULL::DOUBLE[]  AS value_scatter,
    NULL::DOUBLE[]  AS rank_scatter,
    NULL::DOUBLE    AS weight_total,
    NULL::BIGINT    AS n_proteins,
    NULL::DOUBLE[]  AS pearson_low,
    NULL::DOUBLE[]  AS pearson_high,
    NULL::DOUBLE[]  AS spearman_low,
    NULL::DOUBLE[]  AS spearman_high,
    NULL::VARCHAR   AS interval,
    NULL::BIGINT    AS n_aligned,
    NULL::BIGINT    AS n_missing_embedding,
    NULL::BIGINT    AS n_null_metric,
    NULL::BIGINT[]  AS null_by_metric,
    NULL::VARCHAR   AS run_id
LIMIT 0
