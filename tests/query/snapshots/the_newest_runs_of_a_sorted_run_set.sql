-- RunSet.newest: the newest runs that pass the filter, whatever the sort.

-- statement 1 of 1
SELECT w.run_id FROM _wide_v w WHERE lifecycle_stage = 'active' AND list_contains(?, w.experiment_id) AND (w.{params.opt} = ?) ORDER BY w.start_time DESC NULLS LAST, w.run_id LIMIT ?
-- parameters: [['1'], 'adam', 2]
