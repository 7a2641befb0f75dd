-- Session lookup by refresh token hash.
-- Issued by: the API on every token refresh (POST /auth/refresh): it hashes
-- the refresh token the client sends with SHA-256 and looks the session up,
-- valid ones only. Busiest query of the platform: every client refreshes its
-- access token every few minutes.
-- The application sends the digest as a parameter; here the digest of the
-- generator's n-th token ('refresh-token-<n>') stands in for it, so that
-- pgbench can pick any session.
-- Role: cadcam_app
-- Index: uq_sessions_refresh_token_hash
-- pgbench: \set session_no random(1, :sessions)
SELECT
    s.id,
    s.user_id,
    s.access_token_jti,
    s.expires_at
FROM sessions AS s
WHERE
    s.refresh_token_hash = sha256(convert_to('refresh-token-' || :session_no, 'UTF8'))
    AND s.revoked_at IS NULL
    AND s.expires_at > now();
