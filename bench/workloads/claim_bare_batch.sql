-- Claim the next ten jobs from bench.bare_jobs: the statement of
-- workload/queries/10_claim_next_jobs.sql on the bare table, returning only the ids.
WITH next_jobs AS (
    SELECT q.id
    FROM bench.bare_jobs AS q
    WHERE q.status = 'queued'
    ORDER BY q.priority ASC, q.created_at ASC
    LIMIT 10
    FOR UPDATE SKIP LOCKED
)

UPDATE bench.bare_jobs AS j
SET
    status = 'running',
    started_at = now()
FROM next_jobs
WHERE j.id = next_jobs.id
RETURNING j.id;
