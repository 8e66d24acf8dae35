-- Stored residue vectors of one model and layer (as isotropy_residues.sql) restricted to the matched
-- proteins $accessions (VARCHAR[], isotropy_residue_matched_accessions.sql), ordered by protein.
SELECT r.accession, r.vector
FROM residues r
SEMI JOIN (SELECT unnest($accessions::VARCHAR[]) AS accession) m ON m.accession = r.accession
WHERE r.model = $model AND r.layer = $layer AND r.control = 'none'
ORDER BY r.accession, r.position
