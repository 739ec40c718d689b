-- select_runs: every experiment and lifecycle, a dataset filter, a page at offset 1.

-- statement 1 of 1
SELECT b.run_id FROM _wide_v b WHERE true AND ((EXISTS (SELECT 1 FROM datasets d WHERE d.run_id = b.run_id AND d.context = ?) OR CASE WHEN b.status = 'RUNNING' AND b.last_seen < epoch_ms(now()) - 6 * coalesce(b.heartbeat_ms, 10000) THEN 'KILLED' ELSE b.status END != ?)) ORDER BY b.start_time ASC NULLS LAST, b.{tags.team} DESC NULLS LAST, b.start_time DESC, b.run_id LIMIT ? OFFSET ?
-- parameters: ['train', 'FINISHED', 2, 1]
