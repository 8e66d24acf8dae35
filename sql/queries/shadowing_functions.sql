-- Functions and macros stored in database $db, not made by protiso (no 'protiso:' comment), named like one of
-- protiso's SQL functions ($names, lower case) or a built-in one: each shadows the function protiso calls.
-- Functions are spelt in full (system.main.*): the macros looked for cannot shadow them.
SELECT DISTINCT f.schema_name, f.function_name, f.function_type,
       system.main.concat(f.macro_definition, '') AS definition, f.parameters
FROM system.main.duckdb_functions() AS f
WHERE f.database_name = $db AND NOT f.internal
  AND NOT system.main.prefix(system.main.concat(f.comment, ''), 'protiso:')
  AND (system.main.list_contains($names, system.main.lower(f.function_name))
       OR system.main.lower(f.function_name) IN (SELECT system.main.lower(b.function_name)
                                                FROM system.main.duckdb_functions() AS b WHERE b.internal))
ORDER BY ALL
