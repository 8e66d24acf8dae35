-- One metric column of the isotropy table, declared in the metric registry (protiso/metrics/registry.py)
-- and added when a warehouse opens for writing without it: an older warehouse, or a registry with one
-- metric more, gets the column (NULL in the rows written before). Placeholders: column, sql_type.
ALTER TABLE isotropy ADD COLUMN IF NOT EXISTS {{ column }} {{ sql_type }}
