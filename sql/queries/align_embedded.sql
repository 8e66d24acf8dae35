-- Proteins with a stored vector: of model $model, or of any model when $model is NULL (what `protiso align`
-- samples by default).
SELECT DISTINCT accession
FROM embeddings
WHERE embedding IS NOT NULL AND ($model::VARCHAR IS NULL OR model = $model::VARCHAR)
ORDER BY accession
