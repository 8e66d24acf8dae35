-- The vectors of one exported set, by accession.
SELECT accession, seq_hash, embedding
FROM embeddings
WHERE model = $model AND layer = $layer AND embedding_set = $embedding_set AND pooling = $pooling
  AND control = $control
ORDER BY accession
