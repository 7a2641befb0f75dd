-- 0030_email_rules_any_locale: the two e-mail rules fold case without the
-- database's locale, not yet validated.
--
-- Why: both rules compared the address with lower(email), which maps case by
-- the database's locale. In a Turkish database (libc tr_TR.UTF-8 or ICU
-- tr-TR) lower('I') is 'ı' (dotless i), so an address with an ASCII capital
-- I was refused by ck_users_email_format (the format refuses 'ı') instead of
-- ck_users_email_lowercase, the rule it breaks. Every address was accepted
-- or refused as before; only the rule named changed with the locale. Now
-- the case is folded by lower() under COLLATE "C" (A-Z only), then U+0130
-- (İ) and U+212A (the Kelvin sign), the two capitals whose small letter is
-- ASCII, become i and k: exactly what lower() did under C.UTF-8, where the
-- tests ran, for every character an address can hold.
-- Rollout: one ALTER drops each rule and adds its new form NOT VALID in the
-- same statement: an ACCESS EXCLUSIVE lock on users for an instant, no scan,
-- and no moment without either rule. 0031 validates the existing rows.
-- depends: 0029_audit_action_any_locale

-- Each rule is replaced in the same statement: none goes missing.
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
