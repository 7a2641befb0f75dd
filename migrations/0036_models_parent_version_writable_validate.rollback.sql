-- Rollback of 0036_models_parent_version_writable_validate: the rule as 0035
-- left it, NOT VALID (a validated rule cannot be marked unvalidated, so it
-- is replaced in one statement; no scan).

-- squawk-ignore-file ban-drop-constraint

ALTER TABLE models
DROP CONSTRAINT ck_models_parent_version_previous,
ADD CONSTRAINT ck_models_parent_version_previous CHECK (
    parent_version IS NOT DISTINCT FROM greatest(version, 1) - 1
) NOT VALID;
