-- A resumed run is running again, in this process: ? = pid, host, run_id.
UPDATE runs SET status = 'running', finished_at = NULL, pid = ?, host = ? WHERE run_id = ?
