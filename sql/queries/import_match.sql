-- The proteins each record of a chunk names. $rec, $prio, $name (lists of equal length): a record's
-- names in order of trust (given as lists, not a registered Arrow table, which would import pandas).
-- A name equal to an accession names that protein; a name equal to a seq_hash (MD5 of the sequence,
-- compared lower-case) names every protein with that sequence. Each record keeps the matches of its
-- most trusted name that matches anything, with the layers already stored for them.
WITH names AS (
    SELECT unnest($rec::INTEGER[]) AS rec, unnest($prio::INTEGER[]) AS prio, unnest($name::VARCHAR[]) AS name
),
hits AS (
    SELECT n.rec, n.prio, p.accession, p.seq_hash, p.length, 'accession' AS by
    FROM names n JOIN import_proteins p ON p.accession = n.name
    UNION ALL
    SELECT n.rec, n.prio, p.accession, p.seq_hash, p.length, 'md5' AS by
    FROM (SELECT rec, prio, lower(name) AS name FROM names WHERE length(name) = 32) n
    JOIN import_proteins p ON p.seq_hash = n.name
),
ranked AS (
    SELECT *, min(prio) OVER (PARTITION BY rec) AS best FROM hits
)
SELECT DISTINCT r.rec, r.accession, r.seq_hash, r.length, r.by, e.layers
FROM ranked r
LEFT JOIN import_existing e ON e.accession = r.accession
WHERE r.prio = r.best
ORDER BY r.rec, r.accession
