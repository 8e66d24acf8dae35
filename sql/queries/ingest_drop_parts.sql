-- Ingest commit: uncatalogue replaced parts (their files are deleted after the commit, or at next open).
DELETE FROM parts WHERE list_contains($part_ids, part_id)
