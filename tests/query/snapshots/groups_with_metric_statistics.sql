-- run_stats.groups: by a param, min/mean/max of two metrics.

-- statement 1 of 1
SELECT CAST(w.{params.opt} AS VARCHAR) AS "group", count(*) AS runs, min(nullif(w.{metrics.acc}, 'NaN'::DOUBLE)) AS "metrics.acc:min", avg(nullif(w.{metrics.acc}, 'NaN'::DOUBLE)) AS "metrics.acc:mean", max(nullif(w.{metrics.acc}, 'NaN'::DOUBLE)) AS "metrics.acc:max", min(nullif(w.{metrics.loss}, 'NaN'::DOUBLE)) AS "metrics.loss:min", avg(nullif(w.{metrics.loss}, 'NaN'::DOUBLE)) AS "metrics.loss:mean", max(nullif(w.{metrics.loss}, 'NaN'::DOUBLE)) AS "metrics.loss:max", count(*) OVER () AS groups
FROM _wide_v w WHERE lifecycle_stage = 'active' AND list_contains(?, w.experiment_id) AND (CASE WHEN w.status = 'RUNNING' AND w.last_seen < epoch_ms(now()) - 6 * coalesce(w.heartbeat_ms, 10000) THEN 'KILLED' ELSE w.status END != ?)
GROUP BY 1 ORDER BY runs DESC, 1 NULLS LAST LIMIT ?
-- parameters: [['1'], 'KILLED', 1000]
