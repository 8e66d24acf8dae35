-- Ingest output: go_terms rows to write. $rewrite = false: the new terms only. $rewrite = true
-- (stored terms got a namespace filled): every term, replacing the stored parts.
SELECT go_id, name, namespace, is_obsolete, source, run_id, file_idx
FROM ingest_go_terms
WHERE is_new OR $rewrite
ORDER BY go_id
