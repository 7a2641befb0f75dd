-- =============================================================================
-- Sessions :lo < id <= :hi, of users 1 to :users, as of :t0
-- =============================================================================
-- The refresh token of session n is the text 'refresh-token-<n>', so a
-- workload can look up any session by computing its digest. Sessions were
-- opened in the last 90 days and live 30 days: about a third are current;
-- 15% were revoked (sign-out, password change).
INSERT INTO sessions (
    id, user_id, refresh_token_hash, access_token_jti, device_fingerprint,
    ip_address, user_agent, created_at, last_used_at, expires_at, revoked_at
)
OVERRIDING SYSTEM VALUE
SELECT
    s.id,
    s.user_id,
    sha256(convert_to('refresh-token-' || s.id, 'UTF8')) AS refresh_token_hash,
    md5('jti-' || s.id)::uuid AS access_token_jti,
    -- A device opens several sessions over time: a third as many devices.
    CASE
        WHEN bench.pick(s.id, 31, 10) < 7
            THEN encode(sha256(convert_to(
                'device-' || bench.pick(s.id, 32, greatest(:hi / 3, 1)), 'UTF8'
            )), 'hex')
    END AS device_fingerprint,
    CASE
        WHEN bench.pick(s.id, 33, 10) = 0
            -- IPv6 of a Turkish mobile operator, one host.
            THEN (
                '2a02:e0:' || to_hex(bench.pick(s.id, 34, 65536)::integer) || '::'
                || to_hex(1 + bench.pick(s.id, 35, 65535)::integer)
            )::inet
        -- IPv4 of Turkish broadband and mobile blocks.
        ELSE (
            bench.choose('{78.160,78.180,88.224,88.240,85.96,85.105,176.88,95.0}', s.id, 36)
            || '.' || bench.pick(s.id, 37, 256) || '.' || (1 + bench.pick(s.id, 38, 254))
        )::inet
    END AS ip_address,
    bench.choose(ARRAY[
        'FreeCAD-CAM Desktop/1.4.2 (Windows NT 10.0; Win64; x64) FreeCAD/1.0.1',
        'FreeCAD-CAM Desktop/1.4.1 (X11; Ubuntu 24.04; x86_64) FreeCAD/1.0.0',
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 '
        || '(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 '
        || '(KHTML, like Gecko) Version/18.1 Safari/605.1.15',
        'Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 '
        || '(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
        'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0'
    ], s.id, 39) AS user_agent,
    s.created_at,
    s.created_at + (least(s.expires_at, :t0) - s.created_at) * bench.frac(s.id, 41)
        AS last_used_at,
    s.expires_at,
    CASE
        WHEN bench.pick(s.id, 42, 100) < 15
            THEN s.created_at + (least(s.expires_at, :t0) - s.created_at) * bench.frac(s.id, 43)
    END AS revoked_at
FROM (
    SELECT
        g.id,
        1 + bench.pick(g.id, 30, :users) AS user_id,
        :t0 - interval '90 days' * bench.frac(g.id, 44) AS created_at,
        :t0 - interval '90 days' * bench.frac(g.id, 44) + interval '30 days' AS expires_at
    FROM generate_series(:lo + 1, :hi) AS g (id)
) AS s;
