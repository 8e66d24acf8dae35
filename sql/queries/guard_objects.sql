-- The definition of every object of database $db named like one of protiso's ($names, lower case), and of
-- every stored function named like a built-in one (it would shadow it): what `protiso sql` compares before
-- and after a user's statements. Functions are spelt in full (system.main.*): a user's macro cannot shadow them.
SELECT 'table' AS kind, t.schema_name AS schema_name, t.table_name AS name,
       system.main.concat(t.sql, t.comment) AS definition
FROM system.main.duckdb_tables() AS t
WHERE t.database_name = $db AND system.main.list_contains($names, system.main.lower(t.table_name))
UNION ALL
SELECT 'view', v.schema_name, v.view_name, system.main.concat(v.sql, v.comment)
FROM system.main.duckdb_views() AS v
WHERE v.database_name = $db AND NOT v.internal AND system.main.list_contains($names, system.main.lower(v.view_name))
UNION ALL
SELECT 'index', i.schema_name, i.index_name, i.sql
FROM system.main.duckdb_indexes() AS i
WHERE i.database_name = $db AND system.main.list_contains($names, system.main.lower(i.table_name))
UNION ALL
SELECT f.function_type, f.schema_name, f.function_name,
       system.main.concat(f.macro_definition, f.parameters::VARCHAR, f.comment)
FROM system.main.duckdb_functions() AS f
WHERE f.database_name = $db AND NOT f.internal
  AND (system.main.list_contains($names, system.main.lower(f.function_name))
       OR system.main.lower(f.function_name) IN (SELECT system.main.lower(b.function_name)
                                                FROM system.main.duckdb_functions() AS b WHERE b.internal))
ORDER BY ALL
