-- Add where a run executed (engine ray, address, workers) to its recorded parameters.
-- Parameters: executor JSON object, run_id.
UPDATE runs SET params = json_merge_patch(params, ?::JSON) WHERE run_id = ?
