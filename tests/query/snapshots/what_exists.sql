-- existing_run_ids, experiment_ids, runs_with_tag, runs_with_artifact.

-- statement 1 of 4
SELECT run_id FROM runs WHERE list_contains(?, run_id)
-- parameters: [['run-a', 'nope']]

-- statement 2 of 4
SELECT experiment_id FROM experiments
-- parameters: None

-- statement 3 of 4
SELECT r.run_id, r.experiment_id, r.lifecycle_stage, t.value FROM runs r LEFT JOIN tags t ON t.run_id = r.run_id AND t.key = ? WHERE list_contains(?, r.run_id)
-- parameters: ['team', ['run-a', 'run-b']]

-- statement 4 of 4
SELECT DISTINCT run_id FROM artifacts WHERE list_contains(?, run_id) AND path = ?
-- parameters: [['run-a', 'run-b'], 'roc_curve_plot.json']
