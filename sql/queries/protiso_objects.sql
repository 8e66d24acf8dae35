-- Views and macros protiso made (their comment starts with 'protiso:'), with the DROP kind of each.
SELECT 'VIEW' AS kind, view_name AS name
FROM duckdb_views()
WHERE NOT internal AND schema_name = 'main' AND comment LIKE 'protiso:%'
UNION ALL
SELECT DISTINCT CASE function_type WHEN 'table_macro' THEN 'MACRO TABLE' ELSE 'MACRO' END, function_name
FROM duckdb_functions()
WHERE NOT internal AND schema_name = 'main' AND function_type IN ('macro', 'table_macro')
  AND comment LIKE 'protiso:%'
