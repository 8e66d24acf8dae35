-- Controls (issue 21): every result keyed by `control` as well as by model, layer and set.
--   none         the model's trained weights on the real sequences (everything written before this)
--   shuffled     the trained model on each protein's residues in a seeded random order (same length
--                and composition; control_sequences holds the order)
--   random-init  the same architecture and tokenizer with seeded random weights (the family's own
--                initialisation; the seed is in the embed run's parameters)
-- The Parquet-backed tables (embeddings, residues, pair_metrics, pair_metric_stats) carry the column in
-- parts written from now on; their views read an older part's missing column as 'none'.
ALTER TABLE isotropy ADD COLUMN control VARCHAR DEFAULT 'none';
UPDATE isotropy SET control = 'none';
ALTER TABLE embedding_stats ADD COLUMN control VARCHAR DEFAULT 'none';
UPDATE embedding_stats SET control = 'none';
ALTER TABLE residue_stats ADD COLUMN control VARCHAR DEFAULT 'none';
UPDATE residue_stats SET control = 'none';

-- global_spectra gains control in its key: rebuilt under a new name and renamed.
CREATE TABLE global_spectra_0008 (
    run_id        VARCHAR NOT NULL,
    model         VARCHAR NOT NULL,
    layer         INTEGER NOT NULL,
    embedding_set VARCHAR NOT NULL,
    n             BIGINT NOT NULL,
    dim           INTEGER NOT NULL,
    eigenvalues   DOUBLE[] NOT NULL,
    computed_at   TIMESTAMP NOT NULL,
    control       VARCHAR NOT NULL DEFAULT 'none',
    PRIMARY KEY (run_id, model, layer, embedding_set, control)
);
INSERT INTO global_spectra_0008 BY NAME SELECT *, 'none' AS control FROM global_spectra;
DROP TABLE global_spectra;
ALTER TABLE global_spectra_0008 RENAME TO global_spectra;

-- The shuffled sequences a `protiso embed --control shuffled` run embedded, one row per protein and
-- seed: sequence = the shuffled residues, permutation[i] = the 1-based position in the original
-- sequence of shuffled residue i (so sequence[i] = original[permutation[i]]). seq_hash is the
-- original's (proteins.seq_hash); shuffled_hash = md5(sequence). Re-embed them with any tool:
--   SELECT accession, sequence FROM control_sequences WHERE control = 'shuffled' AND seed = 0
CREATE TABLE control_sequences (
    accession     VARCHAR NOT NULL,
    control       VARCHAR NOT NULL,
    seed          BIGINT NOT NULL,
    seq_hash      VARCHAR,
    shuffled_hash VARCHAR NOT NULL,
    sequence      VARCHAR NOT NULL,
    permutation   INTEGER[] NOT NULL,
    run_id        VARCHAR,
    PRIMARY KEY (accession, control, seed)
);
