-- 0026_portable_trim_rules: the three length rules that trim white space
-- before counting, restated so that every supported major reads them the
-- same, not yet validated.
--
-- Why: 0004 and 0007 wrote the set of trimmed characters as
-- E' \t\n\r\f\v'. \v (vertical tab) is an escape only from PostgreSQL 17
-- on; 15 and 16 read it as the letter v. There the rules trimmed the letter
-- v from both ends: a company or model named 'v' was refused, 'Kiev'
-- counted 3 characters, and a name of vertical tabs only was accepted. The
-- hex escape \x0b is the vertical tab on every major.
-- Rollout: each ALTER drops a rule and adds its portable form NOT VALID in
-- one statement: an ACCESS EXCLUSIVE lock for an instant, no scan, and no
-- moment without the rule. From here on new and changed rows are checked
-- the portable way; 0027 validates the existing rows.
-- depends: 0025_acting_user_per_transaction

-- Each rule is replaced in the same statement: none goes missing.
-- squawk-ignore-file ban-drop-constraint

ALTER TABLE users
DROP CONSTRAINT ck_users_company_name_length,
ADD CONSTRAINT ck_users_company_name_length CHECK (
    char_length(btrim(company_name, E' \t\n\r\f\x0b')) BETWEEN 1 AND 255
) NOT VALID,
DROP CONSTRAINT ck_users_tax_office_length,
ADD CONSTRAINT ck_users_tax_office_length CHECK (
    char_length(btrim(tax_office, E' \t\n\r\f\x0b')) BETWEEN 1 AND 100
) NOT VALID;

ALTER TABLE models
DROP CONSTRAINT ck_models_name_length,
ADD CONSTRAINT ck_models_name_length CHECK (
    char_length(btrim(name, E' \t\n\r\f\x0b')) BETWEEN 1 AND 255
) NOT VALID;
