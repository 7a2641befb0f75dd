-- =============================================================================
-- sessions: refresh-token sessions of signed-in users
-- =============================================================================
CREATE TABLE sessions (
    id bigint GENERATED ALWAYS AS IDENTITY,
    user_id bigint NOT NULL,
    refresh_token_hash bytea NOT NULL,
    access_token_jti uuid NOT NULL,
    device_fingerprint text,
    ip_address inet,
    user_agent text,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,

    CONSTRAINT pk_sessions PRIMARY KEY (id),
    CONSTRAINT fk_sessions_user_id FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE RESTRICT,
    -- The unique constraint's index is the lookup path of every token refresh.
    CONSTRAINT uq_sessions_refresh_token_hash UNIQUE (refresh_token_hash),
    CONSTRAINT uq_sessions_access_token_jti UNIQUE (access_token_jti),

    CONSTRAINT ck_sessions_refresh_token_hash_sha256 CHECK (
        octet_length(refresh_token_hash) = 32
    ),
    CONSTRAINT ck_sessions_device_fingerprint_length CHECK (
        char_length(device_fingerprint) BETWEEN 1 AND 512
    ),
    -- A client address is one host: inet would also take 192.0.2.0/24.
    CONSTRAINT ck_sessions_ip_address_host CHECK (
        masklen(ip_address) = CASE family(ip_address) WHEN 4 THEN 32 ELSE 128 END
    ),
    CONSTRAINT ck_sessions_user_agent_length CHECK (
        char_length(user_agent) <= 1024
    ),
    -- The sign-in that makes the row writes both instants.
    CONSTRAINT ck_sessions_expires_after_created CHECK (
        expires_at > created_at
    )
    -- No rule orders last_used_at or revoked_at after created_at: a refresh
    -- or a sign-out is a later transaction, whose now() is its start and may
    -- lie before a session it sees committed ("sign out everywhere" while
    -- another device signs in), or a client whose clock is behind the
    -- server's (0023_concurrent_time_rules).
);

CREATE INDEX idx_sessions_user_id ON sessions (user_id);
CREATE INDEX idx_sessions_device_fingerprint ON sessions (device_fingerprint)
WHERE device_fingerprint IS NOT NULL;
-- Serves the purge of expired sessions and "sessions expiring soon".
CREATE INDEX idx_sessions_expires_at ON sessions (expires_at);

COMMENT ON TABLE sessions IS
'One row per refresh-token session (a signed-in device). The refresh token itself is never stored, only its SHA-256 digest.';
COMMENT ON COLUMN sessions.id IS 'Surrogate key.';
COMMENT ON COLUMN sessions.user_id IS 'The signed-in user.';
COMMENT ON COLUMN sessions.refresh_token_hash IS
'SHA-256 digest (32 bytes) of the refresh token; unique, the lookup key of a refresh. Secret.';
COMMENT ON COLUMN sessions.access_token_jti IS
'JWT ID (jti claim) of the access token issued last for this session; revoking the session denies that token. Secret.';
COMMENT ON COLUMN sessions.device_fingerprint IS
'Client-computed device fingerprint, 1 to 512 characters; NULL when the client sends none.';
COMMENT ON COLUMN sessions.ip_address IS
'Client address at sign-in (after trusted proxies), a single host (no netmask); NULL when unknown.';
COMMENT ON COLUMN sessions.user_agent IS
'HTTP User-Agent at sign-in, at most 1024 characters.';
COMMENT ON COLUMN sessions.created_at IS 'When the session was opened (sign-in).';
COMMENT ON COLUMN sessions.last_used_at IS
'When the refresh token was last used; not before created_at.';
COMMENT ON COLUMN sessions.expires_at IS
'When the refresh token stops being accepted; after created_at.';
COMMENT ON COLUMN sessions.revoked_at IS
'When the session was revoked (sign-out, password change, admin action); NULL while valid.';

-- -----------------------------------------------------------------------------
-- Owner and privileges (see 05_roles.sql)
-- -----------------------------------------------------------------------------
ALTER TABLE sessions OWNER TO cadcam_owner;
-- DELETE: a sign-out may remove its session outright.
GRANT SELECT, INSERT, UPDATE, DELETE ON sessions TO cadcam_app, cadcam_admin;
-- Analysts never see the token hash or the access token id.
GRANT SELECT (
    id, user_id, device_fingerprint, ip_address, user_agent, created_at,
    last_used_at, expires_at, revoked_at
) ON sessions TO cadcam_readonly;

-- -----------------------------------------------------------------------------
-- Row-level security (acting user: app_user_id() in 20_functions.sql)
-- -----------------------------------------------------------------------------
-- FORCE makes the owner obey the policies too: functions that run as the
-- owner (SECURITY DEFINER) reach rows only through pol_sessions_owner.
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
-- The application sees and changes the acting user's sessions only, and can
-- neither write a row for another user nor move a row to one.
CREATE POLICY pol_sessions_app ON sessions FOR ALL TO cadcam_app
USING (user_id = (SELECT app_user_id()))
WITH CHECK (user_id = (SELECT app_user_id()));
CREATE POLICY pol_sessions_readonly ON sessions FOR SELECT TO cadcam_readonly
USING (TRUE);
CREATE POLICY pol_sessions_admin ON sessions FOR ALL TO cadcam_admin
USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY pol_sessions_owner ON sessions FOR ALL TO cadcam_owner
USING (TRUE) WITH CHECK (TRUE);
