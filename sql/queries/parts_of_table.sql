-- The catalogued parts of one table, in commit order: ? = table_name.
SELECT path FROM parts WHERE table_name = ? ORDER BY committed_at, part_id
