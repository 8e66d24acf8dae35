-- One vector per protein of $accessions (the proteins of an alignment run, pair_metrics_wanted.sql) in
-- one embedding set (the latest embedding run wins). The accessions come as a list, not a join on
-- `alignments`, so that DuckDB filters the scan of `embeddings` (6.4 M pairs: 2.7 s instead of 6.8 s).
SELECT e.accession, e.embedding
FROM embeddings AS e
WHERE e.model = $model AND e.layer = $layer AND e.pooling IS NOT DISTINCT FROM $pooling
  AND e.embedding_set = $embedding_set AND e.control = $control AND e.embedding IS NOT NULL
  AND e.accession IN (SELECT unnest($accessions::VARCHAR[]))
QUALIFY row_number() OVER (PARTITION BY e.accession ORDER BY e.run_id DESC NULLS LAST) = 1
ORDER BY e.accession
