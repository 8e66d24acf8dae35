-- Does the Parquet part at $path hold rows of this derived set?
SELECT count(*) > 0 AS holds
FROM read_parquet($path)
WHERE model = $model AND layer = $layer AND embedding_set = $embedding_set
  AND pooling IS NOT DISTINCT FROM $pooling
