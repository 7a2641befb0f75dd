-- 0027_portable_trim_rules_validate: validates the rules 0026 restated.
--
-- Why: see 0026. On 17 and 18 the rules mean what they meant, so every row
-- passes. On 15 and 16 a row that the old rules let through fails here,
-- naming the rule: a name of vertical tabs only. Correct those rows, then
-- re-run. (Rows the old rules refused, such as a model named 'v', could not
-- exist.)
-- Rollout: VALIDATE scans each table under SHARE UPDATE EXCLUSIVE; reads
-- and writes go on meanwhile.
-- depends: 0026_portable_trim_rules

ALTER TABLE users VALIDATE CONSTRAINT ck_users_company_name_length;
ALTER TABLE users VALIDATE CONSTRAINT ck_users_tax_office_length;
ALTER TABLE models VALIDATE CONSTRAINT ck_models_name_length;
