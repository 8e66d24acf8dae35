-- Records an import skipped (--skip-unknown): their file, label and reason, one list entry each.
-- Parameters: $run_id VARCHAR, $sources VARCHAR[], $records VARCHAR[], $reasons VARCHAR[].
INSERT INTO rejects
SELECT $run_id, unnest($sources::VARCHAR[]), unnest($records::VARCHAR[]), NULL, unnest($reasons::VARCHAR[])
