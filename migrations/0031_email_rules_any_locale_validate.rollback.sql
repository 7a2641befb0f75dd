-- Rollback of 0031_email_rules_any_locale_validate: the rules as 0030 left
-- them, NOT VALID (a validated rule cannot be marked unvalidated, so each is
-- replaced in one statement; no scan).

-- squawk-ignore-file ban-drop-constraint

ALTER TABLE users
DROP CONSTRAINT ck_users_email_lowercase,
ADD CONSTRAINT ck_users_email_lowercase CHECK (
    email = translate(lower(email COLLATE "C"), U&'\0130\212A', 'ik')
) NOT VALID,
DROP CONSTRAINT ck_users_email_format,
ADD CONSTRAINT ck_users_email_format CHECK (
    translate(lower(email COLLATE "C"), U&'\0130\212A', 'ik') ~ '^[a-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&''*+/=?^_`{|}~-]+)*@[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$'  -- noqa: LT05
) NOT VALID;
