-- Global (per-protein) vectors of one model, layer, embedding set and pooling, with their accession
-- (for `protiso isotropy --by`, sql/macros/protein_groups.sql), in storage order.
SELECT accession, embedding AS vector
FROM embeddings
WHERE model = $model AND layer = $layer AND embedding_set = $embedding_set AND control = $control
  AND pooling IS NOT DISTINCT FROM $pooling
