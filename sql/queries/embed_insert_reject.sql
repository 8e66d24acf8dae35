-- A protein whose sequence the model cannot embed (only with skip_invalid). Parameters: run_id, source, accession, reason.
INSERT INTO rejects VALUES (?, ?, NULL, ?, ?)
