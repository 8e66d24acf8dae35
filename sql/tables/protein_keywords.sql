-- UniProt keywords, one row per (accession, keyword).
SELECT
    NULL::VARCHAR AS accession,
    NULL::VARCHAR AS keyword,
    NULL::VARCHAR AS source,
    NULL::VARCHAR AS run_id
LIMIT 0
