-- Proteins of a homolog search (registered by protiso as protiso_homolog_sample(accession, idx)) grouped by
-- each Pfam or InterPro entry that at least two of them share: one row per entry with their indices.
SELECT x.database, x.xref_id, list(DISTINCT s.idx) AS members
FROM protein_xrefs AS x
JOIN protiso_homolog_sample AS s USING (accession)
WHERE x.database IN ('Pfam', 'InterPro')
GROUP BY x.database, x.xref_id
HAVING count(DISTINCT s.idx) >= 2
ORDER BY x.database, x.xref_id
