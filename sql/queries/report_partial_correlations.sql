-- Report section 5: partial correlations of embedding cosine / squared Euclidean distance with alignment
-- score / identity, controlling for two confounders of both, per embedding set and alignment run, over
-- the complete pairs (all six metrics non-NULL):
--   len_diff  = |len_a - len_b|, the difference of the two stored sequences' lengths;
--   comp_dist = the Euclidean distance between the pair's amino-acid composition vectors, each protein's
--               20 fractions count(a) / length over the standard residues ACDEFGHIKLMNPQRSTVWY.
-- pearson / spearman: the plain correlations (the correlations view's numbers, recomputed here);
-- *_length: partial on len_diff; *_both: partial on len_diff and comp_dist. Pearson partials use the
-- values, Spearman partials the average ranks (ties share their mean rank; pair_metrics stores the
-- metrics' ranks, the confounders' are ranked here within the group; distances equal to 12 decimals tie). Partial correlations are the
-- recursive first- then second-order formulas, r_xy.z = (r_xy - r_xz r_yz) / sqrt((1 - r_xz^2)(1 - r_yz^2)),
-- equal to the correlation of the residuals of x and y after least-squares regression on the controls.
-- $models: VARCHAR[] or NULL.
WITH pairs AS (
    SELECT model, layer, pooling, embedding_set, alignment_run, accession_a, accession_b,
           cosine, sq_euclidean, score, identity, cosine_rank, sq_euclidean_rank, score_rank, identity_rank
    FROM pair_metrics
    WHERE complete AND control = 'none' AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
), wanted AS (
    SELECT accession_a AS accession FROM pairs UNION SELECT accession_b FROM pairs
), composition AS (
    SELECT p.accession, length(p.sequence) AS len,
           list_transform(['A', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'K', 'L', 'M', 'N', 'P', 'Q', 'R', 'S', 'T', 'V',
                           'W', 'Y'],
                          lambda aa: (length(p.sequence) - length(replace(p.sequence, aa, '')))
                                     / length(p.sequence)::DOUBLE) AS f
    FROM proteins p
    JOIN wanted w USING (accession)
    WHERE p.sequence IS NOT NULL AND length(p.sequence) > 0
), controlled AS (
    SELECT q.*, abs(a.len - b.len)::DOUBLE AS len_diff, list_distance(a.f, b.f) AS comp_dist
    FROM pairs q
    JOIN composition a ON a.accession = q.accession_a
    JOIN composition b ON b.accession = q.accession_b
), ranked AS (
    SELECT *,
           rank() OVER (PARTITION BY model, layer, pooling, embedding_set, alignment_run ORDER BY len_diff)
             + (count(*) OVER (PARTITION BY model, layer, pooling, embedding_set, alignment_run, len_diff) - 1) / 2.0
             AS len_diff_rank,
           rank() OVER (PARTITION BY model, layer, pooling, embedding_set, alignment_run ORDER BY round(comp_dist, 12))
             + (count(*) OVER (PARTITION BY model, layer, pooling, embedding_set, alignment_run, round(comp_dist, 12))
                - 1) / 2.0 AS comp_dist_rank
    FROM controlled
), long AS (
    SELECT model, layer, pooling, embedding_set, alignment_run, len_diff, comp_dist, len_diff_rank, comp_dist_rank,
           unnest([
               {'x': 'cosine', 'y': 'identity', 'xv': cosine, 'yv': identity, 'xr': cosine_rank, 'yr': identity_rank},
               {'x': 'cosine', 'y': 'score', 'xv': cosine, 'yv': score, 'xr': cosine_rank, 'yr': score_rank},
               {'x': 'sq_euclidean', 'y': 'identity', 'xv': sq_euclidean, 'yv': identity, 'xr': sq_euclidean_rank,
                'yr': identity_rank},
               {'x': 'sq_euclidean', 'y': 'score', 'xv': sq_euclidean, 'yv': score, 'xr': sq_euclidean_rank,
                'yr': score_rank}
           ]) AS c
    FROM ranked
), corrs AS (
    SELECT model, layer, pooling, embedding_set, alignment_run, c.x AS metric_x, c.y AS metric_y, count(*) AS n,
           corr(c.xv, c.yv) AS p_xy, corr(c.xv, len_diff) AS p_xz, corr(c.yv, len_diff) AS p_yz,
           corr(c.xv, comp_dist) AS p_xw, corr(c.yv, comp_dist) AS p_yw, corr(len_diff, comp_dist) AS p_zw,
           corr(c.xr, c.yr) AS s_xy, corr(c.xr, len_diff_rank) AS s_xz, corr(c.yr, len_diff_rank) AS s_yz,
           corr(c.xr, comp_dist_rank) AS s_xw, corr(c.yr, comp_dist_rank) AS s_yw,
           corr(len_diff_rank, comp_dist_rank) AS s_zw
    FROM long
    GROUP BY ALL
), first_order AS (
    SELECT *,
           (p_xy - p_xz * p_yz) / sqrt(nullif((1 - p_xz * p_xz) * (1 - p_yz * p_yz), 0)) AS p_xy_z,
           (p_xw - p_xz * p_zw) / sqrt(nullif((1 - p_xz * p_xz) * (1 - p_zw * p_zw), 0)) AS p_xw_z,
           (p_yw - p_yz * p_zw) / sqrt(nullif((1 - p_yz * p_yz) * (1 - p_zw * p_zw), 0)) AS p_yw_z,
           (s_xy - s_xz * s_yz) / sqrt(nullif((1 - s_xz * s_xz) * (1 - s_yz * s_yz), 0)) AS s_xy_z,
           (s_xw - s_xz * s_zw) / sqrt(nullif((1 - s_xz * s_xz) * (1 - s_zw * s_zw), 0)) AS s_xw_z,
           (s_yw - s_yz * s_zw) / sqrt(nullif((1 - s_yz * s_yz) * (1 - s_zw * s_zw), 0)) AS s_yw_z
    FROM corrs
)
SELECT model, layer, pooling, embedding_set, alignment_run, metric_x, metric_y, n,
       p_xy AS pearson, p_xy_z AS pearson_length,
       (p_xy_z - p_xw_z * p_yw_z) / sqrt(nullif((1 - p_xw_z * p_xw_z) * (1 - p_yw_z * p_yw_z), 0)) AS pearson_both,
       s_xy AS spearman, s_xy_z AS spearman_length,
       (s_xy_z - s_xw_z * s_yw_z) / sqrt(nullif((1 - s_xw_z * s_xw_z) * (1 - s_yw_z * s_yw_z), 0)) AS spearman_both,
       p_xz AS pearson_x_length, p_yz AS pearson_y_length, p_xw AS pearson_x_composition,
       p_yw AS pearson_y_composition
FROM first_order
ORDER BY model, layer, embedding_set = 'raw' DESC, embedding_set, pooling, alignment_run, metric_x, metric_y
