-- Report section 1: every run with its parameters and versions, newest first ($limit rows).
-- Report runs themselves are left out.
SELECT
    run_id,
    kind,
    status,
    strftime(started_at, '%Y-%m-%d %H:%M:%S')  AS started_at,
    strftime(finished_at, '%Y-%m-%d %H:%M:%S') AS finished_at,
    model,
    revision,
    layer,
    pooling,
    CAST(params AS VARCHAR)                    AS params,
    versions ->> 'protiso'                     AS protiso_version,
    array_to_string(
        list_transform(json_keys(versions), lambda k: k || ' ' || (versions ->> k)), ', '
    )                                          AS versions
FROM runs
WHERE kind <> 'report'
ORDER BY started_at DESC, run_id
LIMIT $limit
