-- Job progress update.
-- Issued by: a running worker, every few seconds per job: the percentage
-- done. The most frequent write of the platform; it must stay a heap-only
-- (HOT) update: no index covers progress or updated_at (kept by trigger).
-- Jobs 1 to :running are the generator's running jobs.
-- Role: cadcam_worker
-- Index: pk_jobs
-- pgbench: \set job_id random(1, :running)
-- pgbench: \set progress random(1, 99)
UPDATE jobs
SET progress = :progress
WHERE id = :job_id AND status = 'running';
