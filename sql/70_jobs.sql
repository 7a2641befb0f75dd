-- =============================================================================
-- jobs: background work (CAM toolpaths, G-code posts, imports, ...)
-- =============================================================================
-- Workers report progress many times a second across the fleet. To keep
-- those updates heap-only (HOT: no new index entries, no index bloat) the
-- table leaves 30% of every page free for new row versions, and no index
-- covers a column that a progress update changes (progress, updated_at).
CREATE TABLE jobs (
    id bigint GENERATED ALWAYS AS IDENTITY,
    user_id bigint NOT NULL,
    model_id bigint,
    type job_type NOT NULL,
    status job_status NOT NULL DEFAULT 'pending',
    priority smallint NOT NULL DEFAULT 5,
    input_params jsonb,
    metrics jsonb,
    result jsonb,
    idempotency_key text,
    celery_task_id uuid,
    progress smallint NOT NULL DEFAULT 0,
    retry_count integer NOT NULL DEFAULT 0,
    max_retries integer NOT NULL DEFAULT 3,
    timeout_seconds integer NOT NULL DEFAULT 3600,
    error_message text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,

    CONSTRAINT pk_jobs PRIMARY KEY (id),
    CONSTRAINT fk_jobs_user_id FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE RESTRICT,
    -- A job's model belongs to the job's user: the key includes user_id, so
    -- no job can point at another user's model (foreign keys ignore
    -- row-level security). No check when model_id is NULL (MATCH SIMPLE).
    CONSTRAINT fk_jobs_model_id FOREIGN KEY (model_id, user_id)
    REFERENCES models (id, user_id) ON DELETE RESTRICT,
    -- Per user: a key is the client's own, and two users may derive the same
    -- one. The key leads: idx_jobs_user_id stays the index for user_id.
    CONSTRAINT uq_jobs_idempotency_key_user_id UNIQUE (idempotency_key, user_id),
    CONSTRAINT uq_jobs_celery_task_id UNIQUE (celery_task_id),

    CONSTRAINT ck_jobs_priority_range CHECK (priority BETWEEN 0 AND 9),
    CONSTRAINT ck_jobs_progress_range CHECK (progress BETWEEN 0 AND 100),
    CONSTRAINT ck_jobs_retry_count_nonnegative CHECK (retry_count >= 0),
    CONSTRAINT ck_jobs_max_retries_nonnegative CHECK (max_retries >= 0),
    CONSTRAINT ck_jobs_retry_count_within_max CHECK (
        retry_count <= max_retries
    ),
    CONSTRAINT ck_jobs_timeout_seconds_positive CHECK (timeout_seconds > 0),
    CONSTRAINT ck_jobs_idempotency_key_length CHECK (
        char_length(idempotency_key) BETWEEN 1 AND 255
    ),
    CONSTRAINT ck_jobs_error_message_length CHECK (
        char_length(error_message) <= 10000
    ),
    CONSTRAINT ck_jobs_input_params_object CHECK (
        jsonb_typeof(input_params) = 'object'
    ),
    CONSTRAINT ck_jobs_metrics_object CHECK (
        jsonb_typeof(metrics) = 'object'
    ),
    CONSTRAINT ck_jobs_result_object CHECK (
        jsonb_typeof(result) = 'object'
    ),
    -- State consistency, one rule per constraint so the error names the rule.
    CONSTRAINT ck_jobs_running_has_started_at CHECK (
        status <> 'running' OR started_at IS NOT NULL
    ),
    CONSTRAINT ck_jobs_finished_at_status CHECK (
        (status IN ('succeeded', 'failed', 'cancelled', 'timed_out'))
        = (finished_at IS NOT NULL)
    ),
    CONSTRAINT ck_jobs_succeeded_progress_complete CHECK (
        status <> 'succeeded' OR progress = 100
    ),
    -- The worker that runs an attempt writes both of its instants.
    CONSTRAINT ck_jobs_finished_not_before_started CHECK (
        finished_at >= started_at
    )
    -- No rule orders started_at or updated_at after created_at: the job is
    -- queued by the application and claimed by a worker whose transaction
    -- may have begun before the job was committed (now() is its start), or
    -- whose clock is behind the server's (0023_concurrent_time_rules).
)
WITH (fillfactor = 70);

CREATE INDEX idx_jobs_user_id ON jobs (user_id);
CREATE INDEX idx_jobs_model_id_user_id ON jobs (model_id, user_id);
CREATE INDEX idx_jobs_type ON jobs (type);
-- The queue and the dashboard: "jobs in status X, oldest first".
CREATE INDEX idx_jobs_status_created_at ON jobs (status, created_at);
-- The claim (workload/queries/05_claim_next_job.sql): the queued job of the
-- most urgent priority, then the oldest, is the first entry. Partial, so it
-- holds the queue (thousands of rows) and not the history (millions), and
-- a claim does not read and sort the whole queue as it would through
-- idx_jobs_status_created_at. Progress updates do not touch it (HOT).
CREATE INDEX idx_jobs_priority_created_at_queued ON jobs (priority, created_at)
WHERE status = 'queued';
-- The models of the jobs still to be done: what a worker may see of models
-- (pol_models_worker_select). Row-level security hides jobs.status's
-- statistics from the planner (enum_eq is not leakproof), so a policy's
-- "status IN (...)" is estimated at 3/7 of jobs; this partial index holds the
-- queue only, and its size is the estimate (0037).
CREATE INDEX idx_jobs_model_id_active ON jobs (model_id)
WHERE status IN ('pending', 'queued', 'running');
CREATE INDEX gin_jobs_input_params ON jobs USING gin (input_params)
WHERE input_params IS NOT NULL;
CREATE INDEX gin_jobs_metrics ON jobs USING gin (metrics)
WHERE metrics IS NOT NULL;

CREATE TRIGGER trg_jobs_updated_at
BEFORE UPDATE ON jobs
FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE jobs IS
'Background jobs run by Celery workers: model generation and import, CAM toolpaths, G-code post-processing, simulation, thumbnails, exports. Stored with fillfactor 70 so that progress updates stay HOT.';
COMMENT ON COLUMN jobs.id IS 'Surrogate key.';
COMMENT ON COLUMN jobs.user_id IS 'The user who asked for the job.';
COMMENT ON COLUMN jobs.model_id IS
'The model the job works on, one of the same user''s models; NULL for jobs that create a model from scratch.';
COMMENT ON COLUMN jobs.type IS 'Kind of work; see type job_type.';
COMMENT ON COLUMN jobs.status IS
'Job life cycle; see type job_status. Checked against started_at, finished_at and progress.';
COMMENT ON COLUMN jobs.priority IS
'Scheduling priority from 0 (most urgent) to 9 (least urgent); jobs of equal priority run oldest first.';
COMMENT ON COLUMN jobs.input_params IS
'JSON object of the job''s input (tool library, feeds and speeds, post-processor options); NULL when none.';
COMMENT ON COLUMN jobs.metrics IS
'JSON object of measurements the worker reports (machining time, toolpath length, memory); NULL until reported.';
COMMENT ON COLUMN jobs.result IS
'JSON object describing the output (storage keys of produced files, warnings); NULL until the job ends.';
COMMENT ON COLUMN jobs.idempotency_key IS
'Client-chosen key, unique per user when present: the same user submitting the same key twice finds the first job instead of making a second; another user may use the same key.';
COMMENT ON COLUMN jobs.celery_task_id IS
'Celery task id of the current attempt, unique when present.';
COMMENT ON COLUMN jobs.progress IS
'Percent done, 0 to 100; 100 when succeeded. Updated often: never index it.';
COMMENT ON COLUMN jobs.retry_count IS
'Attempts retried so far; never more than max_retries.';
COMMENT ON COLUMN jobs.max_retries IS 'How many retries the job may use, 0 or more.';
COMMENT ON COLUMN jobs.timeout_seconds IS
'Wall-clock limit of one attempt in seconds, positive; past it the job is timed_out.';
COMMENT ON COLUMN jobs.error_message IS
'Error of the last failed attempt, at most 10000 characters.';
COMMENT ON COLUMN jobs.created_at IS 'When the job was submitted.';
COMMENT ON COLUMN jobs.updated_at IS
'When the row last changed; kept by trigger trg_jobs_updated_at. Not indexed, so progress updates stay HOT.';
COMMENT ON COLUMN jobs.started_at IS
'When a worker started the current attempt; set whenever status is running.';
COMMENT ON COLUMN jobs.finished_at IS
'When the job reached a finished state (succeeded, failed, cancelled, timed_out); set exactly then, never before started_at.';

-- -----------------------------------------------------------------------------
-- Owner and privileges (see 05_roles.sql)
-- -----------------------------------------------------------------------------
ALTER TABLE jobs OWNER TO cadcam_owner;
GRANT SELECT, INSERT, UPDATE ON jobs TO cadcam_app, cadcam_admin;
-- Workers claim jobs and report progress, metrics, results and errors; what
-- a job is, whose it is and its keys are the application's to set.
GRANT SELECT, UPDATE (
    status, progress, metrics, result, error_message, retry_count,
    celery_task_id, started_at, finished_at
) ON jobs TO cadcam_worker;
GRANT SELECT ON jobs TO cadcam_readonly;

-- -----------------------------------------------------------------------------
-- Row-level security (acting user: app_user_id() in 20_functions.sql)
-- -----------------------------------------------------------------------------
-- FORCE makes the owner obey the policies too: functions that run as the
-- owner (SECURITY DEFINER) reach rows only through pol_jobs_owner.
ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
-- The application sees and changes the acting user's jobs only, and can
-- neither write a row for another user nor move a row to one.
CREATE POLICY pol_jobs_app ON jobs FOR ALL TO cadcam_app
USING (user_id = (SELECT app_user_id()))
WITH CHECK (user_id = (SELECT app_user_id()));
CREATE POLICY pol_jobs_readonly ON jobs FOR SELECT TO cadcam_readonly
USING (TRUE);
CREATE POLICY pol_jobs_admin ON jobs FOR ALL TO cadcam_admin
USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY pol_jobs_owner ON jobs FOR ALL TO cadcam_owner
USING (TRUE) WITH CHECK (TRUE);
-- Workers see the jobs still to run or running, whoever owns them, and move
-- them on to a finished state. A finished job stays visible for 7 days (a
-- redelivered Celery task must find its job done, and UPDATE ... RETURNING
-- must see the row it finished) but can no longer be changed: a late,
-- stale worker cannot overwrite a result.
CREATE POLICY pol_jobs_worker_select ON jobs FOR SELECT TO cadcam_worker
USING (
    status IN ('pending', 'queued', 'running')
    OR finished_at > now() - interval '7 days'
);
CREATE POLICY pol_jobs_worker_update ON jobs FOR UPDATE TO cadcam_worker
USING (status IN ('pending', 'queued', 'running'))
WITH CHECK (TRUE);
-- ... and the models of those jobs only (policies of models that read jobs
-- stand here, where jobs exists).
CREATE POLICY pol_models_worker_select ON models FOR SELECT TO cadcam_worker
USING (
    EXISTS (
        SELECT FROM jobs
        WHERE
            jobs.model_id = models.id
            AND jobs.status IN ('pending', 'queued', 'running')
    )
);
CREATE POLICY pol_models_worker_update ON models FOR UPDATE TO cadcam_worker
USING (
    EXISTS (
        SELECT FROM jobs
        WHERE
            jobs.model_id = models.id
            AND jobs.status IN ('pending', 'queued', 'running')
    )
)
WITH CHECK (TRUE);
