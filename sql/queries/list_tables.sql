-- User-facing tables and views of the warehouse (bookkeeping of migrations excluded).
SELECT table_name AS name, lower(replace(table_type, 'BASE ', '')) AS kind
FROM information_schema.tables
WHERE table_schema = 'main' AND table_name <> 'schema_migrations'
ORDER BY kind, name
