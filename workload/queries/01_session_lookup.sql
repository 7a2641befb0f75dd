-- Session lookup by refresh token hash.
-- Issued by: the API on every token refresh (POST /auth/refresh): it hashes
-- the refresh token the client sends with SHA-256 and looks the session up,
-- valid ones only. Busiest query of the platform: every client refreshes its
-- access token every few minutes.
-- There is no acting user yet (the session says who it is), so row-level
-- security shows cadcam_app no session: the lookup goes through
-- session_for_refresh(), SECURITY DEFINER, whose one statement (planned and
-- checked here as well) reads uq_sessions_refresh_token_hash as its owner.
-- The application sends the digest as a parameter; here the digest of the
-- generator's n-th token ('refresh-token-<n>') stands in for it, so that
-- pgbench can pick any session.
-- Role: cadcam_app
-- Index: uq_sessions_refresh_token_hash
-- pgbench: \set session_no random(1, :sessions)
SELECT
    s.id,
    s.user_id,
    s.expires_at
FROM session_for_refresh(sha256(convert_to('refresh-token-' || :session_no, 'UTF8'))) AS s
WHERE
    s.revoked_at IS NULL
    AND s.expires_at > now();
