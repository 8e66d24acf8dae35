-- Report PCA section: the raw vectors of one set ($model, $layer, $pooling), read in record batches:
-- all of them for the streamed statistics ($limit NULL), or the first $limit proteins in a fixed
-- pseudo-random order (hash of the accession) for the points drawn.
WITH chosen AS (
    SELECT accession
    FROM embeddings
    WHERE model = $model AND layer = $layer AND pooling IS NOT DISTINCT FROM $pooling AND control = 'none'
      AND embedding_set = 'raw' AND embedding IS NOT NULL
    ORDER BY hash(accession), accession
    LIMIT $limit
)
SELECT e.accession, e.embedding
FROM embeddings e
JOIN chosen c USING (accession)
WHERE e.model = $model AND e.layer = $layer AND e.pooling IS NOT DISTINCT FROM $pooling AND e.control = 'none'
  AND e.embedding_set = 'raw' AND e.embedding IS NOT NULL
ORDER BY hash(e.accession), e.accession
