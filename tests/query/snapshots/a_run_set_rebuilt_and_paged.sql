-- RunSet: rebuilt with a filter and two sort keys, then ids, a page, rows by id.

-- statement 1 of 6
CREATE OR REPLACE TEMP TABLE <order> AS
SELECT (row_number() OVER (ORDER BY TRY_CAST(w.{params.lr} AS DOUBLE) DESC NULLS LAST, w.{params.lr} DESC NULLS LAST, coalesce(w.{tags.mlflow.runName}, w.run_name) ASC NULLS LAST, w.start_time DESC NULLS LAST, w.run_id) - 1)::INTEGER AS pos,
       w.run_id, NULL::BIGINT AS src
FROM _wide_v w WHERE lifecycle_stage = 'active' AND list_contains(?, w.experiment_id) AND ((nullif(w.{metrics.acc}, 'NaN'::DOUBLE) >= ? AND w.{params.opt} = ?))
ORDER BY pos
-- parameters: [['1'], 0.5, 'adam']

-- statement 2 of 6
SELECT count(*) FROM <order>
-- parameters: None

-- statement 3 of 6
SELECT run_id FROM <order> WHERE pos >= ? AND pos < ? ORDER BY pos
-- parameters: [0, 2]

-- statement 4 of 6
SELECT run_id, src FROM <order> WHERE pos >= ? AND pos < ? ORDER BY pos
-- parameters: [0, 2]

-- statement 5 of 6
SELECT run_id FROM <order> WHERE list_contains(?, run_id) ORDER BY pos
-- parameters: [['run-c', 'run-b']]

-- statement 6 of 6
SELECT run_id, src FROM <order> WHERE list_contains(?, run_id) ORDER BY pos
-- parameters: [['run-c']]
