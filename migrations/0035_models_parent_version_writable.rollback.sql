-- Rollback of 0035_models_parent_version_writable: parent_version generated
-- again. A column cannot become generated in place, so it is dropped and
-- added again, now as the last column of models (the one difference from the
-- schema before 0035), with the key and the unique constraint over it.
-- This rewrites models and builds both under an ACCESS EXCLUSIVE lock: a
-- rollback is rare and deliberate; run it when models is quiet.

-- squawk-ignore-file ban-drop-constraint, ban-drop-column

DROP TRIGGER trg_models_parent_version ON models;
DROP FUNCTION set_models_parent_version();

ALTER TABLE models
DROP CONSTRAINT fk_models_parent_model_id,
DROP CONSTRAINT uq_models_parent_model_id_user_id_parent_version,
DROP CONSTRAINT ck_models_parent_version_previous,
DROP COLUMN parent_version;

ALTER TABLE models
ADD COLUMN parent_version integer GENERATED ALWAYS AS (greatest(version, 1) - 1) STORED,
ADD CONSTRAINT uq_models_parent_model_id_user_id_parent_version UNIQUE (
    parent_model_id, user_id, parent_version
),
ADD CONSTRAINT fk_models_parent_model_id FOREIGN KEY (
    parent_model_id, user_id, parent_version
)
REFERENCES models (id, user_id, version) ON DELETE RESTRICT;

COMMENT ON COLUMN models.parent_version IS
'Derived: version - 1 (0 for a version below 1), stored only so that fk_models_parent_model_id can check that the parent has exactly the previous version number.';
