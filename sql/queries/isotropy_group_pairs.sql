-- (idx, group_value) of the vectors being measured (protiso registers protiso_row_index(accession,
-- idx) for their rows) in the groups of $group_by: protein_groups($group_by) for organism and
-- length_bin; for go_term the rows' DIRECT annotations, which protiso extends to their ancestors with
-- isotropy_group_closure.sql (giving the rows of protein_groups('go_term'), on integer codes).
SELECT x.idx, g.group_value
FROM protein_groups($group_by) g
JOIN protiso_row_index x ON x.accession = g.accession
WHERE $group_by <> 'go_term'
UNION ALL
SELECT x.idx, p.go_id AS group_value
FROM protein_go p
JOIN protiso_row_index x ON x.accession = p.accession
WHERE $group_by = 'go_term' AND p.go_id IS NOT NULL
