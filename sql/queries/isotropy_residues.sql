-- Stored residue vectors (all, or the sample `--residues` kept) of one model and layer, with their
-- protein's accession (grouped local isotropy), in storage order.
SELECT accession, vector
FROM residues
WHERE model = $model AND layer = $layer AND control = 'none'
