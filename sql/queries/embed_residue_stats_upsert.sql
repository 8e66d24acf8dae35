-- One cumulative row of residue-vector statistics per (run, model, layer), replaced at each commit.
-- Parameters: run_id, model, layer, n, dim, sum_x DOUBLE[], sum_xxt DOUBLE[] (row-major d*d), control.
INSERT OR REPLACE INTO residue_stats (run_id, model, layer, n, dim, sum_x, sum_xxt, control)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
