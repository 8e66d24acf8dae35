-- Does the Parquet part at $path hold rows of this derived set? (A part written before controls has
-- no control column: the empty relation unioned by name declares it, and its rows are real ones.)
SELECT count(*) > 0 AS holds
FROM (FROM read_parquet($path) UNION ALL BY NAME (SELECT NULL::VARCHAR AS control LIMIT 0))
WHERE model = $model AND layer = $layer AND embedding_set = $embedding_set
  AND pooling IS NOT DISTINCT FROM $pooling AND coalesce(control, 'none') = $control
