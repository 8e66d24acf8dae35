-- Global vectors of one set (as isotropy_vectors.sql) restricted to the matched proteins $accessions
-- (VARCHAR[], isotropy_matched_accessions.sql).
SELECT e.accession, e.embedding AS vector
FROM embeddings e
SEMI JOIN (SELECT unnest($accessions::VARCHAR[]) AS accession) m ON m.accession = e.accession
WHERE e.model = $model AND e.layer = $layer AND e.embedding_set = $embedding_set
  AND e.pooling IS NOT DISTINCT FROM $pooling AND e.control = $control AND e.embedding IS NOT NULL
