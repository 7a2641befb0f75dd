-- =============================================================================
-- licenses: what a user has bought, for which period
-- =============================================================================
CREATE TABLE licenses (
    id bigint GENERATED ALWAYS AS IDENTITY,
    user_id bigint NOT NULL,
    plan license_plan NOT NULL,
    status license_status NOT NULL DEFAULT 'pending',
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    seats integer NOT NULL DEFAULT 1,
    features jsonb NOT NULL DEFAULT '{}',
    auto_renew boolean NOT NULL DEFAULT FALSE,
    cancelled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT pk_licenses PRIMARY KEY (id),
    CONSTRAINT fk_licenses_user_id FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE RESTRICT,

    CONSTRAINT ck_licenses_period_order CHECK (starts_at < ends_at),
    CONSTRAINT ck_licenses_seats_positive CHECK (seats >= 1),
    CONSTRAINT ck_licenses_features_object CHECK (
        jsonb_typeof(features) = 'object'
    ),
    -- cancelled_at is set exactly when the status is cancelled, as deleted_at
    -- is for users: a reader never has to guess which of the two is right.
    CONSTRAINT ck_licenses_cancelled_at_status CHECK (
        (status = 'cancelled') = (cancelled_at IS NOT NULL)
    ),
    -- updated_at is not ordered after created_at: an update's now() may lie
    -- before the insert it sees committed (0023_concurrent_time_rules).
    -- Two active licenses of one user may not overlap in time. Periods are
    -- half-open [starts_at, ends_at): a renewal may start the instant the
    -- previous license ends. btree_gist supplies the "user_id WITH =" part.
    CONSTRAINT ex_licenses_active_overlap EXCLUDE USING gist (
        user_id WITH =,
        tstzrange(starts_at, ends_at, '[)') WITH &&
    ) WHERE (status = 'active')
);

CREATE INDEX idx_licenses_user_id ON licenses (user_id);
-- "Which active licenses end before X": the expiry and renewal sweeps.
CREATE INDEX idx_licenses_status_ends_at ON licenses (status, ends_at);
CREATE INDEX gin_licenses_features ON licenses USING gin (features);

CREATE TRIGGER trg_licenses_updated_at
BEFORE UPDATE ON licenses
FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE licenses IS
'Licenses sold to users: a plan, a validity period and a seat count. A user may hold several, but no two active ones overlapping in time.';
COMMENT ON COLUMN licenses.id IS 'Surrogate key.';
COMMENT ON COLUMN licenses.user_id IS 'The user who holds (and pays for) the license.';
COMMENT ON COLUMN licenses.plan IS 'Plan the license was sold under; see type license_plan.';
COMMENT ON COLUMN licenses.status IS
'License life cycle; see type license_status. cancelled goes with cancelled_at.';
COMMENT ON COLUMN licenses.starts_at IS
'First instant the license is valid (inclusive).';
COMMENT ON COLUMN licenses.ends_at IS
'Instant the license stops being valid (exclusive); after starts_at.';
COMMENT ON COLUMN licenses.seats IS
'How many people may use the license at once; at least 1.';
COMMENT ON COLUMN licenses.features IS
'JSON object of feature flags and limits granted on top of the plan (e.g. {"cam": true, "max_jobs": 50}); searched with @>.';
COMMENT ON COLUMN licenses.auto_renew IS
'Whether billing renews the license when it ends.';
COMMENT ON COLUMN licenses.cancelled_at IS
'When the license was cancelled; set exactly when status is cancelled.';
COMMENT ON COLUMN licenses.created_at IS 'When the license row was created.';
COMMENT ON COLUMN licenses.updated_at IS
'When the row last changed; kept by trigger trg_licenses_updated_at.';

-- -----------------------------------------------------------------------------
-- Owner and privileges (see 05_roles.sql)
-- -----------------------------------------------------------------------------
ALTER TABLE licenses OWNER TO cadcam_owner;
GRANT SELECT, INSERT, UPDATE ON licenses TO cadcam_app, cadcam_admin;
GRANT SELECT ON licenses TO cadcam_readonly;

-- -----------------------------------------------------------------------------
-- Row-level security (acting user: app_user_id() in 20_functions.sql)
-- -----------------------------------------------------------------------------
-- FORCE makes the owner obey the policies too: functions that run as the
-- owner (SECURITY DEFINER) reach rows only through pol_licenses_owner.
ALTER TABLE licenses ENABLE ROW LEVEL SECURITY;
ALTER TABLE licenses FORCE ROW LEVEL SECURITY;
-- The application sees and changes the acting user's licenses only, and can
-- neither write a row for another user nor move a row to one.
CREATE POLICY pol_licenses_app ON licenses FOR ALL TO cadcam_app
USING (user_id = (SELECT app_user_id()))
WITH CHECK (user_id = (SELECT app_user_id()));
CREATE POLICY pol_licenses_readonly ON licenses FOR SELECT TO cadcam_readonly
USING (TRUE);
CREATE POLICY pol_licenses_admin ON licenses FOR ALL TO cadcam_admin
USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY pol_licenses_owner ON licenses FOR ALL TO cadcam_owner
USING (TRUE) WITH CHECK (TRUE);
