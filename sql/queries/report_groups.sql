-- Report section 6: isotropy per annotation group (organism, GO term, ...), newest row per group, ranked
-- by the size-corrected statistic size_z (IsoScore against random groups of the same number of proteins,
-- protiso.metrics.size_null; rows of older runs without it rank by IsoScore): the $top most and $top
-- least isotropic groups of each model, layer, embedding set, scope and grouping. Per block also:
-- groups, the smallest group's protein count and the run's stated minimum (--min-points, in proteins),
-- and the Spearman correlation of group size (proteins) with IsoScore (rho_plain) and with size_z
-- (rho_corrected), average ranks for ties. GO ids get their names from go_terms. $models: VARCHAR[] or NULL.
WITH latest AS (
    SELECT *, coalesce(n_proteins, n_points) AS size
    FROM isotropy
    WHERE group_by <> 'all' AND isoscore IS NOT NULL
      AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
    QUALIFY row_number() OVER (
        PARTITION BY model, layer, embedding_set, scope, group_by, group_value
        ORDER BY computed_at DESC, run_id DESC
    ) = 1
), ranked AS (
    SELECT
        *,
        row_number() OVER w_desc AS rank_most,
        row_number() OVER w_asc  AS rank_least,
        count(*) OVER block AS groups,
        count(null_draws) OVER block AS corrected,      -- rows whose run drew random groups
        rank() OVER (PARTITION BY model, layer, embedding_set, scope, group_by ORDER BY size)
            + (count(*) OVER (PARTITION BY model, layer, embedding_set, scope, group_by, size) - 1) / 2.0 AS size_rank,
        rank() OVER (PARTITION BY model, layer, embedding_set, scope, group_by ORDER BY isoscore)
            + (count(*) OVER (PARTITION BY model, layer, embedding_set, scope, group_by, isoscore) - 1) / 2.0 AS iso_rank,
        rank() OVER (PARTITION BY model, layer, embedding_set, scope, group_by ORDER BY size_z)
            + (count(*) OVER (PARTITION BY model, layer, embedding_set, scope, group_by, size_z) - 1) / 2.0 AS z_rank
    FROM latest
    WINDOW
        block  AS (PARTITION BY model, layer, embedding_set, scope, group_by),
        w_desc AS (PARTITION BY model, layer, embedding_set, scope, group_by
                   ORDER BY size_z DESC NULLS LAST, isoscore DESC, group_value),
        w_asc  AS (PARTITION BY model, layer, embedding_set, scope, group_by
                   ORDER BY size_z ASC NULLS LAST, isoscore ASC, group_value)
), blocks AS (
    SELECT k.model, k.layer, k.embedding_set, k.scope, k.group_by,
           corr(k.iso_rank, k.size_rank) AS rho_plain,
           corr(CASE WHEN k.size_z IS NOT NULL THEN k.z_rank END, CASE WHEN k.size_z IS NOT NULL THEN k.size_rank END)
               AS rho_corrected,
           min(k.size) AS smallest,
           max(TRY_CAST(u.params ->> 'min_points' AS INTEGER)) AS min_proteins
    FROM ranked k
    LEFT JOIN runs u ON u.run_id = k.run_id
    GROUP BY k.model, k.layer, k.embedding_set, k.scope, k.group_by
)
SELECT
    r.model, r.layer, r.embedding_set, r.scope, r.group_by, r.group_value,
    g.name AS group_name,
    r.n_points, r.n_proteins, r.isoscore, r.isoscore_star, r.effective_dims, r.mean_cosine,
    r.null_mean, r.null_sd, r.null_low, r.null_high, r.null_draws, r.size_z,
    r.rank_most, r.rank_least, r.groups, r.corrected = r.groups AS corrected,
    CASE WHEN NOT isnan(b.rho_plain) THEN b.rho_plain END AS rho_plain,         -- NaN (no spread) -> NULL
    CASE WHEN NOT isnan(b.rho_corrected) THEN b.rho_corrected END AS rho_corrected,
    b.smallest, b.min_proteins
FROM ranked r
JOIN blocks b USING (model, layer, embedding_set, scope, group_by)
LEFT JOIN (SELECT go_id, any_value(name) AS name FROM go_terms GROUP BY go_id) g
       ON r.group_by = 'go_term' AND g.go_id = r.group_value
WHERE r.rank_most <= $top OR r.rank_least <= $top
ORDER BY r.model, r.layer, r.embedding_set = 'raw' DESC, r.embedding_set, r.scope, r.group_by, r.rank_most
