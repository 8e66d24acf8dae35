-- Isotropy from float64 sufficient statistics, in plain SQL (the DuckDB CLI has no Python UDFs).
--
-- A statistics row holds n (vectors seen), dim, sum_x (dim values) and sum_xxt (dim*dim values,
-- row-major), as in `residue_stats` and `embedding_stats`. Rows of the same model and layer merge by
-- addition:
--
--   SELECT model, layer, n, stats_isoscore(n, dim, sum_x, sum_xxt) AS isoscore
--   FROM residue_stats_merged();                       -- one merged row per model and layer
--
-- Per-protein ("global") sets: `embedding_stats` (migration 0006) also holds the sum of unit vectors,
-- so one call gives every stored set's IsoScore, IsoScore*, effective dims and mean cosine:
--
--   SELECT * FROM embedding_stats_isotropy();          -- or embedding_stats_isotropy(zeta := 0.1)
--
-- For other groupings merge in a subquery FIRST, then apply the scalar macros to its columns (a macro
-- argument is inlined, so passing `stats_sum_lists(list(...))` straight in would recompute it per
-- element):
--
--   SELECT stats_isoscore(n, dim, sx, sxx) FROM (
--       SELECT sum(n) AS n, any_value(dim) AS dim, stats_sum_lists(list(sum_x)) AS sx,
--              stats_sum_lists(list(sum_xxt)) AS sxx
--       FROM residue_stats WHERE model = 'antiberty' GROUP BY layer);
--
-- With S = sum_xxt - sum_x sum_x^T / n (the centred scatter), PR = tr(S)^2 / ||S||_F^2 is the effective
-- dimension and IsoScore = (PR - 1) / (dim - 1), exactly as protiso.metrics.stats.SufficientStats.
-- NULL rules: n < 2, zero variance (tr S <= 1e-10 * tr sum_xxt, i.e. below rounding), or dim < 2 for
-- IsoScore -> NULL. Lists whose lengths do not match dim -> error.

-- Element-wise sum of equal-length lists, e.g. stats_sum_lists(list(sum_xxt)) in a GROUP BY.
CREATE OR REPLACE MACRO stats_sum_lists(lists) AS
    list_reduce(lists, lambda acc, x: list_transform(range(1, len(acc) + 1), lambda i: acc[i] + x[i]));

-- tr(S): sum_i (sum_xxt[i,i] - sum_x[i]^2 / n).
CREATE OR REPLACE MACRO stats_trace(n, dim, sum_x, sum_xxt) AS
    CASE
        WHEN len(sum_x) != dim OR len(sum_xxt) != dim * dim
            THEN error('sufficient statistics: sum_x must have dim and sum_xxt dim*dim values')
        ELSE list_sum(list_transform(range(dim),
            lambda i: sum_xxt[i * dim + i + 1] - sum_x[i + 1] * sum_x[i + 1] / n))
    END;

-- ||S||_F^2: sum over all (i, j) of (sum_xxt[i,j] - sum_x[i] sum_x[j] / n)^2.
CREATE OR REPLACE MACRO stats_frobenius2(n, dim, sum_x, sum_xxt) AS
    list_sum(list_transform(range(dim * dim),
        lambda k: pow(sum_xxt[k + 1] - sum_x[k // dim + 1] * sum_x[k % dim + 1] / n, 2)));

-- True when the centred variance is distinguishable from the rounding of the raw sums.
CREATE OR REPLACE MACRO stats_has_variance(n, dim, sum_x, sum_xxt) AS
    n >= 2 AND stats_trace(n, dim, sum_x, sum_xxt)
        > 1e-10 * list_sum(list_transform(range(dim), lambda i: sum_xxt[i * dim + i + 1]));

-- Effective dimensions = participation ratio of the covariance.
CREATE OR REPLACE MACRO stats_effective_dims(n, dim, sum_x, sum_xxt) AS
    CASE WHEN stats_has_variance(n, dim, sum_x, sum_xxt)
        THEN pow(stats_trace(n, dim, sum_x, sum_xxt), 2) / stats_frobenius2(n, dim, sum_x, sum_xxt)
    END;

-- Rounded up as the study reports it (rounding noise below 1e-9 relative ignored).
CREATE OR REPLACE MACRO stats_effective_dims_rounded(n, dim, sum_x, sum_xxt) AS
    ceil(stats_effective_dims(n, dim, sum_x, sum_xxt) * (1 - 1e-9))::INTEGER;

-- PR is clamped to [1, dim] (its exact range; rounding can leave a rank-1 cloud just below 1).
CREATE OR REPLACE MACRO stats_isoscore(n, dim, sum_x, sum_xxt) AS
    CASE WHEN dim >= 2 AND stats_has_variance(n, dim, sum_x, sum_xxt)
        THEN (least(greatest(stats_effective_dims(n, dim, sum_x, sum_xxt), 1), dim) - 1) / (dim - 1)
    END;

-- IsoScore* (scale-free, protiso's default): PR of (1 - zeta) C + zeta (tr C / dim) I, C = S / (n - 1)
-- (unbiased, as torch.cov). tr of the shrunk matrix is tr C; ||.||_F^2 = (1 - zeta)^2 ||C||_F^2
-- + (1 - (1 - zeta)^2) (tr C)^2 / dim. Multiplying the vectors by a constant leaves it unchanged; NULL
-- with no variance (the target is zero too). protiso.metrics.isotropy.isoscore_star.
CREATE OR REPLACE MACRO stats_isoscore_star(n, dim, sum_x, sum_xxt, zeta) AS
    CASE
        WHEN zeta < 0 OR zeta > 1 THEN error('stats_isoscore_star: zeta must be in [0, 1]')
        WHEN n < 2 OR dim < 2 OR NOT stats_has_variance(n, dim, sum_x, sum_xxt) THEN NULL
        ELSE (
            SELECT CASE WHEN fr > 0 THEN (least(greatest(c_tr * c_tr / fr, 1), dim) - 1) / (dim - 1) END
            FROM (
                SELECT c_tr, pow(1 - zeta, 2) * c_fr + (1 - pow(1 - zeta, 2)) * c_tr * c_tr / dim AS fr
                FROM (
                    SELECT stats_trace(n, dim, sum_x, sum_xxt) / (n - 1) AS c_tr,
                           stats_frobenius2(n, dim, sum_x, sum_xxt) / pow(n - 1, 2) AS c_fr
                )
            )
        )
    END;

-- IsoScore* as the IsoScore package computes it (C0 = identity): PR of (1 - zeta) C + zeta I. Depends on
-- the scale of the vectors. protiso.metrics.isotropy.isoscore_star_fixed.
CREATE OR REPLACE MACRO stats_isoscore_star_fixed(n, dim, sum_x, sum_xxt, zeta) AS
    CASE
        WHEN zeta < 0 OR zeta > 1 THEN error('stats_isoscore_star_fixed: zeta must be in [0, 1]')
        WHEN n < 2 OR dim < 2 THEN NULL
        ELSE (
            SELECT CASE WHEN fr > 0 THEN (least(greatest(tr * tr / fr, 1), dim) - 1) / (dim - 1) END
            FROM (
                SELECT (1 - zeta) * c_tr + zeta * dim AS tr,
                       pow(1 - zeta, 2) * c_fr + 2 * zeta * (1 - zeta) * c_tr + zeta * zeta * dim AS fr
                FROM (
                    SELECT CASE WHEN stats_has_variance(n, dim, sum_x, sum_xxt)
                                THEN stats_trace(n, dim, sum_x, sum_xxt) / (n - 1) ELSE 0 END AS c_tr,
                           CASE WHEN stats_has_variance(n, dim, sum_x, sum_xxt)
                                THEN stats_frobenius2(n, dim, sum_x, sum_xxt) / pow(n - 1, 2) ELSE 0 END AS c_fr
                )
            )
        )
    END;

-- residue_stats summed over runs: one row per (model, layer, control) with the merged statistics.
CREATE OR REPLACE MACRO residue_stats_merged() AS TABLE
    SELECT model, layer, control, sum(n)::BIGINT AS n,
           CASE WHEN count(DISTINCT dim) = 1 THEN any_value(dim)
                ELSE error('residue_stats: runs of one model and layer disagree on dim') END AS dim,
           stats_sum_lists(list(sum_x)) AS sum_x,
           stats_sum_lists(list(sum_xxt)) AS sum_xxt,
           count(*) AS runs
    FROM residue_stats
    GROUP BY model, layer, control;

-- Exact mean cosine similarity over the n (n - 1) ordered pairs i != j, from the sum of unit vectors:
-- (||sum u||^2 - sum ||u||^2) / (n (n - 1)), as protiso.metrics.cosine. NULL for n < 2 or when some
-- vector is zero (n_unit < n: it has no direction).
CREATE OR REPLACE MACRO stats_mean_cosine(n, n_unit, sum_unit, sum_unit_sq) AS
    CASE WHEN n >= 2 AND n_unit = n
        THEN (list_sum(list_transform(sum_unit, lambda u: u * u)) - sum_unit_sq) / (n * (n - 1.0))
    END;

-- embedding_stats summed over runs: one row per stored (model, layer, pooling, embedding set, control), with
-- `stored` (its rows in `embeddings`) and `complete` (the statistics cover exactly those rows). A set
-- with no statistics (a warehouse made before migration 0006) has NULL sums and complete = false:
-- `protiso isotropy` fills them in.
CREATE OR REPLACE MACRO embedding_stats_merged() AS TABLE
    WITH merged AS (
        SELECT model, layer, pooling, embedding_set, control, sum(rows)::BIGINT AS rows, sum(n)::BIGINT AS n,
               CASE WHEN count(DISTINCT dim) = 1 THEN any_value(dim)
                    ELSE error('embedding_stats: runs of one set disagree on dim') END AS dim,
               stats_sum_lists(list(sum_x)) AS sum_x,
               stats_sum_lists(list(sum_xxt)) AS sum_xxt,
               sum(n_unit)::BIGINT AS n_unit,
               stats_sum_lists(list(sum_unit)) AS sum_unit,
               sum(sum_unit_sq) AS sum_unit_sq,
               count(*) AS runs
        FROM embedding_stats
        GROUP BY model, layer, pooling, embedding_set, control
    ), stored AS (
        SELECT model, layer, pooling, embedding_set, control, count(*) AS stored
        FROM embeddings
        GROUP BY model, layer, pooling, embedding_set, control
    )
    SELECT coalesce(s.model, m.model) AS model, coalesce(s.layer, m.layer) AS layer,
           CASE WHEN s.model IS NULL THEN m.pooling ELSE s.pooling END AS pooling,
           coalesce(s.embedding_set, m.embedding_set) AS embedding_set, coalesce(s.control, m.control) AS control,
           coalesce(s.stored, 0) AS stored, m.rows, m.n, m.dim, m.sum_x, m.sum_xxt, m.n_unit, m.sum_unit,
           m.sum_unit_sq, coalesce(m.runs, 0) AS runs,
           coalesce(m.rows = s.stored, false) AS complete
    FROM stored AS s
    FULL JOIN merged AS m
      ON m.model = s.model AND m.layer = s.layer AND m.embedding_set = s.embedding_set AND m.control = s.control
     AND m.pooling IS NOT DISTINCT FROM s.pooling;

-- IsoScore, IsoScore* (scale-free, shrinkage zeta towards (tr C / dim) I, 0.2 as `protiso isotropy`;
-- isoscore_star_fixed: towards I, as the IsoScore package), effective dims
-- and mean cosine of every stored global set, from embedding_stats alone: the numbers
-- `protiso isotropy` stores for group_by = 'all' (to float64 rounding). NULL where the statistics do
-- not cover the set (complete = false; run `protiso isotropy`) or as the rules above say. The metric
-- columns are those of the registry (protiso/metrics/registry.py), each through the macro it names
-- (the placeholder isotropy_metric_macros; NULL for a metric without one).
CREATE OR REPLACE MACRO embedding_stats_isotropy(zeta := 0.2) AS TABLE
    WITH merged AS (FROM embedding_stats_merged())
    SELECT model, layer, pooling, embedding_set, control, stored, n, dim, complete, {{ isotropy_metric_macros }}
    FROM merged
    WHERE complete
    UNION ALL BY NAME
    SELECT model, layer, pooling, embedding_set, control, stored, n, dim, complete
    FROM merged
    WHERE NOT complete
    ORDER BY model, layer, embedding_set, control, pooling;
