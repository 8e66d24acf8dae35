-- Mark a running run interrupted, merging a note (JSON) into its parameters: params, run_id.
UPDATE runs SET status = 'interrupted', params = json_merge_patch(coalesce(params, '{}'), ?)
WHERE run_id = ? AND status = 'running'
