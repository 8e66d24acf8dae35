-- Store the staged embedding_stats rows (protiso.warehouse.embedding_stats), after embedding_stats_delete.
INSERT INTO embedding_stats BY NAME
SELECT run_id, model, layer, pooling, embedding_set, control, rows, n, dim, sum_x::DOUBLE[] AS sum_x,
       sum_xxt::DOUBLE[] AS sum_xxt, n_unit, sum_unit::DOUBLE[] AS sum_unit, sum_unit_sq
FROM protiso_staged_embedding_stats
