-- Rollback of 0018_jobs_model_owner_validate: puts back the key on model_id
-- alone, and the new key as 0017 left it (NOT VALID).

COMMENT ON COLUMN jobs.model_id IS
'The model the job works on; NULL for jobs that create a model from scratch.';
ALTER TABLE jobs DROP CONSTRAINT fk_jobs_model_id;
ALTER TABLE jobs
ADD CONSTRAINT fk_jobs_model_id_user_id FOREIGN KEY (model_id, user_id)
REFERENCES models (id, user_id) ON DELETE RESTRICT NOT VALID;
ALTER TABLE jobs
ADD CONSTRAINT fk_jobs_model_id FOREIGN KEY (model_id)
REFERENCES models (id) ON DELETE RESTRICT;
