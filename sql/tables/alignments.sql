-- One row per aligned pair (accession_a < accession_b) and alignment run.
-- identity / similarity = identical / positive-scoring aligned positions divided by alignment length.
-- stratum / weight / homolog_evidence: in a homolog-enriched sample (`protiso align --pairs homolog-enriched`)
-- the pair's stratum ('homolog' | 'non-homolog'), its sampling weight (inverse inclusion probability,
-- N_h / n_h) and why it is a likely homolog ('mmseqs' | 'xrefs' | 'mmseqs+xrefs'); NULL in a random sample,
-- where every pair weighs 1.
SELECT
    NULL::VARCHAR AS accession_a,
    NULL::VARCHAR AS accession_b,
    NULL::DOUBLE  AS score,
    NULL::DOUBLE  AS identity,
    NULL::DOUBLE  AS similarity,
    NULL::INTEGER AS alignment_length,
    NULL::INTEGER AS gaps,
    NULL::DOUBLE  AS normalized_score,
    NULL::VARCHAR AS stratum,
    NULL::DOUBLE  AS weight,
    NULL::VARCHAR AS homolog_evidence,
    NULL::VARCHAR AS run_id
LIMIT 0
