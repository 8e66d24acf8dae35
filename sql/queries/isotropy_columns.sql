-- The columns the isotropy table has now (protiso.warehouse.migrations.add_metric_columns).
SELECT column_name
FROM duckdb_columns()
WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'isotropy'
