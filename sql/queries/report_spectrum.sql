-- Report section 3: normalised covariance eigenvalues (descending, summing to 1) of the per-protein
-- vectors of each model's highest stored layer (raw embeddings), the cumulative share of variance,
-- and how many components hold 50 / 90 / 99 % of it. $models: VARCHAR[] or NULL.
WITH chosen AS (
    SELECT model, max(layer) AS layer
    FROM embeddings
    WHERE embedding_set = 'raw'
      AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
    GROUP BY model
), spectra AS (
    SELECT e.model, e.layer, eigen_spectrum(list(e.embedding)) AS ev
    FROM embeddings e
    JOIN chosen c ON c.model = e.model AND c.layer = e.layer
    WHERE e.embedding_set = 'raw'
    GROUP BY e.model, e.layer
), long AS (
    SELECT model, layer, unnest(range(1, len(ev) + 1)) AS k, unnest(ev) AS eigenvalue
    FROM spectra
    WHERE ev IS NOT NULL
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
