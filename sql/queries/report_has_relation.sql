-- Whether the warehouse has a table or view of this name: ? = name.
SELECT count(*) > 0 FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?
