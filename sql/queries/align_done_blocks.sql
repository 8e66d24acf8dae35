-- Blocks of an alignment run that are committed (their part path holds block-NNNNNN; block=NNNNNN before protiso 0.2).
SELECT CAST(regexp_extract(path, 'block[-=]([0-9]+)', 1) AS BIGINT) AS block, rows
FROM parts
WHERE table_name = 'alignments' AND run_id = $run_id
