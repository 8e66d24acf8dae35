-- Whether nothing was ever recorded or committed (a failed first ingest removes such a warehouse).
SELECT (SELECT count(*) FROM runs) + (SELECT count(*) FROM parts) = 0 AS empty
