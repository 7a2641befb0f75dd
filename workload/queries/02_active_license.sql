-- A user's active license at now().
-- Issued by: the API when a user starts a CAM job or opens a paid feature:
-- which plan, seats and feature flags are in force right now.
-- Either index serves it: the user's licenses (one or two rows), or the GiST
-- index of ex_licenses_active_overlap, which holds active licenses only; the
-- planner picks either depending on the parameter.
-- Role: cadcam_app
-- Acting user: user_id
-- Index: idx_licenses_user_id | ex_licenses_active_overlap
-- pgbench: \set user_id random(1, :users)
SELECT
    l.id,
    l.plan,
    l.seats,
    l.features,
    l.ends_at
FROM licenses AS l
WHERE
    l.user_id = :user_id
    AND l.status = 'active'
    AND l.starts_at <= now()
    AND l.ends_at > now();
