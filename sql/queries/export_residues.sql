-- The stored residue vectors of $model at $layer and $control, by accession and position (for --residues).
SELECT accession, position, vector
FROM residues
WHERE model = $model AND layer = $layer AND control = $control
ORDER BY accession, position
