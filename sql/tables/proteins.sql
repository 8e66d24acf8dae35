-- One row per accession. seq_hash = md5(sequence): identical sequences are embedded once.
SELECT
    NULL::VARCHAR AS accession,
    NULL::VARCHAR AS entry_name,
    NULL::VARCHAR AS protein_name,
    NULL::VARCHAR AS organism,
    NULL::BIGINT  AS taxon_id,
    NULL::VARCHAR AS gene,
    NULL::INTEGER AS protein_existence,
    NULL::INTEGER AS sequence_version,
    NULL::VARCHAR AS sequence,
    NULL::INTEGER AS length,
    NULL::VARCHAR AS seq_hash,
    NULL::VARCHAR AS source,
    NULL::VARCHAR AS run_id
LIMIT 0
