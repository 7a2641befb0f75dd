-- =============================================================================
-- audit_log: who changed which row of the core tables, and how; append-only
-- =============================================================================
CREATE TYPE audit_action AS ENUM ('insert', 'update', 'delete', 'erase');
COMMENT ON TYPE audit_action IS
'What an audit entry records: a row inserted, updated or deleted, or a user''s personal data erased on request (erase_user).';

-- Range-partitioned by month of logged_at: retention drops a whole month
-- (drop_audit_partitions in 90_retention.sql) instead of deleting rows, and
-- a query for a period reads only its months. No foreign keys: an entry
-- outlives the row it describes, and must not slow down or block writes to
-- the core tables. The primary key includes the partition key, as
-- PostgreSQL requires of a unique index on a partitioned table.
-- Who made the change is stamped by the defaults, so that every writer of
-- entries (audit_row_change, erase_user) records it the same way. They run
-- inside SECURITY DEFINER functions, where current_user is the owner:
-- db_role reads the role of SET ROLE instead ('none' without one), and
-- falls back to the login role.
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY,
    logged_at timestamptz NOT NULL DEFAULT now(),
    acting_user_id bigint DEFAULT app_user_id(),
    db_role text NOT NULL DEFAULT CASE current_setting('role')
        WHEN 'none' THEN session_user::text
        ELSE current_setting('role')
    END,
    login_role text NOT NULL DEFAULT session_user,
    table_name text NOT NULL,
    row_id bigint NOT NULL,
    subject_user_id bigint NOT NULL,
    action audit_action NOT NULL,
    old_values jsonb,
    new_values jsonb,
    redacted_columns text[] NOT NULL DEFAULT '{}',
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),

    CONSTRAINT pk_audit_log PRIMARY KEY (id, logged_at),

    CONSTRAINT ck_audit_log_table_name CHECK (
        table_name IN ('users', 'sessions', 'licenses', 'models', 'jobs')
    ),
    -- Which of old_values and new_values an action carries: an insert has
    -- only the new row, a delete only the old one, an update both (the
    -- changed columns), an erasure only its summary.
    CONSTRAINT ck_audit_log_old_values_by_action CHECK (
        (action IN ('update', 'delete')) = (old_values IS NOT NULL)
    ),
    CONSTRAINT ck_audit_log_new_values_by_action CHECK (
        (action IN ('insert', 'update', 'erase')) = (new_values IS NOT NULL)
    ),
    CONSTRAINT ck_audit_log_old_values_object CHECK (
        jsonb_typeof(old_values) = 'object'
    ),
    CONSTRAINT ck_audit_log_new_values_object CHECK (
        jsonb_typeof(new_values) = 'object'
    )
) PARTITION BY RANGE (logged_at);

-- Catches an entry whose month has no partition yet (create_audit_partitions
-- was not run in time): a missing partition must never fail the
-- application's write. create_audit_partitions moves such entries out.
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;

-- "Everything about user X" (auditors, erase_user) and "the history of one
-- row". Partitioned indexes: each partition gets its own.
CREATE INDEX idx_audit_log_subject_user_id_logged_at ON audit_log (
    subject_user_id, logged_at
);
CREATE INDEX idx_audit_log_table_name_row_id_logged_at ON audit_log (
    table_name, row_id, logged_at
);

COMMENT ON TABLE audit_log IS
'Append-only trail of every change to users, sessions, licenses, models and jobs, written by the trg_*_audit triggers; one partition per month (UTC). Secret columns are never recorded.';
COMMENT ON TABLE audit_log_default IS
'Entries whose month has no partition yet; create_audit_partitions() moves them into their month.';
COMMENT ON COLUMN audit_log.id IS 'Surrogate key, in the order entries were written.';
COMMENT ON COLUMN audit_log.logged_at IS
'Start of the transaction that made the change (now()); the partition key.';
COMMENT ON COLUMN audit_log.acting_user_id IS
'The acting user of the transaction (app_user_id(): the user set_acting_user() named in it); NULL when none was named (sign-up, workers, administrators, maintenance).';
COMMENT ON COLUMN audit_log.db_role IS
'Database role that made the change: the role set with SET ROLE, else the login role.';
COMMENT ON COLUMN audit_log.login_role IS
'Login role of the connection (session_user).';
COMMENT ON COLUMN audit_log.table_name IS 'Core table of the changed row.';
COMMENT ON COLUMN audit_log.row_id IS 'id of the changed row in that table.';
COMMENT ON COLUMN audit_log.subject_user_id IS
'The user the row belongs to: users.id for an account, user_id for the other tables. Used by erasure and by auditors.';
COMMENT ON COLUMN audit_log.action IS 'What happened; see type audit_action.';
COMMENT ON COLUMN audit_log.old_values IS
'Before an update, the changed columns; before a delete, the whole row. Secret columns left out; personal data removed by erase_user.';
COMMENT ON COLUMN audit_log.new_values IS
'After an insert, the whole row; after an update, the changed columns; for an erasure, what was scrubbed. Secret columns left out.';
COMMENT ON COLUMN audit_log.redacted_columns IS
'Columns whose values are not recorded: secrets that were set (on insert or delete) or changed (a password change shows password_hash here), and personal data removed later by erase_user.';
COMMENT ON COLUMN audit_log.transaction_id IS
'Transaction that made the change: the entries of one transaction share it.';

-- -----------------------------------------------------------------------------
-- Monthly partitions
-- -----------------------------------------------------------------------------
-- Run it from a monthly scheduled task (and at deploy: the migration calls
-- it). CREATE TABLE ... PARTITION OF locks the parent table for an instant;
-- lock_timeout makes a busy moment fail the call instead of queueing every
-- audit write behind it. Bounds are months in UTC, whatever the caller's
-- TimeZone. Entries already in the default partition for a new month move
-- into it in the same transaction (only the owner may delete them).
CREATE FUNCTION create_audit_partitions(months_ahead integer DEFAULT 3)
RETURNS SETOF text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET timezone = 'UTC'
SET lock_timeout = '5s'
AS $$
DECLARE
    month_start timestamptz;
    month_end timestamptz;
    partition_name text;
    strays jsonb;
BEGIN
    IF months_ahead IS NULL OR months_ahead NOT BETWEEN 0 AND 120 THEN
        RAISE EXCEPTION 'months_ahead must be between 0 and 120, not %', months_ahead
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR i IN 0..months_ahead LOOP
        month_start := date_trunc('month', now()) + make_interval(months => i);
        month_end := month_start + interval '1 month';
        partition_name := 'audit_log_' || to_char(month_start, '"y"YYYY"m"MM');
        CONTINUE WHEN to_regclass('public.' || partition_name) IS NOT NULL;
        WITH moved AS (
            DELETE FROM public.audit_log_default
            WHERE logged_at >= month_start AND logged_at < month_end
            RETURNING *
        )
        SELECT jsonb_agg(to_jsonb(moved)) INTO strays FROM moved;
        EXECUTE format(
            'CREATE TABLE public.%I PARTITION OF public.audit_log'
            ' FOR VALUES FROM (%L) TO (%L)',
            partition_name, month_start, month_end
        );
        INSERT INTO public.audit_log OVERRIDING SYSTEM VALUE
        SELECT * FROM jsonb_populate_recordset(NULL::public.audit_log, strays);
        RETURN NEXT partition_name;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION create_audit_partitions(integer) IS
'Creates the monthly partitions of audit_log (named audit_log_yYYYYmMM, UTC months) from this month to months_ahead months ahead, when missing, and moves entries of those months out of audit_log_default. Returns the names it created. Idempotent. SECURITY DEFINER because the partitions must belong to the owner and a scheduled task needs only EXECUTE.';

-- -----------------------------------------------------------------------------
-- The audit trigger
-- -----------------------------------------------------------------------------
-- SECURITY DEFINER: the function runs as its owner (cadcam_owner), the only
-- role that may insert into audit_log, so the application writes entries
-- through its triggers without being able to write, change or delete one
-- itself. search_path is pinned and names are qualified, so a caller's
-- search_path cannot redirect it. Arguments, as text arrays:
--   TG_ARGV[0]  secret columns: never recorded; when one changes its name
--               goes to redacted_columns (e.g. a password change).
--   TG_ARGV[1]  quiet columns: recorded when the entry is written anyway,
--               but a change to them alone writes no entry (updated_at,
--               job progress: a running job would write ~100 entries).
-- Who made the change comes from audit_log's column defaults.
-- An update's candidate columns come from hstore (00_extensions.sql): one
-- whole-row operator, evaluated as a PL/pgSQL simple expression, where the
-- jsonb_each() queries it replaced ran the executor three times per entry.
-- With it a job claim runs about 10% faster (make bench, 2 clients;
-- 0022_audit_diff_hstore). Candidates are compared again as jsonb, so that
-- 1.0 -> 1.00 is no change, as in the WHEN clauses below.
CREATE FUNCTION audit_row_change()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    secret text [] := TG_ARGV[0]::text [];
    quiet text [] := TG_ARGV[1]::text [];
    old_row jsonb;
    new_row jsonb;
    key_row jsonb;
    old_changed jsonb := '{}';
    new_changed jsonb := '{}';
    loud boolean := FALSE;
    redacted text [] := '{}';
    col text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW);
    END IF;
    key_row := coalesce(new_row, old_row);  -- before they become the diff
    IF TG_OP = 'UPDATE' THEN
        -- The columns whose text differs (hstore's "-" keeps the pairs of
        -- NEW that OLD does not have); each is a change unless its values
        -- are equal as jsonb (1.0 and 1.00), as the WHEN clauses compare.
        FOREACH col IN ARRAY public.akeys(
            public.hstore(NEW) OPERATOR(public.-) public.hstore(OLD)
        ) LOOP
            CONTINUE WHEN new_row -> col = old_row -> col;
            IF col = ANY(secret) THEN
                redacted := redacted || col;
            ELSE
                old_changed := old_changed || jsonb_build_object(col, old_row -> col);
                new_changed := new_changed || jsonb_build_object(col, new_row -> col);
                loud := loud OR col <> ALL(quiet);
            END IF;
        END LOOP;
        IF NOT loud AND redacted = '{}' THEN
            RETURN NULL;  -- nothing but quiet columns changed
        END IF;
        IF cardinality(redacted) > 1 THEN  -- akeys() order is not by name
            redacted := ARRAY(SELECT s FROM unnest(redacted) AS s ORDER BY s COLLATE "C");
        END IF;
        old_row := old_changed;
        new_row := new_changed;
    ELSIF secret <> '{}' THEN
        redacted := ARRAY(
            SELECT s FROM unnest(secret) AS s
            WHERE jsonb_typeof(key_row -> s) <> 'null' ORDER BY s COLLATE "C"
        );
        old_row := old_row - secret;
        new_row := new_row - secret;
    END IF;
    INSERT INTO public.audit_log (
        table_name, row_id, subject_user_id, action, old_values, new_values,
        redacted_columns
    ) VALUES (
        TG_TABLE_NAME,
        (key_row ->> 'id')::bigint,
        (key_row ->> CASE TG_TABLE_NAME WHEN 'users' THEN 'id' ELSE 'user_id' END)::bigint,
        -- TG_OP spelled out, never lower(TG_OP): case mapping follows the
        -- database's locale, and in Turkish lower('INSERT') is 'ınsert'.
        CASE TG_OP
            WHEN 'INSERT' THEN 'insert'
            WHEN 'UPDATE' THEN 'update'
            WHEN 'DELETE' THEN 'delete'
        END::public.audit_action,
        old_row,
        new_row,
        redacted
    );
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION audit_row_change() IS
'AFTER row trigger function of the trg_*_audit triggers: writes one audit_log entry per inserted, deleted or updated row (changed columns only), never the secret columns named in TG_ARGV[0], none for changes to the quiet columns of TG_ARGV[1] alone. SECURITY DEFINER so that writers need no privilege on audit_log; search_path pinned.';

-- The same entry as audit_row_change() writes for an update of jobs, at
-- about a third of the cost of its diff: each column compared by its own
-- type (as the WHEN clauses compare; jsonb's = finds 1.0 and 1.00 equal, as
-- audit_row_change does), none converted to jsonb unless it changed. jobs
-- has no secret columns. The lists must name every column of jobs, and the
-- trigger's UPDATE OF every column but the quiet ones: tests/test_audit_log.py
-- checks both against the table, and that the entries are audit_row_change's.
CREATE FUNCTION audit_jobs_update()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    old_values jsonb := '{}';
    new_values jsonb := '{}';
    loud boolean := FALSE;  -- a column other than the quiet three changed
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id THEN
        old_values := old_values || jsonb_build_object('id', OLD.id);
        new_values := new_values || jsonb_build_object('id', NEW.id);
        loud := TRUE;
    END IF;
    IF NEW.user_id IS DISTINCT FROM OLD.user_id THEN
        old_values := old_values || jsonb_build_object('user_id', OLD.user_id);
        new_values := new_values || jsonb_build_object('user_id', NEW.user_id);
        loud := TRUE;
    END IF;
    IF NEW.model_id IS DISTINCT FROM OLD.model_id THEN
        old_values := old_values || jsonb_build_object('model_id', OLD.model_id);
        new_values := new_values || jsonb_build_object('model_id', NEW.model_id);
        loud := TRUE;
    END IF;
    IF NEW.type IS DISTINCT FROM OLD.type THEN
        old_values := old_values || jsonb_build_object('type', OLD.type);
        new_values := new_values || jsonb_build_object('type', NEW.type);
        loud := TRUE;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        old_values := old_values || jsonb_build_object('status', OLD.status);
        new_values := new_values || jsonb_build_object('status', NEW.status);
        loud := TRUE;
    END IF;
    IF NEW.priority IS DISTINCT FROM OLD.priority THEN
        old_values := old_values || jsonb_build_object('priority', OLD.priority);
        new_values := new_values || jsonb_build_object('priority', NEW.priority);
        loud := TRUE;
    END IF;
    IF NEW.input_params IS DISTINCT FROM OLD.input_params THEN
        old_values := old_values || jsonb_build_object('input_params', OLD.input_params);
        new_values := new_values || jsonb_build_object('input_params', NEW.input_params);
        loud := TRUE;
    END IF;
    IF NEW.metrics IS DISTINCT FROM OLD.metrics THEN
        old_values := old_values || jsonb_build_object('metrics', OLD.metrics);
        new_values := new_values || jsonb_build_object('metrics', NEW.metrics);
    END IF;
    IF NEW.result IS DISTINCT FROM OLD.result THEN
        old_values := old_values || jsonb_build_object('result', OLD.result);
        new_values := new_values || jsonb_build_object('result', NEW.result);
        loud := TRUE;
    END IF;
    IF NEW.idempotency_key IS DISTINCT FROM OLD.idempotency_key THEN
        old_values := old_values || jsonb_build_object('idempotency_key', OLD.idempotency_key);
        new_values := new_values || jsonb_build_object('idempotency_key', NEW.idempotency_key);
        loud := TRUE;
    END IF;
    IF NEW.celery_task_id IS DISTINCT FROM OLD.celery_task_id THEN
        old_values := old_values || jsonb_build_object('celery_task_id', OLD.celery_task_id);
        new_values := new_values || jsonb_build_object('celery_task_id', NEW.celery_task_id);
        loud := TRUE;
    END IF;
    IF NEW.progress IS DISTINCT FROM OLD.progress THEN
        old_values := old_values || jsonb_build_object('progress', OLD.progress);
        new_values := new_values || jsonb_build_object('progress', NEW.progress);
    END IF;
    IF NEW.retry_count IS DISTINCT FROM OLD.retry_count THEN
        old_values := old_values || jsonb_build_object('retry_count', OLD.retry_count);
        new_values := new_values || jsonb_build_object('retry_count', NEW.retry_count);
        loud := TRUE;
    END IF;
    IF NEW.max_retries IS DISTINCT FROM OLD.max_retries THEN
        old_values := old_values || jsonb_build_object('max_retries', OLD.max_retries);
        new_values := new_values || jsonb_build_object('max_retries', NEW.max_retries);
        loud := TRUE;
    END IF;
    IF NEW.timeout_seconds IS DISTINCT FROM OLD.timeout_seconds THEN
        old_values := old_values || jsonb_build_object('timeout_seconds', OLD.timeout_seconds);
        new_values := new_values || jsonb_build_object('timeout_seconds', NEW.timeout_seconds);
        loud := TRUE;
    END IF;
    IF NEW.error_message IS DISTINCT FROM OLD.error_message THEN
        old_values := old_values || jsonb_build_object('error_message', OLD.error_message);
        new_values := new_values || jsonb_build_object('error_message', NEW.error_message);
        loud := TRUE;
    END IF;
    IF NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        old_values := old_values || jsonb_build_object('created_at', OLD.created_at);
        new_values := new_values || jsonb_build_object('created_at', NEW.created_at);
        loud := TRUE;
    END IF;
    IF NEW.updated_at IS DISTINCT FROM OLD.updated_at THEN
        old_values := old_values || jsonb_build_object('updated_at', OLD.updated_at);
        new_values := new_values || jsonb_build_object('updated_at', NEW.updated_at);
    END IF;
    IF NEW.started_at IS DISTINCT FROM OLD.started_at THEN
        old_values := old_values || jsonb_build_object('started_at', OLD.started_at);
        new_values := new_values || jsonb_build_object('started_at', NEW.started_at);
        loud := TRUE;
    END IF;
    IF NEW.finished_at IS DISTINCT FROM OLD.finished_at THEN
        old_values := old_values || jsonb_build_object('finished_at', OLD.finished_at);
        new_values := new_values || jsonb_build_object('finished_at', NEW.finished_at);
        loud := TRUE;
    END IF;
    IF NOT loud THEN
        RETURN NULL;  -- only quiet columns changed, or nothing did
    END IF;
    INSERT INTO public.audit_log (
        table_name, row_id, subject_user_id, action, old_values, new_values
    ) VALUES (
        'jobs', NEW.id, NEW.user_id, 'update', old_values, new_values
    );
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION audit_jobs_update() IS
'AFTER UPDATE row trigger function of trg_jobs_audit_update: writes the audit_log entry of an update of jobs that changes a column other than updated_at, progress and metrics (the changed columns, quiet ones included), as audit_row_change() would, comparing each column by its type. SECURITY DEFINER so that writers need no privilege on audit_log; search_path pinned.';

CREATE TRIGGER trg_users_audit
AFTER INSERT OR UPDATE OR DELETE ON users
FOR EACH ROW EXECUTE FUNCTION audit_row_change('{password_hash}', '{updated_at}');

-- sessions and jobs get many updates that change only quiet columns (a
-- token refresh's last_used_at, a job's progress): their UPDATE trigger
-- must not call a function for those, which made a progress update three
-- times as expensive (40,000 updates: 1.37 s with the call, 0.46 s
-- without). sessions' has a WHEN clause that compares every other column
-- (jobs' tests its SET list, below). The lists must name every column but
-- the quiet ones: tests/test_audit_log.py checks them against the table.
CREATE TRIGGER trg_sessions_audit
AFTER INSERT OR DELETE ON sessions
FOR EACH ROW EXECUTE FUNCTION audit_row_change(
    '{refresh_token_hash,access_token_jti}', '{last_used_at}'
);

-- A refresh that rotates the token changes a secret column and is recorded.
CREATE TRIGGER trg_sessions_audit_update
AFTER UPDATE ON sessions
FOR EACH ROW
WHEN (
    (
        old.id, old.user_id, old.refresh_token_hash, old.access_token_jti,
        old.device_fingerprint, old.ip_address, old.user_agent,
        old.created_at, old.expires_at, old.revoked_at
    ) IS DISTINCT FROM (
        new.id, new.user_id, new.refresh_token_hash, new.access_token_jti,
        new.device_fingerprint, new.ip_address, new.user_agent,
        new.created_at, new.expires_at, new.revoked_at
    )
)
EXECUTE FUNCTION audit_row_change(
    '{refresh_token_hash,access_token_jti}', '{last_used_at}'
);

CREATE TRIGGER trg_licenses_audit
AFTER INSERT OR UPDATE OR DELETE ON licenses
FOR EACH ROW EXECUTE FUNCTION audit_row_change('{}', '{updated_at}');

CREATE TRIGGER trg_models_audit
AFTER INSERT OR UPDATE OR DELETE ON models
FOR EACH ROW EXECUTE FUNCTION audit_row_change('{}', '{updated_at}');

CREATE TRIGGER trg_jobs_audit
AFTER INSERT OR DELETE ON jobs
FOR EACH ROW EXECUTE FUNCTION audit_row_change(
    '{}', '{updated_at,progress,metrics}'
);

-- Progress and metrics are reported many times while a job runs; the status
-- changes that bracket them are recorded, with their values at that moment.
-- Unlike sessions, jobs' updates have a function of their own (below) and
-- no WHEN clause: a claim is the hottest audited write, and PostgreSQL
-- builds a WHEN clause again in every UPDATE statement, called or not (17
-- comparisons: about 10% of a claim, make bench). UPDATE OF is a test of
-- the statement's SET list instead: the trigger fires when a non-quiet
-- column is set, and the function writes nothing when none changed. A
-- progress report sets only progress (trg_jobs_updated_at, the one BEFORE
-- trigger of jobs, sets updated_at, itself quiet), so it calls nothing.
CREATE TRIGGER trg_jobs_audit_update
AFTER UPDATE OF id, user_id, model_id, type, status, priority, input_params,
result, idempotency_key, celery_task_id, retry_count, max_retries,
timeout_seconds, error_message, created_at, started_at, finished_at
ON jobs
FOR EACH ROW EXECUTE FUNCTION audit_jobs_update();

-- -----------------------------------------------------------------------------
-- Owner and privileges (see 05_roles.sql)
-- -----------------------------------------------------------------------------
-- Append-only: nobody but the owner may update or delete an entry; nobody
-- but the owner (through the trigger) writes one. Auditors read it.
ALTER TYPE audit_action OWNER TO cadcam_owner;
ALTER TABLE audit_log OWNER TO cadcam_owner;
ALTER TABLE audit_log_default OWNER TO cadcam_owner;
ALTER FUNCTION create_audit_partitions(integer) OWNER TO cadcam_owner;
ALTER FUNCTION audit_row_change() OWNER TO cadcam_owner;
ALTER FUNCTION audit_jobs_update() OWNER TO cadcam_owner;
REVOKE EXECUTE ON FUNCTION
create_audit_partitions(integer), audit_row_change(), audit_jobs_update()
FROM PUBLIC;
GRANT SELECT ON audit_log TO cadcam_auditor;
GRANT EXECUTE ON FUNCTION create_audit_partitions(integer) TO cadcam_admin;

-- The current month and the next three exist from the start; the function
-- runs as the owner, so the partitions are the owner's too.
SELECT create_audit_partitions(3);
