-- One vector per protein of alignment run $run_id in one embedding set (the latest embedding run wins).
WITH wanted AS (
    SELECT accession_a AS accession FROM alignments WHERE run_id = $run_id
    UNION
    SELECT accession_b FROM alignments WHERE run_id = $run_id
)
SELECT e.accession, e.embedding
FROM embeddings AS e
JOIN wanted USING (accession)
WHERE e.model = $model AND e.layer = $layer AND e.pooling IS NOT DISTINCT FROM $pooling
  AND e.embedding_set = $embedding_set AND e.embedding IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY e.accession ORDER BY e.run_id DESC NULLS LAST) = 1
ORDER BY e.accession
