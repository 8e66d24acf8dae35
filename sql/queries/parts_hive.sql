-- Catalogued parts still in protiso 0.2's hive-style folders (key=value), to be renamed key-value.
SELECT part_id, path FROM parts WHERE regexp_matches(path, '/[A-Za-z_][A-Za-z0-9_]*=') ORDER BY path
