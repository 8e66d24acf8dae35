-- The proteins `protiso shuffle` writes: every protein with a sequence or, with $model, those holding a
-- real (control 'none') raw vector of $model. Columns: accession, seq_hash, sequence; one row per accession.
SELECT accession, any_value(coalesce(seq_hash, md5(sequence))) AS seq_hash, any_value(sequence) AS sequence
FROM proteins
WHERE sequence IS NOT NULL
  AND ($model::VARCHAR IS NULL OR accession IN (
      SELECT accession FROM embeddings WHERE model = $model AND embedding_set = 'raw' AND control = 'none'))
GROUP BY accession
ORDER BY accession
