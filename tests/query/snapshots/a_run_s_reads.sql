-- run_info, run_data, run_experiment, metric_history, latest_metric_rows, rows in files.

-- statement 1 of 9
SELECT run_name, status, start_time, end_time, user_id, experiment_id, run_id, parent_run_id, lifecycle_stage, artifact_uri FROM runs WHERE run_id = ?
-- parameters: ['run-a']

-- statement 2 of 9
SELECT value FROM tags WHERE run_id = ? AND key = 'mlflow.runName'
-- parameters: ['run-a']

-- statement 3 of 9
SELECT key, value FROM latest_metrics WHERE run_id = ?
-- parameters: ['run-a']

-- statement 4 of 9
SELECT key, value FROM params WHERE run_id = ?
-- parameters: ['run-a']

-- statement 5 of 9
SELECT key, value FROM tags WHERE run_id = ?
-- parameters: ['run-a']

-- statement 6 of 9
SELECT experiment_id FROM runs WHERE run_id = ?
-- parameters: ['run-a']

-- statement 7 of 9
SELECT step, timestamp, value FROM read_parquet([<files>], hive_partitioning = true, hive_types = {'exp': VARCHAR}) WHERE run_id = ? AND key = ?
-- parameters: ['run-a', 'acc']

-- statement 8 of 9
SELECT key, step, timestamp, value FROM latest_metrics WHERE run_id = ? ORDER BY key
-- parameters: ['run-a']

-- statement 9 of 9
SELECT key, step, timestamp, value FROM read_parquet(?) WHERE run_id = ? AND list_contains(?, key)
-- parameters: [[<files>], 'run-a', ['loss']]
