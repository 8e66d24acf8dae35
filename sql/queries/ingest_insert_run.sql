-- Ingest commit: the runs row, with every option and the summary as JSON.
INSERT INTO runs (run_id, kind, started_at, finished_at, status, params, versions)
VALUES ($run_id, 'ingest', $started_at, $finished_at, 'done', $params, $versions)
