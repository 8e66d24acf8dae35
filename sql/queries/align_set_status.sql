UPDATE runs SET status = $status, finished_at = NULL WHERE run_id = $run_id
