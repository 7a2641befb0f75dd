-- Jobs dashboard: jobs in one status, newest first, one page at a time.
-- Issued by: the operations dashboard (failed jobs to retry, running and
-- queued jobs to watch). Keyset paging: the next page asks for jobs created
-- before the last one shown, so a deep page costs what the first one does.
-- Here a random point in the last day stands in for "the last one shown".
-- ORDER BY names status although it is fixed: as cadcam_admin the table has
-- a policy, and under row-level security an equality through an operator
-- that is not leakproof (enum_eq) does not tell the planner that status is
-- constant, so "created_at DESC" alone did not match the index's order: the
-- plan read and sorted every job of the status (320x the superuser's time).
-- Role: cadcam_admin
-- Index: idx_jobs_status_created_at
-- pgbench: \set status_no random(1, 4)
-- pgbench: \set minutes_ago random(0, 1440)
SELECT
    j.id,
    j.user_id,
    j.type,
    j.priority,
    j.progress,
    j.created_at,
    j.error_message
FROM jobs AS j
WHERE
    j.status = (ARRAY['failed', 'running', 'queued', 'succeeded']::job_status[])[:status_no]
    AND j.created_at < now() - make_interval(mins => :minutes_ago)
ORDER BY j.status DESC, j.created_at DESC
LIMIT 50;
