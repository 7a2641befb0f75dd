-- 0028_audit_jobs_update: a job's updates are audited by a trigger function
-- of their own, called for the columns an UPDATE sets.
--
-- Why: make bench (issue 15) showed the audit entry costing a job claim
-- more than the rest of the claim's extra work together. Two parts of it
-- go. The WHEN clause of trg_jobs_audit_update (17 comparisons, 2 of them
-- jsonb) is read from the catalog, planned and compiled again in every
-- UPDATE statement on jobs, whether it calls the function or not; UPDATE
-- OF tests the statement's SET list instead, for nothing. And the generic
-- diff (to_jsonb and hstore of both rows, a loop over the changed keys)
-- becomes one typed comparison per column, about a third of its cost.
-- What an entry records does not change (tests/test_audit_log.py writes
-- both entries for the same updates and compares them).
-- Rollout: CREATE FUNCTION, then the trigger is replaced in this
-- migration's one transaction, so that no update goes unaudited between
-- the two: DROP TRIGGER takes an ACCESS EXCLUSIVE lock on jobs for an
-- instant, waiting at most the runner's lock_timeout for it.
-- depends: 0027_portable_trim_rules_validate

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
ALTER FUNCTION audit_jobs_update() OWNER TO cadcam_owner;
REVOKE EXECUTE ON FUNCTION audit_jobs_update() FROM PUBLIC;

DROP TRIGGER trg_jobs_audit_update ON jobs;

CREATE TRIGGER trg_jobs_audit_update
AFTER UPDATE OF id, user_id, model_id, type, status, priority, input_params,
result, idempotency_key, celery_task_id, retry_count, max_retries,
timeout_seconds, error_message, created_at, started_at, finished_at
ON jobs
FOR EACH ROW EXECUTE FUNCTION audit_jobs_update();
