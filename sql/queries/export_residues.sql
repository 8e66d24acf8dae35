-- The stored residue vectors of $model at $layer, by accession and position (for --residues).
SELECT accession, position, vector
FROM residues
WHERE model = $model AND layer = $layer
ORDER BY accession, position
