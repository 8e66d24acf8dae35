-- A pair an alignment run skipped (protiso.align.long_pairs rule 3). Parameters: run_id, accession_a, reason.
INSERT INTO rejects VALUES (?, 'align', NULL, ?, ?)
