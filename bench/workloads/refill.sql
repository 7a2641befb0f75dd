-- Refill the queue by the :batch jobs a committed claim took: new jobs of
-- user :user_id, queued at once, as the platform's queue fills while
-- workers drain it. In its own transaction after the claim's; audited
-- (trg_jobs_audit) whether or not the claim's audit trigger is on.
INSERT INTO jobs (user_id, type, status, priority, input_params)
SELECT
    :user_id AS user_id,
    'model_import' AS type,
    'queued' AS status,
    5 AS priority,
    '{"source": "upload"}' AS input_params
FROM generate_series(1, :batch);
