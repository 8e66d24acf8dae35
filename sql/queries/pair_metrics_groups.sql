-- Embedding sets (model, layer, pooling, embedding_set, control) with a fingerprint of their current content:
-- how many vectors and which embedding runs wrote them (pair metrics are recomputed when it changes).
SELECT model, layer, pooling, embedding_set, control,
       count(*) || ':' || string_agg(DISTINCT coalesce(run_id, ''), ',' ORDER BY coalesce(run_id, '')) AS source_key
FROM embeddings
GROUP BY ALL
ORDER BY model, layer, pooling, embedding_set, control
