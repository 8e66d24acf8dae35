-- Rows of one source set (model, layer, pooling, control) to fit on and transform.
SELECT accession, seq_hash, model, layer, pooling, control, length_policy, embedding
FROM embeddings
WHERE model = $model AND layer = $layer AND embedding_set = $source
  AND pooling IS NOT DISTINCT FROM $pooling AND control = $control
ORDER BY accession
