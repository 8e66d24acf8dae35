-- Whether a function or macro of this name exists: ? = name.
SELECT count(*) > 0 FROM duckdb_functions() WHERE function_name = ?
