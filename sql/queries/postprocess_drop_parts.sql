-- Uncatalogue parts replaced by a new post-processing run (their files go at the next open).
DELETE FROM parts WHERE list_contains($part_ids, part_id)
