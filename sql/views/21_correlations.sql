-- correlations: the study's matrix. For every embedding set (model, layer, pooling, embedding_set, control),
-- alignment run (with its mode: global | local), stratum and weighting, Pearson (of the values) and Spearman
-- (of the ranks) for each pair of metrics among cosine, sq_euclidean, score, identity, similarity,
-- normalized_score and length_normalized_score, over the n pairs whose metrics are all non-NULL.
--   control: none | shuffled | random-init (sql/migrations/0008_controls.sql);
--   stratum 'all' / weighting 'unweighted': every pair (a random sample's only rows, as before);
--   homolog-enriched samples add 'all' / 'weighted' (weighted Pearson with the pairs' sampling weights: the
--   population estimate) and each stratum ('homolog', 'non-homolog') unweighted.
-- Computed from the centred (weighted) scatter matrices in pair_metric_stats (r = S_xy / sqrt(S_xx S_yy)), so it
-- answers at once on millions of pairs; correlations_live() computes the 'all' / 'unweighted' rows with corr()
-- over pair_metrics. *_low / *_high: 95 % intervals from a delete-one-protein jackknife (Fisher z) over
-- n_proteins proteins (Spearman's ranks held fixed). n_missing_embedding / n_null_metric: aligned pairs of the
-- run and stratum left out because a protein has no vector in the set / a metric is NULL.
CREATE OR REPLACE VIEW correlations AS
WITH cells AS (
    SELECT
        *,
        unnest(flatten(list_transform(range(1, len(metrics) + 1), lambda i:
            list_transform(range(i + 1, len(metrics) + 1), lambda j: {'i': i, 'j': j})))) AS cell
    FROM pair_metric_stats
)
SELECT
    c.model, c.layer, c.pooling, c.embedding_set, c.control, c.alignment_run,
    r.mode,
    coalesce(c.stratum, 'all') AS stratum,
    coalesce(c.weighting, 'unweighted') AS weighting,
    c.metrics[c.cell.i] AS metric_x,
    c.metrics[c.cell.j] AS metric_y,
    c.value_scatter[(c.cell.i - 1) * len(c.metrics) + c.cell.j]
        / sqrt(nullif(c.value_scatter[(c.cell.i - 1) * len(c.metrics) + c.cell.i]
                      * c.value_scatter[(c.cell.j - 1) * len(c.metrics) + c.cell.j], 0)) AS pearson,
    c.rank_scatter[(c.cell.i - 1) * len(c.metrics) + c.cell.j]
        / sqrt(nullif(c.rank_scatter[(c.cell.i - 1) * len(c.metrics) + c.cell.i]
                      * c.rank_scatter[(c.cell.j - 1) * len(c.metrics) + c.cell.j], 0)) AS spearman,
    c.n,
    c.pearson_low[(c.cell.i - 1) * len(c.metrics) + c.cell.j] AS pearson_low,
    c.pearson_high[(c.cell.i - 1) * len(c.metrics) + c.cell.j] AS pearson_high,
    c.spearman_low[(c.cell.i - 1) * len(c.metrics) + c.cell.j] AS spearman_low,
    c.spearman_high[(c.cell.i - 1) * len(c.metrics) + c.cell.j] AS spearman_high,
    c.n_proteins,
    c.interval,
    c.weight_total,
    c.n_aligned,
    c.n_missing_embedding,
    c.n_null_metric
FROM cells AS c
LEFT JOIN alignment_runs AS r ON r.run_id = c.alignment_run;
