-- Rollback of 0030_email_rules_any_locale: the rules as 0004 wrote them
-- (lower(email), through the database's locale). Each ADD scans users under
-- an ACCESS EXCLUSIVE lock.

-- squawk-ignore-file ban-drop-constraint

ALTER TABLE users
DROP CONSTRAINT ck_users_email_lowercase,
ADD CONSTRAINT ck_users_email_lowercase CHECK (
    email = lower(email)
),
DROP CONSTRAINT ck_users_email_format,
ADD CONSTRAINT ck_users_email_format CHECK (
    lower(email) ~ '^[a-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&''*+/=?^_`{|}~-]+)*@[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$'  -- noqa: LT05
);
