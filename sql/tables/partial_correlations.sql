-- Partial correlations (Pearson) of each embedding metric (cosine, sq_euclidean) with each alignment metric,
-- per embedding set, alignment run, stratum and weighting (as in pair_metric_stats), over the complete pairs
-- (length_ratio 'all') and within length-ratio strata of shorter / longer length ('[0, 0.5)', '[0.5, 0.8)',
-- '[0.8, 1]'). adjustment:
--   'none'                              the plain correlation;
--   'length (linear)'                   controlling for len_diff = |len_a - len_b|;
--   'length + composition (linear)'     len_diff and comp_dist (the report's linear partials);
--   'flexible length + composition'     a cubic polynomial in u = log shorter length, v = log longer length
--                                       and q = shorter / longer, u*v, comp_dist and comp_dist^2
--                                       (protiso.metrics.confounds).
-- comp_dist: Euclidean distance of the two proteins' 20 amino-acid fractions count(aa) / length. A partial
-- correlation is the correlation of the residuals of x and y after (weighted) least squares on the
-- adjustment's columns and an intercept. pearson_low / pearson_high: 95 % delete-one-protein jackknife on
-- Fisher's z over n_proteins proteins. Written by protiso's pair-metrics job beside pair_metric_stats.
SELECT
{{ pair_set_key }}
    NULL::VARCHAR AS stratum,
    NULL::VARCHAR AS weighting,
    NULL::VARCHAR AS length_ratio,
    NULL::VARCHAR AS metric_x,
    NULL::VARCHAR AS metric_y,
    NULL::VARCHAR AS adjustment,
    NULL::DOUBLE  AS pearson,
    NULL::DOUBLE  AS pearson_low,
    NULL::DOUBLE  AS pearson_high,
    NULL::BIGINT  AS n,
    NULL::BIGINT  AS n_proteins,
    NULL::VARCHAR AS run_id
LIMIT 0
