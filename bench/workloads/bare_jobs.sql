-- =============================================================================
-- bench.bare_jobs: the best case a claim on jobs is compared with
-- =============================================================================
-- The same rows as jobs, only the columns a claim reads or writes, no
-- trigger, no foreign key, and one partial index that hands out queued jobs
-- in claim order (priority, then age). Made once the data is loaded.
CREATE TABLE bench.bare_jobs (
    id bigint NOT NULL,
    status job_status NOT NULL,
    priority smallint NOT NULL,
    created_at timestamptz NOT NULL,
    started_at timestamptz,
    CONSTRAINT pk_bare_jobs PRIMARY KEY (id)
);

INSERT INTO bench.bare_jobs (id, status, priority, created_at, started_at)
SELECT
    j.id,
    j.status,
    j.priority,
    j.created_at,
    j.started_at
FROM jobs AS j;

CREATE INDEX idx_bare_jobs_queue ON bench.bare_jobs (priority, created_at)
WHERE status = 'queued';
