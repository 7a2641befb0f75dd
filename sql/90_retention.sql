-- =============================================================================
-- Retention: how long sessions and audit entries are kept (KVKK art. 7,
-- GDPR art. 5(1)(e): personal data no longer needed is deleted)
-- =============================================================================
-- Both functions take the period as an argument, so the operator's policy
-- lives in the scheduled task that calls them (docs/security.md: "Erasure and
-- retention"); the defaults are this project's policy. Both run as the
-- owner (SECURITY DEFINER, pinned search_path) so that the task needs only
-- EXECUTE, granted to cadcam_admin. A NULL or negative period is an error,
-- never "keep nothing".

-- -----------------------------------------------------------------------------
-- Sessions
-- -----------------------------------------------------------------------------
-- A session is dead once expired or revoked; it is kept retention_days more
-- for incident investigation, then deleted (each deletion is audited, with
-- the secret columns left out as always).
CREATE FUNCTION purge_sessions(retention_days integer DEFAULT 30)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cutoff timestamptz;
    purged bigint;
BEGIN
    IF retention_days IS NULL OR retention_days < 0 THEN
        RAISE EXCEPTION 'retention_days must be 0 or more, not %',
            coalesce(retention_days::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    cutoff := now() - make_interval(days => retention_days);
    DELETE FROM public.sessions AS s
    WHERE s.expires_at < cutoff OR s.revoked_at < cutoff;
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END;
$$;

COMMENT ON FUNCTION purge_sessions(integer) IS
'Deletes the sessions that expired or were revoked more than retention_days days ago (default 30) and returns how many. SECURITY DEFINER so that a scheduled task needs only EXECUTE.';

-- -----------------------------------------------------------------------------
-- Audit partitions
-- -----------------------------------------------------------------------------
-- A month is dropped whole once all of it lies more than keep_months months
-- before the current month (UTC): with the default 24, on any day of
-- November 2026 the oldest month kept is November 2024. Each month is
-- detached, then dropped; both lock audit_log (ACCESS EXCLUSIVE) until the
-- call commits, which blocks every audited write for those milliseconds
-- (dropping a table only unlinks its files). DETACH ... CONCURRENTLY would
-- not, but it cannot run inside a function. lock_timeout makes the call
-- give up, rather than queue every audit write behind it, when a long
-- transaction holds audit_log. A partition not owned by cadcam_owner
-- stops the call (must be owner), and nothing is dropped.
-- Entries of those months that sit in the default partition are deleted.
-- The current month can never be dropped (keep_months is at least 1).
CREATE FUNCTION drop_audit_partitions(keep_months integer DEFAULT 24)
RETURNS SETOF text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET timezone = 'UTC'
SET lock_timeout = '5s'
AS $$
DECLARE
    cutoff timestamptz;
    partition_name text;
BEGIN
    IF keep_months IS NULL OR keep_months < 1 THEN
        RAISE EXCEPTION 'keep_months must be 1 or more, not %',
            coalesce(keep_months::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    cutoff := date_trunc('month', now()) - make_interval(months => keep_months);
    FOR partition_name IN
        SELECT c.relname
        FROM pg_inherits AS i
        INNER JOIN pg_class AS c ON c.oid = i.inhrelid
        WHERE
            i.inhparent = 'public.audit_log'::regclass
            AND NOT c.relpartbound IS NULL
            AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
            AND substring(
                pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)'
            )::timestamptz <= cutoff
        ORDER BY c.relname
    LOOP
        EXECUTE format(
            'ALTER TABLE public.audit_log DETACH PARTITION public.%I', partition_name
        );
        EXECUTE format('DROP TABLE public.%I', partition_name);
        RETURN NEXT partition_name;
    END LOOP;
    DELETE FROM public.audit_log_default WHERE logged_at < cutoff;
END;
$$;

COMMENT ON FUNCTION drop_audit_partitions(integer) IS
'Detaches and drops the monthly audit_log partitions that end keep_months months (default 24) or more before the current UTC month, deletes older entries from audit_log_default, and returns the names dropped. SECURITY DEFINER because only the owner may detach and drop partitions; a scheduled task needs only EXECUTE.';

-- -----------------------------------------------------------------------------
-- Owner and privileges (see 05_roles.sql)
-- -----------------------------------------------------------------------------
ALTER FUNCTION purge_sessions(integer) OWNER TO cadcam_owner;
ALTER FUNCTION drop_audit_partitions(integer) OWNER TO cadcam_owner;
REVOKE EXECUTE ON FUNCTION purge_sessions(integer), drop_audit_partitions(integer)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION purge_sessions(integer), drop_audit_partitions(integer)
TO cadcam_admin;
