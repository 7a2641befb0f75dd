-- Rollback of 0002_types: drops what it created. Refused (RESTRICT) while a
-- later migration still depends on it.

DROP TYPE job_status;
DROP TYPE job_type;
DROP TYPE model_file_format;
DROP TYPE model_type;
DROP TYPE license_status;
DROP TYPE license_plan;
DROP TYPE user_locale;
DROP TYPE user_status;
DROP TYPE user_role;
