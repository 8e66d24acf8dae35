-- Sequence length of each protein a group null draws from (protiso registers protiso_unit_names(accession));
-- NULL when proteins has none.
SELECT u.accession, any_value(p.length) AS length
FROM protiso_unit_names u
LEFT JOIN proteins p ON p.accession = u.accession
GROUP BY u.accession
