-- Refill the queue by the :batch jobs a committed claim took: new jobs of
-- user :user_id, queued at once, as the platform's queue fills while
-- workers drain it. In its own transaction after the claim's; audited
-- (trg_jobs_audit) whether or not the claim's audit trigger is on.
INSERT INTO jobs (user_id, type, status, priority, input_params)
SELECT
    :user_id,
    'model_import',
    'queued',
    5,
    '{"source": "upload"}'
FROM generate_series(1, :batch);
