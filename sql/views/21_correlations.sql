-- correlations: the study's matrix. For every embedding set (model, layer, pooling, embedding_set, control) and
-- alignment run, Pearson (of the values) and Spearman (of the average ranks, ties sharing their mean rank)
-- for each of the 15 pairs of metrics among cosine, sq_euclidean, score, identity, similarity and
-- normalized_score, over the n pairs whose six metrics are all non-NULL.
-- Computed from the centred scatter matrices in pair_metric_stats (r = S_xy / sqrt(S_xx S_yy)), so it
-- answers at once on millions of pairs; correlations_live() computes the same with corr() over pair_metrics.
CREATE OR REPLACE VIEW correlations AS
WITH cells AS (
    SELECT
        *,
        unnest(flatten(list_transform(range(1, len(metrics) + 1), lambda i:
            list_transform(range(i + 1, len(metrics) + 1), lambda j: {'i': i, 'j': j})))) AS c
    FROM pair_metric_stats
)
SELECT
    model, layer, pooling, embedding_set, control, alignment_run,
    metrics[c.i] AS metric_x,
    metrics[c.j] AS metric_y,
    value_scatter[(c.i - 1) * len(metrics) + c.j]
        / sqrt(nullif(value_scatter[(c.i - 1) * len(metrics) + c.i]
                      * value_scatter[(c.j - 1) * len(metrics) + c.j], 0)) AS pearson,
    rank_scatter[(c.i - 1) * len(metrics) + c.j]
        / sqrt(nullif(rank_scatter[(c.i - 1) * len(metrics) + c.i]
                      * rank_scatter[(c.j - 1) * len(metrics) + c.j], 0)) AS spearman,
    n
FROM cells;
