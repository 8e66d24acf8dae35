-- Global vectors of one model, layer, embedding set and pooling with their group ($group_by, see
-- sql/macros/protein_groups.sql), sorted by group so that groups stream one after another.
SELECT g.group_value, e.embedding AS vector
FROM embeddings e
JOIN protein_groups($group_by) g ON g.accession = e.accession
WHERE e.model = $model AND e.layer = $layer AND e.embedding_set = $embedding_set
  AND e.pooling IS NOT DISTINCT FROM $pooling
ORDER BY g.group_value
