-- GO annotations, one row per (accession, GO id). ontology: molecular_function | biological_process |
-- cellular_component, or NULL when the source does not say (join go_terms for the namespace).
SELECT
    NULL::VARCHAR AS accession,
    NULL::VARCHAR AS go_id,
    NULL::VARCHAR AS ontology,
    NULL::VARCHAR AS source,
    NULL::VARCHAR AS run_id
LIMIT 0
