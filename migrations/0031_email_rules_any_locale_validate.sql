-- 0031_email_rules_any_locale_validate: validates the rules 0030 restated.
--
-- Why: see 0030. Every row the old rules let in passes the new ones (they
-- accept and refuse the same addresses), so this only marks them valid.
-- Rollout: VALIDATE scans users under SHARE UPDATE EXCLUSIVE; reads and
-- writes go on meanwhile.
-- depends: 0030_email_rules_any_locale

ALTER TABLE users VALIDATE CONSTRAINT ck_users_email_lowercase;
ALTER TABLE users VALIDATE CONSTRAINT ck_users_email_format;
