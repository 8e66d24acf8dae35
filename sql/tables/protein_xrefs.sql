-- Protein family cross-references from UniProt flat files (`DR   Pfam;` and `DR   InterPro;` lines), one row
-- per (accession, database, xref_id). `protiso align --pairs homolog-enriched` reads them as a second source
-- of likely homologs (two proteins sharing a Pfam or InterPro entry).
SELECT
    NULL::VARCHAR AS accession,
    NULL::VARCHAR AS database,
    NULL::VARCHAR AS xref_id,
    NULL::VARCHAR AS source,
    NULL::VARCHAR AS run_id
LIMIT 0
