-- Rollback of 0038_session_for_refresh_plpgsql: session_for_refresh() as a
-- LANGUAGE sql function with a BEGIN ATOMIC body again, as 0012 made it
-- (owner, privileges and comment stay).

CREATE OR REPLACE FUNCTION session_for_refresh(token_hash bytea)
RETURNS TABLE (
    id bigint, user_id bigint, expires_at timestamptz, revoked_at timestamptz
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT
        id,
        user_id,
        expires_at,
        revoked_at
    FROM public.sessions
    WHERE refresh_token_hash = token_hash;
END;
