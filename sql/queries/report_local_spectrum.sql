-- Report section 3 (local scope): the stored covariance spectrum of the per-residue vectors of each
-- model's highest layer that has one (the newest), in the rows of report_spectrum.sql: the shares of
-- variance (descending, summing to 1), the cumulative share, and how many components hold
-- 50 / 90 / 99 % of it. $models: VARCHAR[] or NULL.
WITH newest AS (
    SELECT model, layer, eigenvalues AS ev
    FROM local_spectra
    WHERE $models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model)
    QUALIFY row_number() OVER (PARTITION BY model ORDER BY layer DESC, computed_at DESC, run_id DESC) = 1
), long AS (
    SELECT model, layer, unnest(range(1, len(ev) + 1)) AS k, unnest(ev) AS eigenvalue
    FROM newest
), cumulative AS (
    SELECT *, sum(eigenvalue) OVER (PARTITION BY model, layer ORDER BY k) AS cumulative
    FROM long
)
SELECT
    model, layer, k, eigenvalue, cumulative,
    min(k) FILTER (WHERE cumulative >= 0.5) OVER (PARTITION BY model, layer)  AS dims_50,
    min(k) FILTER (WHERE cumulative >= 0.9) OVER (PARTITION BY model, layer)  AS dims_90,
    min(k) FILTER (WHERE cumulative >= 0.99) OVER (PARTITION BY model, layer) AS dims_99
FROM cumulative
ORDER BY model, layer, k
