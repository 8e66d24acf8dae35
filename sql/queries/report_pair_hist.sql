-- Report section 5: 2-D histograms of each embedding metric (cosine, sq_euclidean) against each
-- alignment metric (identity, score) over the complete raw-embedding pairs of one group of
-- pair_metrics ($model, $layer, $pooling, $run), with the mean and sample standard deviation of the
-- embedding metric in every x bin. $nx x bins and $ny y bins span [$<metric>_min, $<metric>_max]
-- (from report_pair_groups.sql); a value equal to the maximum falls in the last bin. One pass.
-- Rows: x, y, bx, by_ (NULL on the mean/sd rows, is_line), pairs, mean_y, sd_y.
WITH binned AS (
    SELECT
        cosine, sq_euclidean,
        coalesce(least(floor((identity - $identity_min) / nullif($identity_max - $identity_min, 0) * $nx),
                       $nx - 1), 0)::INTEGER AS bi,
        coalesce(least(floor((score - $score_min) / nullif($score_max - $score_min, 0) * $nx),
                       $nx - 1), 0)::INTEGER AS bs,
        coalesce(least(floor((cosine - $cosine_min) / nullif($cosine_max - $cosine_min, 0) * $ny),
                       $ny - 1), 0)::INTEGER AS bc,
        coalesce(least(floor((sq_euclidean - $sq_euclidean_min) / nullif($sq_euclidean_max - $sq_euclidean_min, 0)
                             * $ny), $ny - 1), 0)::INTEGER AS be
    FROM pair_metrics
    WHERE model = $model AND layer = $layer AND pooling IS NOT DISTINCT FROM $pooling AND control = 'none'
      AND alignment_run = $run AND embedding_set = 'raw' AND complete
), counted AS (
    SELECT
        bi, bs, bc, be, count(*) AS pairs,
        avg(cosine) AS mean_c, stddev_samp(cosine) AS sd_c,
        avg(sq_euclidean) AS mean_e, stddev_samp(sq_euclidean) AS sd_e
    FROM binned
    GROUP BY GROUPING SETS ((bi, bc), (bs, bc), (bi, be), (bs, be), (bi), (bs))
), shaped AS (
    SELECT
        CASE WHEN bi IS NOT NULL THEN 'identity' ELSE 'score' END AS x,
        unnest(CASE WHEN bc IS NOT NULL THEN ['cosine'] WHEN be IS NOT NULL THEN ['sq_euclidean']
                    ELSE ['cosine', 'sq_euclidean'] END) AS y,
        coalesce(bi, bs) AS bx,
        coalesce(bc, be) AS by_,
        bc IS NULL AND be IS NULL AS is_line,
        pairs, mean_c, sd_c, mean_e, sd_e
    FROM counted
)
SELECT
    x, y, bx, by_, is_line, pairs,
    CASE WHEN y = 'cosine' THEN mean_c ELSE mean_e END AS mean_y,
    CASE WHEN y = 'cosine' THEN sd_c ELSE sd_e END     AS sd_y
FROM shaped
ORDER BY x, y, is_line, bx, by_
