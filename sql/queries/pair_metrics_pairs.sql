-- Pairs of alignment run $run_id whose two proteins both have a vector, with the vectors' row numbers
-- (protiso registers protiso_pair_index(accession, idx) for the embedding set at hand), and the pair's
-- stratum and sampling weight (NULL in a random sample).
SELECT a.accession_a, a.accession_b, ia.idx AS ia, ib.idx AS ib,
       a.score, a.identity, a.similarity, a.normalized_score, a.stratum, a.weight
FROM alignments AS a
JOIN protiso_pair_index AS ia ON ia.accession = a.accession_a
JOIN protiso_pair_index AS ib ON ib.accession = a.accession_b
WHERE a.run_id = $run_id
ORDER BY a.accession_a, a.accession_b
