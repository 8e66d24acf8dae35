-- How many residue vectors of $model at $layer an export with --residues writes (to check free space first).
SELECT count(*) FROM residues WHERE model = $model AND layer = $layer
