-- A run ends: ? = status, finished_at, params (JSON; NULL keeps the recorded ones), run_id.
UPDATE runs SET status = ?, finished_at = ?, params = coalesce(?::JSON, params) WHERE run_id = ?
