-- run_stats.run_detail: attributes, params, tags, metrics, artifacts, datasets, and
--     the sparklines' downsampled histories.

-- statement 1 of 9
SELECT coalesce(n.value, r.run_name), r.status, r.start_time, r.end_time, r.experiment_id, e.name, r.user_id, r.parent_run_id, r.lifecycle_stage FROM runs r LEFT JOIN tags n ON n.run_id = r.run_id AND n.key = 'mlflow.runName' LEFT JOIN experiments e ON e.experiment_id = r.experiment_id WHERE r.run_id = ?
-- parameters: ['run-a']

-- statement 2 of 9
SELECT key, value FROM params WHERE run_id = ? ORDER BY key
-- parameters: ['run-a']

-- statement 3 of 9
SELECT key, value FROM tags WHERE run_id = ? ORDER BY key
-- parameters: ['run-a']

-- statement 4 of 9
SELECT key, value, step FROM latest_metrics WHERE run_id = ? ORDER BY key
-- parameters: ['run-a']

-- statement 5 of 9
SELECT path, size FROM artifacts WHERE run_id = ? ORDER BY path
-- parameters: ['run-a']

-- statement 6 of 9
SELECT name, digest, context, source, profile FROM datasets WHERE run_id = ? ORDER BY name, context
-- parameters: ['run-a']

-- statement 7 of 9
SELECT DISTINCT key FROM latest_metrics WHERE run_id = ? ORDER BY key
-- parameters: ['run-a']

-- statement 8 of 9
SELECT run_id, experiment_id FROM runs WHERE list_contains(?, run_id)
-- parameters: [['run-a']]

-- statement 9 of 9
WITH src AS (SELECT 0::INTEGER AS r, list_position(?, key)::INTEGER - 1 AS k, step, timestamp, value FROM read_parquet([<files>], hive_partitioning = true, hive_types = {'exp': VARCHAR}) WHERE run_id = ? AND key IN (?, ?) AND isfinite(value)),
pts AS (SELECT r, k, value, CAST(step AS DOUBLE) AS x FROM src),
stats AS (
    SELECT r, k, count(*) AS total, min(x) AS lo, max(x) - min(x) AS span
    FROM pts GROUP BY r, k
),
agg AS (
    SELECT p.r, p.k,
           CASE WHEN s.total <= ? THEN p.x
                WHEN s.span = 0 THEN 0
                ELSE least(floor((p.x - s.lo) / s.span * ?), ? - 1) END AS bucket,
           count(*) AS n, avg(p.value) AS mean,
           min(p.x) AS x_first, arg_min(p.value, p.x) AS v_first,
           max(p.x) AS x_last, arg_max(p.value, p.x) AS v_last,
           arg_min(p.x, p.value) AS x_low, min(p.value) AS v_low,
           arg_max(p.x, p.value) AS x_high, max(p.value) AS v_high
    FROM pts p JOIN stats s USING (r, k)
    GROUP BY ALL
),
corners AS (
    SELECT r, k,
           unnest([x_first, x_low, x_high, x_last]) AS x,
           unnest([v_first, v_low, v_high, v_last]) AS value,
           unnest([NULL, NULL, NULL, n]) AS n,
           unnest([NULL, NULL, NULL, mean]) AS mean
    FROM agg
)
SELECT r, k, x, value, max(n) AS n, max(mean) AS mean
FROM corners GROUP BY r, k, x, value
ORDER BY r, k, x, value
-- parameters: [['acc', 'loss'], 'run-a', 'acc', 'loss', 128, 32, 32]
