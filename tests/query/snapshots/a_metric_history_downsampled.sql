-- downsample: two runs, two keys, relative time, a zoomed range.

-- statement 1 of 2
SELECT run_id, experiment_id FROM runs WHERE list_contains(?, run_id)
-- parameters: [['run-a', 'run-b']]

-- statement 2 of 2
WITH src AS (SELECT 0::INTEGER AS r, list_position(?, key)::INTEGER - 1 AS k, step, timestamp, value FROM read_parquet([<files>], hive_partitioning = true, hive_types = {'exp': VARCHAR}) WHERE run_id = ? AND key IN (?, ?) AND isfinite(value) UNION ALL SELECT 1::INTEGER AS r, list_position(?, key)::INTEGER - 1 AS k, step, timestamp, value FROM read_parquet([<files>], hive_partitioning = true, hive_types = {'exp': VARCHAR}) WHERE run_id = ? AND key IN (?, ?) AND isfinite(value)),
pts AS (SELECT * FROM (SELECT s.r, s.k, s.value, (s.timestamp - t.t0) / 1000.0 AS x FROM src s JOIN (SELECT r, min(timestamp) AS t0 FROM src GROUP BY r) t USING (r)) WHERE x BETWEEN ? AND ?),
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
-- parameters: [['acc', 'loss'], 'run-a', 'acc', 'loss', ['acc', 'loss'], 'run-b', 'acc', 'loss', 0.0, 1.0, 64, 16, 16]
