-- The catalogued parts of the tables with a vector column, in commit order: ? = list of table names.
SELECT part_id, table_name, path FROM parts WHERE list_contains(?, table_name) ORDER BY committed_at, part_id
