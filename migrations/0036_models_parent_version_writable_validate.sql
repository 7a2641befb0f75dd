-- 0036_models_parent_version_writable_validate: validates
-- ck_models_parent_version_previous (0035) over the existing rows.
--
-- Why: every row written before 0035 had parent_version generated as
-- greatest(version, 1) - 1, so the scan finds nothing; validating it makes
-- the rule hold for every row, not only new ones.
-- Rollout: VALIDATE CONSTRAINT takes SHARE UPDATE EXCLUSIVE: reads and
-- writes go on during the scan.
-- depends: 0035_models_parent_version_writable

ALTER TABLE models VALIDATE CONSTRAINT ck_models_parent_version_previous;
