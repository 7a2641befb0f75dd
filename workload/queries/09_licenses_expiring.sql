-- Licenses expiring in the next 7 days.
-- Issued by: the nightly billing sweep: renewal reminders by e-mail and SMS,
-- and automatic renewal of licenses with auto_renew.
-- Role: cadcam_admin
-- Index: idx_licenses_status_ends_at
SELECT
    l.id,
    l.user_id,
    l.plan,
    l.ends_at,
    l.auto_renew
FROM licenses AS l
WHERE
    l.status = 'active'
    AND l.ends_at >= now()
    AND l.ends_at < now() + interval '7 days'
ORDER BY l.ends_at ASC;
