-- Claim the next ten jobs.
-- Issued by: a worker that runs several jobs at once (a Celery prefetch, a
-- pool of FreeCAD processes): take up to ten queued jobs, the most urgent
-- first, in one statement, as River, Oban and graphile-worker fetch. The
-- statement of 05_claim_next_job with LIMIT 10: one round trip, one plan
-- and one lock per job instead of ten of each; fewer than ten come back
-- when fewer are queued or free.
-- ck_jobs_running_has_started_at: a running job has started_at.
-- Role: cadcam_worker
-- Index: idx_jobs_priority_created_at_queued
WITH next_jobs AS (
    SELECT q.id
    FROM jobs AS q
    WHERE q.status = 'queued'
    ORDER BY q.priority ASC, q.created_at ASC
    LIMIT 10
    FOR UPDATE SKIP LOCKED
)

UPDATE jobs AS j
SET
    status = 'running',
    started_at = now()
FROM next_jobs
WHERE j.id = next_jobs.id
RETURNING j.id, j.type, j.model_id, j.input_params;
