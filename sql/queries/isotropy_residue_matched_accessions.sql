-- Proteins with stored residue vectors (control none) at each of the $layers layers of $model that have
-- any: the proteins the matched local layer curve is measured on (group_by 'matched', scope 'local').
SELECT accession
FROM residues
WHERE model = $model AND control = 'none'
GROUP BY accession
HAVING count(DISTINCT layer) = $layers
ORDER BY accession
