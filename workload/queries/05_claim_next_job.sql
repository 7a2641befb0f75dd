-- Claim the next job.
-- Issued by: every Celery worker when it is free: take the most urgent queued
-- job (priority 0 first, then oldest) that no other worker is taking, and
-- mark it running, in one statement. SKIP LOCKED lets concurrent workers
-- pass over each other's rows instead of queueing behind them; the CTE picks
-- the id with LIMIT before the UPDATE, as mature PostgreSQL job queues do.
-- ck_jobs_running_has_started_at: a running job has started_at.
-- Role: cadcam_worker
-- Index: idx_jobs_priority_created_at_queued
WITH next_job AS (
    SELECT q.id
    FROM jobs AS q
    WHERE q.status = 'queued'
    ORDER BY q.priority ASC, q.created_at ASC
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)

UPDATE jobs AS j
SET
    status = 'running',
    started_at = now()
FROM next_job
WHERE j.id = next_job.id
RETURNING j.id, j.type, j.model_id, j.input_params;
