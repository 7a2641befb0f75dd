-- =============================================================================
-- Licenses of users :lo < id <= :hi, as of :t0
-- =============================================================================
-- Every user holds a current license; half of them also the one-year license
-- before it, which ended the instant the current one started (expired, or
-- cancelled). Only a current license can be active, so no two active
-- licenses of a user overlap. Current licenses: 80% active, 5% each pending
-- (starting within two weeks), suspended, cancelled and expired.
INSERT INTO licenses (
    user_id, plan, status, starts_at, ends_at, seats, features, auto_renew,
    cancelled_at, created_at, updated_at
)
SELECT
    l.user_id,
    l.plan,
    l.status,
    l.starts_at,
    l.ends_at,
    CASE l.plan
        WHEN 'professional' THEN 1 + bench.pick(l.salt, 51, 5)
        WHEN 'enterprise' THEN 5 + bench.pick(l.salt, 51, 46)
        WHEN 'education' THEN 10 + bench.pick(l.salt, 51, 21)
        ELSE 1
    END AS seats,
    jsonb_build_object(
        'cam', l.plan <> 'trial',
        'simulation', l.plan IN ('professional', 'enterprise', 'education'),
        'max_jobs_per_day', CASE l.plan
            WHEN 'trial' THEN 10 WHEN 'starter' THEN 50 WHEN 'enterprise' THEN 5000 ELSE 500
        END,
        'post_processors', CASE
            WHEN l.plan IN ('trial', 'starter') THEN '["linuxcnc", "grbl"]'::jsonb
            ELSE '["linuxcnc", "grbl", "fanuc", "haas", "heidenhain", "siemens"]'::jsonb
        END,
        'cloud_storage_gb', CASE l.plan WHEN 'enterprise' THEN 1000 WHEN 'trial' THEN 1 ELSE 50 END
    ) AS features,
    l.plan <> 'trial' AND bench.pick(l.salt, 52, 10) < 6 AS auto_renew,
    l.cancelled_at,
    least(l.starts_at, :t0) - interval '1 hour' AS created_at,
    greatest(least(l.starts_at, :t0) - interval '1 hour', l.cancelled_at) AS updated_at
FROM (
    SELECT
        v.*,
        CASE
            WHEN v.status = 'cancelled'
                THEN least(:t0, v.starts_at + interval '20 days')
        END AS cancelled_at
    FROM (
        SELECT
            p.*,
            CASE p.status
                WHEN 'pending' THEN :t0 + interval '14 days' * bench.frac(p.user_id, 53)
                WHEN 'expired' THEN :t0 - p.term - interval '90 days' * bench.frac(p.user_id, 53)
                ELSE :t0 - p.term * bench.frac(p.user_id, 53)
            END AS starts_at
        FROM (
            SELECT
                g.id AS user_id,
                CASE
                    WHEN bench.pick(g.id, 54, 100) < 80 THEN 'active'
                    WHEN bench.pick(g.id, 54, 100) < 85 THEN 'pending'
                    WHEN bench.pick(g.id, 54, 100) < 90 THEN 'suspended'
                    WHEN bench.pick(g.id, 54, 100) < 95 THEN 'cancelled'
                    ELSE 'expired'
                END::license_status AS status,
                CASE
                    WHEN bench.pick(g.id, 55, 100) < 15 THEN 'trial'
                    WHEN bench.pick(g.id, 55, 100) < 45 THEN 'starter'
                    WHEN bench.pick(g.id, 55, 100) < 80 THEN 'professional'
                    WHEN bench.pick(g.id, 55, 100) < 90 THEN 'enterprise'
                    ELSE 'education'
                END::license_plan AS plan,
                CASE
                    WHEN bench.pick(g.id, 55, 100) < 15
                        THEN interval '14 days'
                    ELSE interval '1 year'
                END AS term
            FROM generate_series(:lo + 1, :hi) AS g (id)
        ) AS p
    ) AS cur
    CROSS JOIN LATERAL (
        SELECT
            cur.user_id,
            cur.user_id AS salt,
            cur.plan,
            cur.status,
            cur.starts_at,
            cur.starts_at + cur.term AS ends_at
        UNION ALL
        SELECT
            cur.user_id,
            -cur.user_id AS salt,
            CASE WHEN bench.pick(cur.user_id, 56, 2) = 0 THEN 'starter' ELSE 'professional' END
            ::license_plan AS plan,
            -- A pending renewal follows a license that is still active.
            CASE
                WHEN cur.status = 'pending' THEN 'active'
                WHEN bench.pick(cur.user_id, 57, 10) = 0 THEN 'cancelled'
                ELSE 'expired'
            END::license_status AS status,
            cur.starts_at - interval '1 year' AS starts_at,
            cur.starts_at AS ends_at
        WHERE bench.pick(cur.user_id, 58, 2) = 0
    ) AS v
) AS l;
