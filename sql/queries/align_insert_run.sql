INSERT INTO alignment_runs
    (run_id, matrix, mode, open_score, extend_score, engine, n_proteins, n_pairs, seed, params, created_at)
VALUES ($run_id, $matrix, $mode, $open_score, $extend_score, $engine, $n_proteins, $n_pairs, $seed, $params,
        now()::TIMESTAMP)
