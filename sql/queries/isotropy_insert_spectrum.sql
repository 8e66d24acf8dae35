-- One local covariance spectrum (see sql/migrations/0002_local_spectra.sql); the parameters other than
-- $run_id are what protiso.metrics.spectra.spectrum_row returns.
INSERT INTO local_spectra (run_id, model, layer, n, dim, eigenvalues, computed_at)
VALUES ($run_id, $model, $layer, $n, $dim, $eigenvalues, $computed_at)
