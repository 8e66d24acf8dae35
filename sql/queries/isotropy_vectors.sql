-- Global (per-protein) vectors of one model, layer, embedding set and pooling.
SELECT embedding AS vector
FROM embeddings
WHERE model = $model AND layer = $layer AND embedding_set = $embedding_set
  AND pooling IS NOT DISTINCT FROM $pooling
