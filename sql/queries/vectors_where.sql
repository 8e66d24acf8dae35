-- Accessions for Warehouse.vectors(where=...): the user's predicate replaces the marker below and reads
-- `p`, every column of `proteins` (subqueries over any table work too).
SELECT DISTINCT accession
FROM proteins AS p
WHERE (/*WHERE*/ TRUE)
