-- Stored residue vectors of one model and layer ordered by protein then position, so that each
-- protein's residues arrive contiguously (local mean cosine, protiso.metrics.local_cosine).
SELECT accession, vector
FROM residues
WHERE model = $model AND layer = $layer AND control = 'none'
ORDER BY accession, position
