-- The dimension of the raw vectors $model already holds at $layer (NULL when it holds none).
SELECT len(embedding) AS dim
FROM embeddings
WHERE model = $model AND layer = $layer AND embedding_set = 'raw'
LIMIT 1
