-- The proteins every set of one compared family has a vector in (matched comparisons, migration 0010):
-- $model NULL = the 'models' family (every model, layer and pooling of $embedding_set and $control, within
-- $models); $layer NULL = the 'layers' family (every layer of $model, $pooling, $embedding_set, $control);
-- $control NULL = the 'controls' family (the real set and its controls at $model, $layer, $pooling,
-- $embedding_set). $sets: the family's set count.
SELECT accession
FROM embeddings
WHERE embedding IS NOT NULL AND embedding_set = $embedding_set
  AND ($control::VARCHAR IS NULL OR control = $control)
  AND ($layer::INTEGER IS NULL OR layer = $layer)
  AND ($model::VARCHAR IS NULL OR (model = $model AND pooling IS NOT DISTINCT FROM $pooling))
  AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
GROUP BY accession
HAVING count(DISTINCT (model, layer, pooling, control)) = $sets
ORDER BY accession
