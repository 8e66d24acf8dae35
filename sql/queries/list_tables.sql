-- User-facing tables and views of the warehouse (bookkeeping of migrations and of the views excluded).
SELECT table_name AS name, lower(replace(table_type, 'BASE ', '')) AS kind
FROM information_schema.tables
WHERE table_schema = 'main' AND table_name NOT IN ('schema_migrations', 'protiso_state')
ORDER BY kind, name
