-- Report section 3: covariance spectra (shares of variance, descending, summing to 1) per scope, the
-- cumulative share, and how many components hold 50 / 90 / 99 % of it. Both scopes are read as
-- `protiso isotropy` stored them, never computed here:
-- * global: global_spectra, from one streamed scan of the per-protein vectors of each model's
--   highest stored raw layer (the newest spectrum of that layer);
-- * local: local_spectra, from the merged residue statistics, the newest of each model's highest layer.
-- $models: VARCHAR[] or NULL.
WITH chosen AS (
    FROM highest_raw_layer('embeddings', $models::VARCHAR[])
), spectra AS (
    SELECT 'global' AS scope, s.model, s.layer, s.eigenvalues AS ev
    FROM global_spectra s
    JOIN chosen c ON c.model = s.model AND c.layer = s.layer
    WHERE s.embedding_set = 'raw' AND s.control = 'none'
    QUALIFY row_number() OVER (PARTITION BY s.model ORDER BY s.computed_at DESC, s.run_id DESC) = 1
    UNION ALL
    SELECT 'local' AS scope, model, layer, eigenvalues AS ev
    FROM local_spectra
    WHERE $models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model)
    QUALIFY row_number() OVER (PARTITION BY model ORDER BY layer DESC, computed_at DESC, run_id DESC) = 1
), long AS (
    SELECT scope, model, layer, unnest(range(1, len(ev) + 1)) AS k, unnest(ev) AS eigenvalue
    FROM spectra
    WHERE ev IS NOT NULL
), cumulative AS (
    SELECT *, sum(eigenvalue) OVER (PARTITION BY scope, model, layer ORDER BY k) AS cumulative
    FROM long
)
SELECT
    scope, model, layer, k, eigenvalue, cumulative,
    min(k) FILTER (WHERE cumulative >= 0.5) OVER (PARTITION BY scope, model, layer)  AS dims_50,
    min(k) FILTER (WHERE cumulative >= 0.9) OVER (PARTITION BY scope, model, layer)  AS dims_90,
    min(k) FILTER (WHERE cumulative >= 0.99) OVER (PARTITION BY scope, model, layer) AS dims_99
FROM cumulative
ORDER BY scope, model, layer, k
