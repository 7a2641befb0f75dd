-- 0020_idx_jobs_priority_created_at_queued: the index of the job claim.
--
-- Why: make bench (issue 6) showed each claim reading and sorting the whole
-- queue through idx_jobs_status_created_at (created_at order, but a claim
-- takes the most urgent priority first): about 2 ms at a queue of 3000,
-- growing with the queue. With this partial index, in claim order, a claim
-- reads one entry: 0.5 ms, and 4 to 5 times the claims per second. It holds
-- only queued jobs, so it stays small, and progress updates stay HOT.
-- Rollout: CONCURRENTLY, so reads and writes go on while it builds; hence
-- not in a transaction. IF NOT EXISTS makes a re-run after a failure safe
-- (the runner drops an index left INVALID by a failed build).
-- depends: 0019_drop_idx_jobs_model_id
-- transactional: false

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_jobs_priority_created_at_queued
ON jobs (priority, created_at)
WHERE status = 'queued';
