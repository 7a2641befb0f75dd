-- 0035_models_parent_version_writable: parent_version becomes a column a
-- client may write, filled by a trigger when it does not and checked by a
-- rule (not yet validated; 0036 validates it).
--
-- Why: fk_models_parent_model_id (parent_model_id, user_id, parent_version)
-- -> models (id, user_id, version) is the key that makes a new version point
-- at exactly the previous one. An ORM relationship built from that key
-- (SQLAlchemy's automap, the relationship sqlacodegen writes) copies all
-- three columns from the parent when a version is attached to it, and a
-- GENERATED ALWAYS column refuses any written value: "cannot insert a
-- non-DEFAULT value into column parent_version". Now the written value is
-- taken and ck_models_parent_version_previous refuses a wrong one by name;
-- a client that leaves it out gets it filled by trg_models_parent_version,
-- as the generated column did.
-- Rollout: one transaction; each statement changes the catalog only (DROP
-- EXPRESSION keeps the stored values, the rule is added NOT VALID, so no
-- scan): an ACCESS EXCLUSIVE lock on models for an instant. The rule and
-- the trigger arrive with the change, so no row is ever written unchecked.
-- depends: 0034_comments_set_acting_user

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

ALTER FUNCTION set_models_parent_version() OWNER TO cadcam_owner;
REVOKE EXECUTE ON FUNCTION set_models_parent_version() FROM PUBLIC;

-- Breaks no client: one that never writes parent_version gets it filled by
-- the trigger below, exactly as the expression filled it.
-- squawk-ignore-file ban-drop-generated-expression
ALTER TABLE models
ALTER COLUMN parent_version DROP EXPRESSION,
ADD CONSTRAINT ck_models_parent_version_previous CHECK (
    parent_version IS NOT DISTINCT FROM greatest(version, 1) - 1
) NOT VALID;

CREATE TRIGGER trg_models_parent_version
BEFORE INSERT OR UPDATE OF version, parent_version ON models
FOR EACH ROW EXECUTE FUNCTION set_models_parent_version();

COMMENT ON COLUMN models.parent_version IS
'version - 1 (0 for a root), so that fk_models_parent_model_id can check that the parent has exactly the previous version number. A client may write it (an ORM relationship built from that key copies the parent''s version into it) or leave it out (trg_models_parent_version fills it); ck_models_parent_version_previous refuses any other value.';
