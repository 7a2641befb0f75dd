-- Put back in the queue the jobs a measured run claimed (running since
-- :since; the generator's running jobs started before the run), so that
-- every run starts from the same queue.
UPDATE jobs
SET
    status = 'queued',
    started_at = NULL
WHERE status = 'running' AND started_at >= :since;
