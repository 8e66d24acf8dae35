-- One global covariance spectrum (see sql/migrations/0005_global_spectra.sql); the parameters other
-- than $run_id are what protiso.metrics.spectra.spectrum_row returns with an embedding set.
INSERT INTO global_spectra (run_id, model, layer, embedding_set, control, n, dim, eigenvalues, computed_at)
VALUES ($run_id, $model, $layer, $embedding_set, $control, $n, $dim, $eigenvalues, $computed_at)
