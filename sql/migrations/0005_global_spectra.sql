-- Covariance eigen-spectra of the per-protein ("global") vectors, stored by `protiso isotropy` for each
-- model, layer and embedding set it measures, from the float64 statistics of one streamed scan of the
-- set (protiso.metrics.spectra, as local_spectra for the residues): the eigenvalues normalised to
-- shares of the variance (summing to 1), in decreasing order, zeros padded to dim. The report reads
-- these instead of computing eigen_spectrum(list(embedding)). Rows are appended per isotropy run;
-- readers take the newest per model, layer and embedding set.
CREATE TABLE global_spectra (
    run_id        VARCHAR NOT NULL,
    model         VARCHAR NOT NULL,
    layer         INTEGER NOT NULL,
    embedding_set VARCHAR NOT NULL,
    n             BIGINT NOT NULL,         -- per-protein vectors behind the statistics
    dim           INTEGER NOT NULL,
    eigenvalues   DOUBLE[] NOT NULL,       -- length dim
    computed_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (run_id, model, layer, embedding_set)
);
