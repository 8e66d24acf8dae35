-- Ingest summary: counts per input file (file_idx) and kind.
SELECT file_idx, 'proteins_' || status AS what, count(*) AS n FROM ingest_protein_status GROUP BY ALL
UNION ALL
SELECT file_idx, 'rejected', count(*) FROM ingest_rejects GROUP BY ALL
UNION ALL
SELECT file_idx, 'annotations', count(*) FROM ingest_out_protein_go GROUP BY ALL
UNION ALL
SELECT file_idx, 'annotations', count(*) FROM ingest_out_protein_keywords GROUP BY ALL
UNION ALL
SELECT file_idx, 'terms', count(*) FROM ingest_go_terms WHERE is_new GROUP BY ALL
UNION ALL
SELECT file_idx, 'edges', count(*) FROM ingest_out_go_graph GROUP BY ALL
UNION ALL
SELECT file_idx, 'proteins_updated', count(*) FROM ingest_protein_enrich GROUP BY ALL
