-- 0021_app_user_id_plpgsql: app_user_id() in PL/pgSQL instead of SQL.
--
-- Why: make bench (issue 6) showed app_user_id() costing about 25 us in
-- every statement that calls it. A SQL function with a SET clause (the
-- pinned search_path) is never inlined, and PostgreSQL 17 plans its body
-- again in each statement: every audit entry (audit_log.acting_user_id's
-- default) and every statement of the application under row-level security
-- paid it. PL/pgSQL keeps the plan of its expression for the session; the
-- function returns the same values (tests/test_row_security.py checks them
-- against a reference, property-based).
-- Rollout: CREATE OR REPLACE keeps the function's oid, owner, grants and
-- comment, so the policies that call it need no change; it takes no lock on
-- any table, and sessions pick up the new body at their next call.
-- depends: 0020_idx_jobs_priority_created_at_queued

CREATE OR REPLACE FUNCTION app_user_id()
RETURNS bigint
LANGUAGE plpgsql
STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    setting text := current_setting('app.user_id', TRUE);
BEGIN
    IF setting ~ '^[1-9][0-9]{0,17}$' THEN
        RETURN setting::bigint;
    END IF;
    RETURN NULL;
END;
$$;
