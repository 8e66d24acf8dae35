-- similarity_bins: where do embeddings agree with alignments? Mean, standard deviation (sample) and count
-- of cosine similarity and squared Euclidean distance per alignment-similarity bin, for every embedding set
-- (model, layer, pooling, embedding_set, control)
-- and alignment run, over complete pairs (as in correlations).
--   bin_by = 'identity': 20 bins of width 0.05 on [0, 1] (identity 1.0 falls in the last bin, [0.95, 1]);
--   bin_by = 'score':    20 equal-width bins between the group's lowest and highest score.
CREATE OR REPLACE VIEW similarity_bins AS
WITH base AS (
    SELECT model, layer, pooling, embedding_set, control, alignment_run, cosine, sq_euclidean, identity, score,
           min(score) OVER g AS s0, max(score) OVER g AS s1
    FROM pair_metrics
    WHERE complete
    WINDOW g AS (PARTITION BY model, layer, pooling, embedding_set, control, alignment_run)
), binned AS (
    SELECT *,
        least(floor(identity / 0.05), 19)::INTEGER AS bin_identity,
        coalesce(least(floor((score - s0) / nullif(s1 - s0, 0) * 20), 19), 0)::INTEGER AS bin_score
    FROM base
), grouped AS (
    SELECT
        model, layer, pooling, embedding_set, control, alignment_run,
        CASE WHEN grouping(bin_identity) = 0 THEN 'identity' ELSE 'score' END AS bin_by,
        coalesce(bin_identity, bin_score) AS bin,
        any_value(s0) AS s0, any_value(s1) AS s1,
        count(*) AS n,
        avg(cosine) AS cosine_mean, stddev_samp(cosine) AS cosine_stddev,
        avg(sq_euclidean) AS sq_euclidean_mean, stddev_samp(sq_euclidean) AS sq_euclidean_stddev
    FROM binned
    GROUP BY GROUPING SETS (
        (model, layer, pooling, embedding_set, control, alignment_run, bin_identity),
        (model, layer, pooling, embedding_set, control, alignment_run, bin_score)
    )
)
SELECT
    model, layer, pooling, embedding_set, control, alignment_run, bin_by, bin,
    CASE WHEN bin_by = 'identity' THEN bin * 0.05 ELSE s0 + bin * (s1 - s0) / 20 END AS bin_low,
    CASE WHEN bin_by = 'identity' THEN (bin + 1) * 0.05 ELSE s0 + (bin + 1) * (s1 - s0) / 20 END AS bin_high,
    n, cosine_mean, cosine_stddev, sq_euclidean_mean, sq_euclidean_stddev
FROM grouped;
