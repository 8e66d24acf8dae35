-- GO term names and namespaces (molecular_function | biological_process | cellular_component).
SELECT
    NULL::VARCHAR AS go_id,
    NULL::VARCHAR AS name,
    NULL::VARCHAR AS namespace,
    NULL::BOOLEAN AS is_obsolete,
    NULL::VARCHAR AS source,
    NULL::VARCHAR AS run_id
LIMIT 0
