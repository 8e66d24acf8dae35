-- The shuffled sequences of a `--control shuffled` embed run, or of `protiso shuffle` (registered as
-- protiso_control_sequences by protiso.embedding.controls.record_shuffles), replacing the same protein's
-- row of the same seed (the shuffle depends on seed and accession only, so a rerun draws the same).
INSERT OR REPLACE INTO control_sequences BY NAME
SELECT accession, control, seed, seq_hash, shuffled_hash, sequence, permutation, $run_id AS run_id
FROM protiso_control_sequences
