-- Report section 6: isotropy per annotation group (organism, GO term, ...), newest row per group, ranked
-- by the size-corrected statistic size_z (IsoScore against random groups of the same number of proteins,
-- protiso.metrics.size_null; rows of older runs without it rank by IsoScore): the $top most and $top
-- least isotropic groups of each model, layer, embedding set, scope and grouping. Per block also:
-- groups, the smallest group's protein count and the run's stated minimum (--min-points, in proteins),
-- and the Spearman correlation of group size (proteins) with IsoScore (rho_plain) and with size_z
-- (rho_corrected), average ranks for ties, over at least 10 groups (fewer, e.g. a few nested local groups,
-- give a degenerate +-1: NULL). GO terms are ranked within their namespace (namespace:
-- biological_process | molecular_function | cellular_component from go_terms; NULL for other groupings)
-- and get their names from go_terms (the macro groups_latest, sql/macros/groups_latest.sql). Root GO terms (is_root) are not ranked: `roots` counts them per block.
-- Tests (migration 0010): p_value, q_value (Benjamini-Hochberg within the block), size_z_se (Monte-Carlo
-- error of size_z), null_method (size | length); per block `significant` counts q_value < 0.05 and
-- `p_floor` is the smallest p-value the draws allow, 1 / (1 + null_draws). $models: VARCHAR[] or NULL.
WITH latest AS (
    FROM groups_latest($models::VARCHAR[])
), root_counts AS (
    SELECT model, layer, embedding_set, scope, group_by, namespace, count(*) AS roots
    FROM latest WHERE coalesce(is_root, false)
    GROUP BY ALL
), ranked AS (
    SELECT
        *,
        row_number() OVER w_desc AS rank_most,
        row_number() OVER w_asc  AS rank_least,
        count(*) OVER block AS groups,
        count(null_draws) OVER block AS corrected,      -- rows whose run drew random groups
        rank() OVER (PARTITION BY model, layer, embedding_set, scope, group_by, namespace ORDER BY size)
            + (count(*) OVER (PARTITION BY model, layer, embedding_set, scope, group_by, namespace, size) - 1) / 2.0 AS size_rank,
        rank() OVER (PARTITION BY model, layer, embedding_set, scope, group_by, namespace ORDER BY isoscore)
            + (count(*) OVER (PARTITION BY model, layer, embedding_set, scope, group_by, namespace, isoscore) - 1) / 2.0 AS iso_rank,
        rank() OVER (PARTITION BY model, layer, embedding_set, scope, group_by, namespace ORDER BY size_z)
            + (count(*) OVER (PARTITION BY model, layer, embedding_set, scope, group_by, namespace, size_z) - 1) / 2.0 AS z_rank
    FROM latest
    WHERE NOT coalesce(is_root, false)
    WINDOW
        block  AS (PARTITION BY model, layer, embedding_set, scope, group_by, namespace),
        w_desc AS (PARTITION BY model, layer, embedding_set, scope, group_by, namespace
                   ORDER BY size_z DESC NULLS LAST, isoscore DESC, group_value),
        w_asc  AS (PARTITION BY model, layer, embedding_set, scope, group_by, namespace
                   ORDER BY size_z ASC NULLS LAST, isoscore ASC, group_value)
), blocks AS (
    SELECT k.model, k.layer, k.embedding_set, k.scope, k.group_by, k.namespace,
           CASE WHEN count(*) >= 10 THEN corr(k.iso_rank, k.size_rank) END AS rho_plain,
           CASE WHEN count(k.size_z) >= 10 THEN
               corr(CASE WHEN k.size_z IS NOT NULL THEN k.z_rank END, CASE WHEN k.size_z IS NOT NULL THEN k.size_rank END)
           END AS rho_corrected,
           min(k.size) AS smallest,
           count(*) FILTER (WHERE k.q_value < 0.05) AS significant,
           1.0 / (1 + max(k.null_draws)) AS p_floor,
           string_agg(DISTINCT k.null_method, ', ') AS null_method,
           max(TRY_CAST(u.params ->> 'min_points' AS INTEGER)) AS min_proteins
    FROM ranked k
    LEFT JOIN runs u ON u.run_id = k.run_id
    GROUP BY k.model, k.layer, k.embedding_set, k.scope, k.group_by, k.namespace
)
SELECT
    r.model, r.layer, r.embedding_set, r.scope, r.group_by, r.namespace, r.group_value, r.group_name,
    r.n_points, r.n_proteins, r.isoscore, r.isoscore_star, r.effective_dims, r.mean_cosine,
    r.null_mean, r.null_sd, r.null_low, r.null_high, r.null_draws, r.size_z,
    r.size_z_se, r.p_value, r.q_value, r.null_method AS row_null_method, r.isoscore_ci_low, r.isoscore_ci_high,
    r.rank_most, r.rank_least, r.groups, r.corrected = r.groups AS corrected,
    CASE WHEN NOT isnan(b.rho_plain) THEN b.rho_plain END AS rho_plain,         -- NaN (no spread) -> NULL
    CASE WHEN NOT isnan(b.rho_corrected) THEN b.rho_corrected END AS rho_corrected,
    b.smallest, b.min_proteins, b.significant, b.p_floor, b.null_method, coalesce(c.roots, 0) AS roots
FROM ranked r
JOIN blocks b ON b.model = r.model AND b.layer = r.layer AND b.embedding_set = r.embedding_set
              AND b.scope = r.scope AND b.group_by = r.group_by AND b.namespace IS NOT DISTINCT FROM r.namespace
LEFT JOIN root_counts c ON c.model = r.model AND c.layer = r.layer AND c.embedding_set = r.embedding_set
              AND c.scope = r.scope AND c.group_by = r.group_by AND c.namespace IS NOT DISTINCT FROM r.namespace
WHERE r.rank_most <= $top OR r.rank_least <= $top
ORDER BY r.model, r.layer, r.embedding_set = 'raw' DESC, r.embedding_set, r.scope, r.group_by, r.namespace NULLS LAST, r.rank_most
