-- 0018_jobs_model_owner_validate: validates the new key of jobs, drops the
-- old one, and gives the new one its name.
--
-- Why: see 0016; a job's model must belong to the job's user (issue 5).
-- Rollout: VALIDATE scans jobs under SHARE UPDATE EXCLUSIVE (reads and
-- writes go on); it fails, naming fk_jobs_model_id_user_id, if a job
-- already points at another user's model: fix those rows, then re-run.
-- The DROP and RENAME take an ACCESS EXCLUSIVE lock on jobs for an instant
-- at the end.
-- depends: 0017_jobs_model_owner_key

ALTER TABLE jobs VALIDATE CONSTRAINT fk_jobs_model_id_user_id;

-- The guarantee is not lost: the validated key above is the same rule and
-- more (the model also belongs to the job's user).
-- squawk-ignore ban-drop-constraint
ALTER TABLE jobs DROP CONSTRAINT fk_jobs_model_id;

-- Clients keep seeing the name they know in errors: the new key takes it.
-- squawk-ignore renaming-object
ALTER TABLE jobs RENAME CONSTRAINT fk_jobs_model_id_user_id TO fk_jobs_model_id;

COMMENT ON COLUMN jobs.model_id IS
'The model the job works on, one of the same user''s models; NULL for jobs that create a model from scratch.';
