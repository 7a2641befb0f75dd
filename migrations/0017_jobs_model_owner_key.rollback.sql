-- Rollback of 0017_jobs_model_owner_key: drops the new key and the unique
-- constraint. Dropping the constraint drops its index, which 0016 built, so
-- it is built again here; in this transaction, so writes to models wait
-- while it builds (a rollback is an emergency measure).

ALTER TABLE jobs DROP CONSTRAINT fk_jobs_model_id_user_id;
ALTER TABLE models DROP CONSTRAINT uq_models_id_user_id;
CREATE UNIQUE INDEX uq_models_id_user_id ON models (id, user_id);
