-- Sequences of the sampled accessions (registered by protiso as protiso_align_sample).
SELECT s.accession, p.sequence
FROM protiso_align_sample AS s
LEFT JOIN protiso_align_source AS p USING (accession)
ORDER BY s.accession
