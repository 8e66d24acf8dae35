-- The shuffled sequences of a `--control shuffled` embed run (registered as protiso_control_sequences by
-- protiso.embedding.job), replacing the same protein's row of the same seed (a resumed run draws the same).
INSERT OR REPLACE INTO control_sequences BY NAME
SELECT accession, control, seed, seq_hash, shuffled_hash, sequence, permutation, $run_id AS run_id
FROM protiso_control_sequences
