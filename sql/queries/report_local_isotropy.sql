-- Report sections 2 and the headline: local isotropy under both definitions (local_isotropy,
-- migration 0007), the newest row per model, layer and definition, with what decides whether the
-- study's per-amino-acid figure (a per-protein mean at the model's last layer and full width) applies:
-- last_layer (the model's last layer number, as its embedding or import runs recorded it in
-- params.num_layers; NULL when none did, and protiso.report.published.model_layers may know it) and
-- global_dim (the width of the model's per-protein vectors; ProteinBERT's 128-d residue track is
-- narrower than its 512-d global one).
-- Intervals over proteins (migration 0010): *_ci_low / *_ci_high of the per-protein means.
-- $models: VARCHAR[] or NULL.
WITH latest AS (
    SELECT *
    FROM local_isotropy
    WHERE $models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model)
    QUALIFY row_number() OVER (PARTITION BY model, layer, definition ORDER BY computed_at DESC, run_id DESC) = 1
), layers AS (
    SELECT model, max(TRY_CAST(params ->> 'num_layers' AS INTEGER)) AS last_layer
    FROM runs WHERE kind IN ('embed', 'import') AND model IS NOT NULL GROUP BY model
), widths AS (
    SELECT model, max(dim) AS global_dim
    FROM (SELECT model, dim FROM isotropy WHERE scope = 'global'
          UNION ALL SELECT model, dim FROM embedding_stats)
    GROUP BY model
)
SELECT l.model, l.layer, l.definition, l.n_proteins, l.n_points, l.dim,
       l.isoscore, l.isoscore_sd, l.isoscore_q1, l.isoscore_median, l.isoscore_q3,
       l.effective_dims, l.effective_dims_sd, l.effective_dims_q1, l.effective_dims_median, l.effective_dims_q3,
       l.mean_cosine, l.mean_cosine_sd, l.cosine_proteins, l.cosine_points,
       l.isoscore_ci_low, l.isoscore_ci_high, l.mean_cosine_ci_low, l.mean_cosine_ci_high, l.ci_replicates,
       y.last_layer, w.global_dim,
       strftime(l.computed_at, '%Y-%m-%d %H:%M:%S') AS computed_at
FROM latest l
LEFT JOIN layers y USING (model)
LEFT JOIN widths w USING (model)
ORDER BY l.model, l.layer, l.definition = 'pooled' DESC
