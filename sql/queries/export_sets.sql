-- What an export of $model / $embedding_set / $control can write: one row per layer and pooling, with the
-- number of vectors, of distinct proteins and the smallest and largest dimension.
SELECT layer, pooling, count(*) AS n, count(DISTINCT accession) AS proteins,
       min(len(embedding)) AS min_dim, max(len(embedding)) AS max_dim
FROM embeddings
WHERE model = $model AND embedding_set = $embedding_set AND control = $control
GROUP BY layer, pooling
ORDER BY layer, pooling
