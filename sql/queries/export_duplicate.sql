-- An accession with more than one vector in the exported set (none: an empty result).
SELECT accession, count(*) AS n
FROM embeddings
WHERE model = $model AND layer = $layer AND embedding_set = $embedding_set AND pooling = $pooling
  AND control = $control
GROUP BY accession
HAVING count(*) > 1
ORDER BY accession
LIMIT 1
