-- Record a run (Run.insert_statement): ? = run_id, kind, started_at, finished_at, status, model, revision,
-- layer, pooling, params (JSON), versions (JSON), pid, host.
INSERT INTO runs (run_id, kind, started_at, finished_at, status, model, revision, layer, pooling, params, versions,
                  pid, host)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
