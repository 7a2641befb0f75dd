-- Rollback of 0028_audit_jobs_update: jobs' updates are audited by
-- audit_row_change() again, behind the WHEN clause that skips quiet-only
-- updates; the trigger is replaced in one transaction, as it was made.

DROP TRIGGER trg_jobs_audit_update ON jobs;

CREATE TRIGGER trg_jobs_audit_update
AFTER UPDATE ON jobs
FOR EACH ROW
WHEN (
    (
        old.id, old.user_id, old.model_id, old.type, old.status, old.priority,
        old.input_params, old.result, old.idempotency_key,
        old.celery_task_id, old.retry_count, old.max_retries,
        old.timeout_seconds, old.error_message, old.created_at,
        old.started_at, old.finished_at
    ) IS DISTINCT FROM (
        new.id, new.user_id, new.model_id, new.type, new.status, new.priority,
        new.input_params, new.result, new.idempotency_key,
        new.celery_task_id, new.retry_count, new.max_retries,
        new.timeout_seconds, new.error_message, new.created_at,
        new.started_at, new.finished_at
    )
)
EXECUTE FUNCTION audit_row_change(
    '{}', '{updated_at,progress,metrics}'
);

DROP FUNCTION audit_jobs_update();
