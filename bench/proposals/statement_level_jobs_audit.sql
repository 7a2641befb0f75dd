-- A proposal, measured with `python -m bench --apply bench/proposals/statement_level_jobs_audit.sql`
-- (docs/benchmark.md, "One audit insert per claim statement"), not a
-- migration: the audit of jobs' updates as one INSERT per UPDATE statement
-- instead of one trigger call and one INSERT per row.
--
-- A statement-level trigger sees the statement's rows through transition
-- tables, and PostgreSQL refuses transition tables on a trigger with a
-- column list (UPDATE OF): it fires for every UPDATE of jobs, the progress
-- reports included, and each pays for its transition tables and one empty
-- INSERT ... SELECT. The entries are those audit_jobs_update() writes: the
-- changed columns, each compared by its type, when one that is not
-- updated_at, progress or metrics changed. Same trigger name, so that the
-- benchmark switches it off as it does the row trigger.
CREATE FUNCTION audit_jobs_update_statement()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO public.audit_log (
        table_name, row_id, subject_user_id, action, old_values, new_values
    )
    SELECT 'jobs', n.id, n.user_id, 'update', d.old_values, d.new_values
    FROM new_rows AS n
    INNER JOIN old_rows AS o ON o.id = n.id
    CROSS JOIN LATERAL (
        SELECT
            jsonb_object_agg(c.name, c.old_value) AS old_values,
            jsonb_object_agg(c.name, c.new_value) AS new_values,
            bool_or(c.loud) AS loud
        FROM (VALUES
            ('id', o.id IS DISTINCT FROM n.id, TRUE, to_jsonb(o.id), to_jsonb(n.id)),
            ('user_id', o.user_id IS DISTINCT FROM n.user_id, TRUE, to_jsonb(o.user_id), to_jsonb(n.user_id)),
            ('model_id', o.model_id IS DISTINCT FROM n.model_id, TRUE, to_jsonb(o.model_id), to_jsonb(n.model_id)),
            ('type', o.type IS DISTINCT FROM n.type, TRUE, to_jsonb(o.type), to_jsonb(n.type)),
            ('status', o.status IS DISTINCT FROM n.status, TRUE, to_jsonb(o.status), to_jsonb(n.status)),
            ('priority', o.priority IS DISTINCT FROM n.priority, TRUE, to_jsonb(o.priority), to_jsonb(n.priority)),
            ('input_params', o.input_params IS DISTINCT FROM n.input_params, TRUE, to_jsonb(o.input_params), to_jsonb(n.input_params)),
            ('result', o.result IS DISTINCT FROM n.result, TRUE, to_jsonb(o.result), to_jsonb(n.result)),
            ('idempotency_key', o.idempotency_key IS DISTINCT FROM n.idempotency_key, TRUE, to_jsonb(o.idempotency_key), to_jsonb(n.idempotency_key)),
            ('celery_task_id', o.celery_task_id IS DISTINCT FROM n.celery_task_id, TRUE, to_jsonb(o.celery_task_id), to_jsonb(n.celery_task_id)),
            ('retry_count', o.retry_count IS DISTINCT FROM n.retry_count, TRUE, to_jsonb(o.retry_count), to_jsonb(n.retry_count)),
            ('max_retries', o.max_retries IS DISTINCT FROM n.max_retries, TRUE, to_jsonb(o.max_retries), to_jsonb(n.max_retries)),
            ('timeout_seconds', o.timeout_seconds IS DISTINCT FROM n.timeout_seconds, TRUE, to_jsonb(o.timeout_seconds), to_jsonb(n.timeout_seconds)),
            ('error_message', o.error_message IS DISTINCT FROM n.error_message, TRUE, to_jsonb(o.error_message), to_jsonb(n.error_message)),
            ('created_at', o.created_at IS DISTINCT FROM n.created_at, TRUE, to_jsonb(o.created_at), to_jsonb(n.created_at)),
            ('updated_at', o.updated_at IS DISTINCT FROM n.updated_at, FALSE, to_jsonb(o.updated_at), to_jsonb(n.updated_at)),
            ('started_at', o.started_at IS DISTINCT FROM n.started_at, TRUE, to_jsonb(o.started_at), to_jsonb(n.started_at)),
            ('finished_at', o.finished_at IS DISTINCT FROM n.finished_at, TRUE, to_jsonb(o.finished_at), to_jsonb(n.finished_at)),
            ('progress', o.progress IS DISTINCT FROM n.progress, FALSE, to_jsonb(o.progress), to_jsonb(n.progress)),
            ('metrics', o.metrics IS DISTINCT FROM n.metrics, FALSE, to_jsonb(o.metrics), to_jsonb(n.metrics))
        ) AS c (name, changed, loud, old_value, new_value)
        WHERE c.changed
    ) AS d
    WHERE d.loud;
    RETURN NULL;
END;
$$;

ALTER FUNCTION audit_jobs_update_statement() OWNER TO cadcam_owner;

DROP TRIGGER trg_jobs_audit_update ON jobs;
CREATE TRIGGER trg_jobs_audit_update
AFTER UPDATE ON jobs
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION audit_jobs_update_statement();
