-- runs_frame: given runs, in the order given.

-- statement 1 of 1
SELECT run_id, NULL::BIGINT FROM _wide_v b WHERE b.run_id IN (SELECT unnest(?))
-- parameters: [['run-b', 'run-a']]
