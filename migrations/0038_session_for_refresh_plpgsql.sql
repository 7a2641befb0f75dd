-- 0038_session_for_refresh_plpgsql: session_for_refresh() in PL/pgSQL, so
-- that the plan of its one statement is cached for the connection.
--
-- Why: the token refresh is the platform's busiest query, and it must go
-- through this function (as cadcam_app, before there is an acting user,
-- row-level security shows no session). A LANGUAGE sql function that is not
-- inlined (SECURITY DEFINER is never inlined) plans its statement again in
-- every call; PL/pgSQL keeps the plan. pgbench, 4 clients, prepared, this
-- machine: 25,000 to 28,000 calls a second as SQL, 41,000 to 58,000 in
-- PL/pgSQL, 75,000 for the bare SELECT. What it gives up: a BEGIN ATOMIC
-- body records its dependency on sessions' columns; a PL/pgSQL body is
-- checked when it runs (tests/test_sessions.py and the catalog tests call it).
-- Rollout: CREATE OR REPLACE FUNCTION with the same arguments and result:
-- owner, privileges and comment stay; no table lock.
-- depends: 0037_idx_jobs_model_id_active

CREATE OR REPLACE FUNCTION session_for_refresh(token_hash bytea)
RETURNS TABLE (
    id bigint, user_id bigint, expires_at timestamptz, revoked_at timestamptz
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT
        s.id,
        s.user_id,
        s.expires_at,
        s.revoked_at
    FROM public.sessions AS s
    WHERE s.refresh_token_hash = token_hash;
END;
$$;
