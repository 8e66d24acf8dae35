-- Stored residue vectors (all, or the sample `--residues` kept) of one model and layer with their
-- protein's group, sorted by group.
SELECT g.group_value, r.vector
FROM residues r
JOIN protein_groups($group_by) g ON g.accession = r.accession
WHERE r.model = $model AND r.layer = $layer
ORDER BY g.group_value
