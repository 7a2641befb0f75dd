-- 0017_jobs_model_owner_key: the key (model_id, user_id) of jobs onto
-- models (id, user_id), not yet validated.
--
-- Why: see 0016; a job's model must belong to the job's user (issue 5).
-- Rollout: both statements take brief locks (SHARE ROW EXCLUSIVE on jobs
-- and models) and scan nothing: the unique constraint adopts the index
-- 0016 built, and NOT VALID checks new and changed rows only. From here
-- on, a job written for another user's model is refused. 0018 validates
-- the existing rows.
-- depends: 0016_jobs_model_owner_indexes

ALTER TABLE models
ADD CONSTRAINT uq_models_id_user_id UNIQUE USING INDEX uq_models_id_user_id;

ALTER TABLE jobs
ADD CONSTRAINT fk_jobs_model_id_user_id FOREIGN KEY (model_id, user_id)
REFERENCES models (id, user_id) ON DELETE RESTRICT NOT VALID;
