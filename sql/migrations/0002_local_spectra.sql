-- Covariance eigen-spectra of the per-residue ("local") vectors, stored by `protiso isotropy` for each
-- model and layer it measures from the merged residue statistics (protiso.metrics.spectra): the
-- eigenvalues normalised to shares of the variance (summing to 1), in decreasing order, zeros padded
-- to dim. Rows are appended per isotropy run; readers take the newest per model and layer.
CREATE TABLE local_spectra (
    run_id      VARCHAR NOT NULL,
    model       VARCHAR NOT NULL,
    layer       INTEGER NOT NULL,
    n           BIGINT NOT NULL,           -- residue vectors behind the statistics
    dim         INTEGER NOT NULL,
    eigenvalues DOUBLE[] NOT NULL,         -- length dim
    computed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (run_id, model, layer)
);
