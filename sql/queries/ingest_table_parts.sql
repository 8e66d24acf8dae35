-- Ingest: the catalogued parts of one table ($table): replaced when stored rows get fields filled.
SELECT part_id, path FROM parts WHERE table_name = $table ORDER BY committed_at, part_id
