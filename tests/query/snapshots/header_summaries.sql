-- run_stats.summaries: histograms, top values, a numeric param with few values.

-- statement 1 of 3
SELECT min(x0) FILTER (WHERE isfinite(x0)), max(x0) FILTER (WHERE isfinite(x0)), count(*) FILTER (WHERE x0 IS NULL OR NOT isfinite(x0)), NULL, min(x1) FILTER (WHERE isfinite(x1)), max(x1) FILTER (WHERE isfinite(x1)), count(*) FILTER (WHERE x1 IS NULL OR NOT isfinite(x1)), NULL, min(x2) FILTER (WHERE isfinite(x2)), max(x2) FILTER (WHERE isfinite(x2)), count(*) FILTER (WHERE x2 IS NULL OR NOT isfinite(x2)), count(DISTINCT x2) FROM (SELECT TRY_CAST(w.{metrics.acc} AS DOUBLE) AS x0, TRY_CAST(w.start_time AS DOUBLE) AS x1, TRY_CAST(w.{params.lr} AS DOUBLE) AS x2 FROM _wide_v w WHERE lifecycle_stage = 'active' AND list_contains(?, w.experiment_id))
-- parameters: [['1']]

-- statement 2 of 3
WITH v AS (SELECT TRY_CAST(w.{metrics.acc} AS DOUBLE) AS x0, TRY_CAST(w.start_time AS DOUBLE) AS x1, TRY_CAST(w.{params.lr} AS DOUBLE) AS x2 FROM _wide_v w WHERE lifecycle_stage = 'active' AND list_contains(?, w.experiment_id)),
u AS (SELECT * FROM v UNPIVOT (x FOR c IN (x0, x1))),
e AS (SELECT unnest(?::VARCHAR[]) AS c, unnest(?::DOUBLE[][]) AS edges,
             unnest(?::DOUBLE[]) AS step),
g AS (SELECT u.c, u.x, e.edges,
             least(greatest(floor((u.x - e.edges[1]) / e.step)::INTEGER, 0),
                   len(e.edges) - 2) AS b
      FROM u JOIN e ON e.c = u.c WHERE isfinite(u.x))
SELECT c, b - (x < edges[b + 1])::INTEGER + (x >= edges[b + 2])::INTEGER AS bin,
       count(*)
FROM g GROUP BY ALL
-- parameters: [['1'], ['x0', 'x1'], [[0.54, 0.56, 0.58, 0.6, 0.62, 0.64, 0.66, 0.68, 0.7, 0.72, 0.74, 0.76, 0.78, 0.8, 0.82, 0.84, 0.86, 0.88, 0.9, 0.92], [1750000000000.0, 1750000000200.0, 1750000000400.0, 1750000000600.0, 1750000000800.0, 1750000001000.0, 1750000001200.0, 1750000001400.0, 1750000001600.0, 1750000001800.0, 1750000002000.0, 1750000002200.0, 1750000002400.0, 1750000002600.0, 1750000002800.0, 1750000003000.0, 1750000003200.0]], [0.020000000000000018, 200.0]]

-- statement 3 of 3
WITH v AS (SELECT CAST(w.{params.opt} AS VARCHAR) AS x0, CAST(w.{params.lr} AS VARCHAR) AS x1 FROM _wide_v w WHERE lifecycle_stage = 'active' AND list_contains(?, w.experiment_id)),
u AS (SELECT * FROM v UNPIVOT INCLUDE NULLS (x FOR c IN (x0, x1))),
g AS (SELECT c, x, count(*) AS n FROM u GROUP BY c, x)
SELECT c, x, n, count(*) OVER w AS distinct_values, sum(n) OVER w AS total
FROM g WINDOW w AS (PARTITION BY c)
QUALIFY row_number() OVER (PARTITION BY c ORDER BY n DESC, x NULLS LAST) <= ?
ORDER BY c, n DESC, x NULLS LAST
-- parameters: [['1'], 5]
