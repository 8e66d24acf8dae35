-- The proteins every set of one compared family has a vector in (matched comparisons, migration 0010):
-- $model NULL = the 'models' family (every model, layer and pooling of $embedding_set, within $models),
-- else the 'layers' family (every layer of $model, $pooling, $embedding_set). $sets: the family's set count.
SELECT accession
FROM embeddings
WHERE embedding IS NOT NULL AND embedding_set = $embedding_set
  AND ($model::VARCHAR IS NULL OR (model = $model AND pooling IS NOT DISTINCT FROM $pooling))
  AND ($models::VARCHAR[] IS NULL OR list_contains($models::VARCHAR[], model))
GROUP BY accession
HAVING count(DISTINCT (model, layer, pooling)) = $sets
ORDER BY accession
