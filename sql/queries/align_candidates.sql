-- Candidate accessions of an alignment sample, in accession order (the order sampling indexes).
SELECT accession
FROM protiso_align_source
WHERE ($min_length::INTEGER IS NULL OR length >= $min_length::INTEGER)
  AND ($max_length::INTEGER IS NULL OR length <= $max_length::INTEGER)
ORDER BY accession
