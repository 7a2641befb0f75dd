-- Claim the next job from bench.bare_jobs: the statement of
-- workload/queries/05_claim_next_job.sql on the bare table, returning only the id.
WITH next_job AS (
    SELECT q.id
    FROM bench.bare_jobs AS q
    WHERE q.status = 'queued'
    ORDER BY q.priority ASC, q.created_at ASC
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)

UPDATE bench.bare_jobs AS j
SET
    status = 'running',
    started_at = now()
FROM next_job
WHERE j.id = next_job.id
RETURNING j.id;
