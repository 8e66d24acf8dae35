-- Live recomputations for checks and ad hoc questions (table macros, so that listing the warehouse's tables
-- never runs them by accident; both are plain SQL that the DuckDB CLI runs).
--
-- pair_metrics_live(alignment_run := NULL): pair_metrics' embedding metrics recomputed from the stored
-- vectors (cast to DOUBLE[], so float64), beside the pair's alignment metrics; the latest embedding run of a
-- protein wins. Minutes on millions of pairs (6.4 M pairs x 420-d: about 10 minutes on 2 busy cores),
-- which is why protiso materialises pair_metrics:
--   SELECT * FROM pair_metrics_live() WHERE accession_a = 'P12345';
CREATE OR REPLACE MACRO pair_metrics_live(alignment_run := NULL) AS TABLE
WITH vectors AS (
    SELECT accession, model, layer, pooling, embedding_set, control, embedding::DOUBLE[] AS v
    FROM embeddings
    WHERE embedding IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY accession, model, layer, pooling, embedding_set, control
                               ORDER BY run_id DESC NULLS LAST) = 1
)
SELECT
    ea.model, ea.layer, ea.pooling, ea.embedding_set, ea.control,
    a.run_id AS alignment_run, a.accession_a, a.accession_b,
    list_cosine_similarity(ea.v, eb.v) AS cosine,
    list_distance(ea.v, eb.v) ^ 2 AS sq_euclidean,
    a.score, a.identity, a.similarity, a.normalized_score
FROM alignments AS a
JOIN vectors AS ea ON ea.accession = a.accession_a
JOIN vectors AS eb ON eb.accession = a.accession_b
    AND eb.model = ea.model AND eb.layer = ea.layer
    AND eb.pooling IS NOT DISTINCT FROM ea.pooling AND eb.embedding_set = ea.embedding_set
    AND eb.control = ea.control
WHERE alignment_run IS NULL OR a.run_id = alignment_run;

-- correlations_live(): the correlations view recomputed with corr() over the rows of pair_metrics
-- (Spearman = corr of the stored average ranks): the 'all' / 'unweighted' rows; a few CPU seconds on 6.4 M pairs.
CREATE OR REPLACE MACRO correlations_live() AS TABLE
WITH wide AS (
    SELECT
        model, layer, pooling, embedding_set, control, alignment_run, count(*) AS n,
        corr(cosine, sq_euclidean) AS p01, corr(cosine_rank, sq_euclidean_rank) AS s01,
        corr(cosine, score) AS p02, corr(cosine_rank, score_rank) AS s02,
        corr(cosine, identity) AS p03, corr(cosine_rank, identity_rank) AS s03,
        corr(cosine, similarity) AS p04, corr(cosine_rank, similarity_rank) AS s04,
        corr(cosine, normalized_score) AS p05, corr(cosine_rank, normalized_score_rank) AS s05,
        corr(sq_euclidean, score) AS p12, corr(sq_euclidean_rank, score_rank) AS s12,
        corr(sq_euclidean, identity) AS p13, corr(sq_euclidean_rank, identity_rank) AS s13,
        corr(sq_euclidean, similarity) AS p14, corr(sq_euclidean_rank, similarity_rank) AS s14,
        corr(sq_euclidean, normalized_score) AS p15, corr(sq_euclidean_rank, normalized_score_rank) AS s15,
        corr(score, identity) AS p23, corr(score_rank, identity_rank) AS s23,
        corr(score, similarity) AS p24, corr(score_rank, similarity_rank) AS s24,
        corr(score, normalized_score) AS p25, corr(score_rank, normalized_score_rank) AS s25,
        corr(identity, similarity) AS p34, corr(identity_rank, similarity_rank) AS s34,
        corr(identity, normalized_score) AS p35, corr(identity_rank, normalized_score_rank) AS s35,
        corr(similarity, normalized_score) AS p45, corr(similarity_rank, normalized_score_rank) AS s45,
        corr(cosine, length_normalized_score) AS p06, corr(cosine_rank, length_normalized_score_rank) AS s06,
        corr(sq_euclidean, length_normalized_score) AS p16,
        corr(sq_euclidean_rank, length_normalized_score_rank) AS s16,
        corr(score, length_normalized_score) AS p26, corr(score_rank, length_normalized_score_rank) AS s26,
        corr(identity, length_normalized_score) AS p36, corr(identity_rank, length_normalized_score_rank) AS s36,
        corr(similarity, length_normalized_score) AS p46,
        corr(similarity_rank, length_normalized_score_rank) AS s46,
        corr(normalized_score, length_normalized_score) AS p56,
        corr(normalized_score_rank, length_normalized_score_rank) AS s56
    FROM pair_metrics
    WHERE complete
    GROUP BY model, layer, pooling, embedding_set, control, alignment_run
)
SELECT model, layer, pooling, embedding_set, control, alignment_run, c.metric_x, c.metric_y, c.pearson, c.spearman, n
FROM (
    SELECT *, unnest([
        {'metric_x': 'cosine', 'metric_y': 'sq_euclidean', 'pearson': p01, 'spearman': s01},
        {'metric_x': 'cosine', 'metric_y': 'score', 'pearson': p02, 'spearman': s02},
        {'metric_x': 'cosine', 'metric_y': 'identity', 'pearson': p03, 'spearman': s03},
        {'metric_x': 'cosine', 'metric_y': 'similarity', 'pearson': p04, 'spearman': s04},
        {'metric_x': 'cosine', 'metric_y': 'normalized_score', 'pearson': p05, 'spearman': s05},
        {'metric_x': 'sq_euclidean', 'metric_y': 'score', 'pearson': p12, 'spearman': s12},
        {'metric_x': 'sq_euclidean', 'metric_y': 'identity', 'pearson': p13, 'spearman': s13},
        {'metric_x': 'sq_euclidean', 'metric_y': 'similarity', 'pearson': p14, 'spearman': s14},
        {'metric_x': 'sq_euclidean', 'metric_y': 'normalized_score', 'pearson': p15, 'spearman': s15},
        {'metric_x': 'score', 'metric_y': 'identity', 'pearson': p23, 'spearman': s23},
        {'metric_x': 'score', 'metric_y': 'similarity', 'pearson': p24, 'spearman': s24},
        {'metric_x': 'score', 'metric_y': 'normalized_score', 'pearson': p25, 'spearman': s25},
        {'metric_x': 'identity', 'metric_y': 'similarity', 'pearson': p34, 'spearman': s34},
        {'metric_x': 'identity', 'metric_y': 'normalized_score', 'pearson': p35, 'spearman': s35},
        {'metric_x': 'similarity', 'metric_y': 'normalized_score', 'pearson': p45, 'spearman': s45},
        {'metric_x': 'cosine', 'metric_y': 'length_normalized_score', 'pearson': p06, 'spearman': s06},
        {'metric_x': 'sq_euclidean', 'metric_y': 'length_normalized_score', 'pearson': p16, 'spearman': s16},
        {'metric_x': 'score', 'metric_y': 'length_normalized_score', 'pearson': p26, 'spearman': s26},
        {'metric_x': 'identity', 'metric_y': 'length_normalized_score', 'pearson': p36, 'spearman': s36},
        {'metric_x': 'similarity', 'metric_y': 'length_normalized_score', 'pearson': p46, 'spearman': s46},
        {'metric_x': 'normalized_score', 'metric_y': 'length_normalized_score', 'pearson': p56, 'spearman': s56}
    ]) AS c
    FROM wide
);
