-- Report headline, controls: which raw sets are stored, per model, layer and control (to name the command
-- that makes a missing control), and whether all of a set's vectors were imported (`protiso import-vectors`:
-- its controls are imported too, since protiso may not have the model). $models: VARCHAR[] or NULL.
SELECT e.model, e.layer, e.control, count(*) AS vectors, bool_and(r.kind = 'import') AS imported
FROM embeddings e
LEFT JOIN runs r USING (run_id)
WHERE e.embedding_set = 'raw' AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], e.model))
GROUP BY ALL
ORDER BY e.model, e.layer, e.control
