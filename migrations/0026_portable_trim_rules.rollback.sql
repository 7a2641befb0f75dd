-- Rollback of 0026_portable_trim_rules: the rules as 0004 and 0007 wrote
-- them (on 15 and 16 that trims the letter v, as it did before). Each ADD
-- scans its table under an ACCESS EXCLUSIVE lock.

ALTER TABLE users
DROP CONSTRAINT ck_users_company_name_length,
ADD CONSTRAINT ck_users_company_name_length CHECK (
    char_length(btrim(company_name, E' \t\n\r\f\v')) BETWEEN 1 AND 255
),
DROP CONSTRAINT ck_users_tax_office_length,
ADD CONSTRAINT ck_users_tax_office_length CHECK (
    char_length(btrim(tax_office, E' \t\n\r\f\v')) BETWEEN 1 AND 100
);

ALTER TABLE models
DROP CONSTRAINT ck_models_name_length,
ADD CONSTRAINT ck_models_name_length CHECK (
    char_length(btrim(name, E' \t\n\r\f\v')) BETWEEN 1 AND 255
);
