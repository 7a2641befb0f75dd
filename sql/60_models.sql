-- =============================================================================
-- models: CAD documents and their versions
-- =============================================================================
-- Versions form a line: a root model (no parent) is version 1, each new
-- version points at its parent and is exactly the parent's version + 1, and a
-- parent has at most one next version. All three are declarative:
--   * ck_models_root_version          root => version 1
--   * ck_models_parent_version_previous
--                                     parent_version = version - 1
--   * fk_models_parent_model_id       (parent_model_id, user_id, parent_version)
--                                     must be a row (id, user_id, version),
--                                     parent_version being version - 1:
--                                     the parent exists, has the previous
--                                     version number and the same owner
--   * uq_models_parent_model_id_user_id_parent_version
--                                     one next version per parent: for a
--                                     given parent the FK fixes user_id and
--                                     parent_version, so this unique key is
--                                     "unique parent_model_id", and it is
--                                     also the index leading with the FK's
--                                     columns that the FK needs
-- so a lineage never repeats a version number and never crosses users.
CREATE TABLE models (
    id bigint GENERATED ALWAYS AS IDENTITY,
    user_id bigint NOT NULL,
    name text NOT NULL,
    type model_type NOT NULL,
    file_format model_file_format NOT NULL,
    storage_key text NOT NULL,
    sha256 bytea NOT NULL,
    file_size bigint NOT NULL,
    version integer NOT NULL DEFAULT 1,
    parent_model_id bigint,
    -- version - 1, written by the client (an ORM relationship built from
    -- fk_models_parent_model_id copies the parent's version here) or filled
    -- by trg_models_parent_version; ck_models_parent_version_previous
    -- refuses anything else. Not GENERATED: such a column refuses every
    -- written value, and with it those relationships (0035).
    parent_version integer,
    thumbnail_key text,
    params jsonb,
    metrics jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,

    CONSTRAINT pk_models PRIMARY KEY (id),
    CONSTRAINT fk_models_user_id FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE RESTRICT,
    -- Targets of fk_jobs_model_id and fk_models_parent_model_id; id alone
    -- is already unique, but a key that includes user_id makes a reference
    -- from another user's row impossible (foreign keys ignore row-level
    -- security).
    CONSTRAINT uq_models_id_user_id UNIQUE (id, user_id),
    CONSTRAINT uq_models_id_user_id_version UNIQUE (id, user_id, version),
    CONSTRAINT fk_models_parent_model_id FOREIGN KEY (
        parent_model_id, user_id, parent_version
    )
    REFERENCES models (id, user_id, version) ON DELETE RESTRICT,
    -- One next version per parent (see the banner), and the index that
    -- fk_models_parent_model_id needs.
    CONSTRAINT uq_models_parent_model_id_user_id_parent_version UNIQUE (
        parent_model_id, user_id, parent_version
    ),
    CONSTRAINT uq_models_storage_key UNIQUE (storage_key),

    -- Counted after trimming all ASCII white space: blank names are empty.
    -- \x0b is the vertical tab on every major (\v only from 17 on).
    CONSTRAINT ck_models_name_length CHECK (
        char_length(btrim(name, E' \t\n\r\f\x0b')) BETWEEN 1 AND 255
    ),
    -- S3 object keys are 1 to 1024 bytes of UTF-8.
    CONSTRAINT ck_models_storage_key_length CHECK (
        octet_length(storage_key) BETWEEN 1 AND 1024
    ),
    CONSTRAINT ck_models_thumbnail_key_length CHECK (
        octet_length(thumbnail_key) BETWEEN 1 AND 1024
    ),
    CONSTRAINT ck_models_sha256_length CHECK (octet_length(sha256) = 32),
    CONSTRAINT ck_models_file_size_positive CHECK (file_size > 0),
    CONSTRAINT ck_models_version_positive CHECK (version >= 1),
    CONSTRAINT ck_models_root_version CHECK (
        parent_model_id IS NOT NULL OR version = 1
    ),
    -- Floored so that no integer version can overflow it: a version below 1
    -- is then reported by ck_models_version_positive, not as an overflow.
    -- IS NOT DISTINCT FROM: NULL is refused too (version is never NULL).
    CONSTRAINT ck_models_parent_version_previous CHECK (
        parent_version IS NOT DISTINCT FROM greatest(version, 1) - 1
    ),
    CONSTRAINT ck_models_params_object CHECK (
        jsonb_typeof(params) = 'object'
    ),
    CONSTRAINT ck_models_metrics_object CHECK (
        jsonb_typeof(metrics) = 'object'
    )
    -- No rule orders updated_at or deleted_at after created_at: they are
    -- written by later transactions, whose now() may lie before the insert
    -- they see committed, or by clients whose clocks differ from the
    -- server's (0023_concurrent_time_rules).
);

CREATE INDEX idx_models_user_id ON models (user_id);
CREATE INDEX idx_models_type ON models (type);
-- Partial GIN indexes: most models carry no params or metrics, and a
-- containment search (@>) never matches NULL anyway.
CREATE INDEX gin_models_params ON models USING gin (params)
WHERE params IS NOT NULL;
CREATE INDEX gin_models_metrics ON models USING gin (metrics)
WHERE metrics IS NOT NULL;

CREATE TRIGGER trg_models_updated_at
BEFORE UPDATE ON models
FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE FUNCTION set_models_parent_version()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Left out (NULL), or not changed while version is: the previous version
    -- number, as the generated column computed it. Anything else a client
    -- wrote is kept, for ck_models_parent_version_previous to judge.
    IF NEW.parent_version IS NULL
        OR (TG_OP = 'UPDATE'
            AND NEW.version IS DISTINCT FROM OLD.version
            AND NEW.parent_version IS NOT DISTINCT FROM OLD.parent_version) THEN
        NEW.parent_version := greatest(NEW.version, 1) - 1;
    END IF;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION set_models_parent_version() IS
'BEFORE INSERT OR UPDATE trigger function of models: fills parent_version with version - 1 (0 below 1) when the client leaves it out, or changes version without it; a written value is kept for ck_models_parent_version_previous to judge.';

CREATE TRIGGER trg_models_parent_version
BEFORE INSERT OR UPDATE OF version, parent_version ON models
FOR EACH ROW EXECUTE FUNCTION set_models_parent_version();

COMMENT ON TABLE models IS
'CAD models (FreeCAD documents and exchange files) stored in S3, one row per version; versions of one model form a line through parent_model_id.';
COMMENT ON COLUMN models.id IS 'Surrogate key.';
COMMENT ON COLUMN models.user_id IS
'Owner of the model; every version of a lineage has the same owner.';
COMMENT ON COLUMN models.name IS 'Display name, 1 to 255 characters.';
COMMENT ON COLUMN models.type IS 'Kind of document; see type model_type.';
COMMENT ON COLUMN models.file_format IS
'Format of the stored file; see type model_file_format.';
COMMENT ON COLUMN models.storage_key IS
'S3 object key of the file, unique: one object is never shared by two rows.';
COMMENT ON COLUMN models.sha256 IS
'SHA-256 digest (32 bytes) of the stored file, to verify downloads and find duplicates.';
COMMENT ON COLUMN models.file_size IS
'Size of the stored file in bytes, positive; bigint because CAD files exceed 2 GiB.';
COMMENT ON COLUMN models.version IS
'Version number in the lineage: 1 for a root, parent''s version + 1 otherwise.';
COMMENT ON COLUMN models.parent_model_id IS
'The previous version of this model; NULL for a root (version 1). A model has at most one next version.';
COMMENT ON COLUMN models.parent_version IS
'version - 1 (0 for a root), so that fk_models_parent_model_id can check that the parent has exactly the previous version number. A client may write it (an ORM relationship built from that key copies the parent''s version into it) or leave it out (trg_models_parent_version fills it); ck_models_parent_version_previous refuses any other value.';
COMMENT ON COLUMN models.thumbnail_key IS
'S3 object key of the preview image; NULL until the thumbnail job has run.';
COMMENT ON COLUMN models.params IS
'JSON object of the parameters the model was generated from (dimensions, material, FreeCAD spreadsheet values); NULL when none.';
COMMENT ON COLUMN models.metrics IS
'JSON object of measured properties (volume, bounding box, face count); NULL until measured.';
COMMENT ON COLUMN models.created_at IS 'When this version was created.';
COMMENT ON COLUMN models.updated_at IS
'When the row last changed; kept by trigger trg_models_updated_at.';
COMMENT ON COLUMN models.deleted_at IS
'When the model was soft-deleted; NULL while visible. The S3 object is removed by a later sweep.';

-- -----------------------------------------------------------------------------
-- Owner and privileges (see 05_roles.sql)
-- -----------------------------------------------------------------------------
ALTER TABLE models OWNER TO cadcam_owner;
ALTER FUNCTION set_models_parent_version() OWNER TO cadcam_owner;
REVOKE EXECUTE ON FUNCTION set_models_parent_version() FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON models TO cadcam_app, cadcam_admin;
-- Workers read the model they process and write back what they measured.
GRANT SELECT, UPDATE (thumbnail_key, metrics) ON models TO cadcam_worker;
GRANT SELECT ON models TO cadcam_readonly;

-- -----------------------------------------------------------------------------
-- Row-level security (acting user: app_user_id() in 20_functions.sql)
-- -----------------------------------------------------------------------------
-- FORCE makes the owner obey the policies too: functions that run as the
-- owner (SECURITY DEFINER) reach rows only through pol_models_owner.
ALTER TABLE models ENABLE ROW LEVEL SECURITY;
ALTER TABLE models FORCE ROW LEVEL SECURITY;
-- The application sees and changes the acting user's models only, and can
-- neither write a row for another user nor move a row to one.
CREATE POLICY pol_models_app ON models FOR ALL TO cadcam_app
USING (user_id = (SELECT app_user_id()))
WITH CHECK (user_id = (SELECT app_user_id()));
CREATE POLICY pol_models_readonly ON models FOR SELECT TO cadcam_readonly
USING (TRUE);
CREATE POLICY pol_models_admin ON models FOR ALL TO cadcam_admin
USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY pol_models_owner ON models FOR ALL TO cadcam_owner
USING (TRUE) WITH CHECK (TRUE);
