-- Jobs by machine: jsonb containment on jobs.metrics.
-- Issued by: the machine page of the shop-floor view: the latest jobs that
-- ran on one machine tool (workers report it in metrics.machine).
-- Role: cadcam_admin
-- Index: gin_jobs_metrics
-- pgbench: \set machine_no random(1, 500)
SELECT
    j.id,
    j.type,
    j.status,
    j.created_at,
    j.metrics
FROM jobs AS j
WHERE j.metrics @> jsonb_build_object('machine', 'tezgah-' || lpad(:machine_no::text, 3, '0'))
ORDER BY j.created_at DESC
LIMIT 20;
