-- Before storing the staged embedding_stats rows (protiso.warehouse.embedding_stats): drop the rows
-- they replace, of the same model, layer, pooling, set and control: the same run's earlier row, or with
-- $replace every run's row of the set (a derived set written anew, a whole-set scan).
DELETE FROM embedding_stats AS s
WHERE EXISTS (
    SELECT 1 FROM protiso_staged_embedding_stats AS r
    WHERE s.model = r.model AND s.layer = r.layer AND s.embedding_set = r.embedding_set AND s.control = r.control
      AND s.pooling IS NOT DISTINCT FROM r.pooling
      AND ($replace OR s.run_id = r.run_id)
)
