-- Rollback of 0023_concurrent_time_rules: the rules again, as 0004 to 0008
-- made them. Each ADD scans its table under an ACCESS EXCLUSIVE lock, and
-- fails, naming the rule, when a row written since breaks it (an update
-- whose transaction began before the row was created): such rows must be
-- corrected by hand first.

ALTER TABLE users
ADD CONSTRAINT ck_users_updated_not_before_created CHECK (
    updated_at >= created_at
),
ADD CONSTRAINT ck_users_deleted_not_before_created CHECK (
    deleted_at >= created_at
);

ALTER TABLE sessions
ADD CONSTRAINT ck_sessions_last_used_not_before_created CHECK (
    last_used_at >= created_at
),
ADD CONSTRAINT ck_sessions_revoked_not_before_created CHECK (
    revoked_at >= created_at
);

ALTER TABLE licenses
ADD CONSTRAINT ck_licenses_updated_not_before_created CHECK (
    updated_at >= created_at
);

ALTER TABLE models
ADD CONSTRAINT ck_models_updated_not_before_created CHECK (
    updated_at >= created_at
),
ADD CONSTRAINT ck_models_deleted_not_before_created CHECK (
    deleted_at >= created_at
);

ALTER TABLE jobs
ADD CONSTRAINT ck_jobs_started_not_before_created CHECK (
    started_at >= created_at
),
ADD CONSTRAINT ck_jobs_updated_not_before_created CHECK (
    updated_at >= created_at
);
