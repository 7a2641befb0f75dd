-- Rollback of 0027_portable_trim_rules_validate: the rules as 0026 left
-- them, NOT VALID (a validated rule cannot be marked unvalidated, so each
-- is replaced in one statement; no scan).

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
