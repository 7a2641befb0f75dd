-- =============================================================================
-- users: people who sign in to the platform
-- =============================================================================
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY,
    email text NOT NULL,
    phone text,
    password_hash text,
    role user_role NOT NULL DEFAULT 'engineer',
    status user_status NOT NULL DEFAULT 'pending',
    locale user_locale NOT NULL DEFAULT 'tr',
    timezone text NOT NULL DEFAULT 'Europe/Istanbul',
    tax_no text,
    company_name text,
    tax_office text,
    email_verified_at timestamptz,
    phone_verified_at timestamptz,
    last_login_at timestamptz,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,

    CONSTRAINT pk_users PRIMARY KEY (id),
    CONSTRAINT uq_users_email UNIQUE (email),
    CONSTRAINT uq_users_phone UNIQUE (phone),

    -- email: stored lower-case so that the unique constraint is
    -- case-insensitive. The format check looks at the address with its case
    -- folded, so that an upper-case address (also Turkish İ) is reported by
    -- the lower-case rule alone. Folding never goes through the database's
    -- locale (in Turkish lower('I') is 'ı', which the format refuses):
    -- lower() under COLLATE "C" maps A-Z only, then the two capitals whose
    -- small letter is ASCII, U+0130 (İ) and U+212A (the Kelvin sign), become
    -- i and k (0030). Format: RFC 5322 dot-atom local part (no leading,
    -- trailing or double dot), then a domain of at least two labels of
    -- letters, digits and inner hyphens.
    CONSTRAINT ck_users_email_lowercase CHECK (
        email = translate(lower(email COLLATE "C"), U&'\0130\212A', 'ik')
    ),
    CONSTRAINT ck_users_email_length CHECK (char_length(email) <= 254),
    CONSTRAINT ck_users_email_format CHECK (
        translate(lower(email COLLATE "C"), U&'\0130\212A', 'ik') ~ '^[a-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&''*+/=?^_`{|}~-]+)*@[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$'  -- noqa: LT05
    ),
    CONSTRAINT ck_users_phone_e164 CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    CONSTRAINT ck_users_phone_verified_has_phone CHECK (
        phone_verified_at IS NULL OR phone IS NOT NULL
    ),
    CONSTRAINT ck_users_password_hash_format CHECK (
        password_hash ~ '^\$argon2id\$v=19\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{16,}$'  -- noqa: LT05
        OR password_hash ~ '^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$'
    ),
    CONSTRAINT ck_users_timezone_valid CHECK (is_valid_timezone(timezone)),
    CONSTRAINT ck_users_tax_no_format CHECK (tax_no ~ '^[0-9]{10,11}$'),
    -- Only numbers of the right shape are checksummed: constraints are
    -- checked in name order, and a misshaped number must be reported by
    -- ck_users_tax_no_format, not by this rule.
    CONSTRAINT ck_users_tax_no_checksum CHECK (
        tax_no !~ '^[0-9]{10,11}$'
        OR is_valid_vkn(tax_no)
        OR is_valid_tckn(tax_no)
    ),
    -- Lengths count what is left after trimming all ASCII white space, so a
    -- name of only spaces, tabs or newlines is as empty as ''. The vertical
    -- tab is written \x0b: \v is an escape only from PostgreSQL 17 on, and
    -- 15 and 16 would trim the letter v (fixed by migration 0026).
    CONSTRAINT ck_users_company_name_length CHECK (
        char_length(btrim(company_name, E' \t\n\r\f\x0b')) BETWEEN 1 AND 255
    ),
    CONSTRAINT ck_users_tax_office_length CHECK (
        char_length(btrim(tax_office, E' \t\n\r\f\x0b')) BETWEEN 1 AND 100
    ),
    CONSTRAINT ck_users_metadata_object CHECK (
        jsonb_typeof(metadata) = 'object'
    ),
    -- Soft delete: deleted_at is set exactly when the status is deleted.
    -- No rule orders updated_at or deleted_at after created_at: they are
    -- written by later transactions, whose now() is their start and may lie
    -- before a row they see committed (READ COMMITTED), or by clients whose
    -- clocks differ from the server's (0023_concurrent_time_rules).
    CONSTRAINT ck_users_deleted_at_status CHECK (
        (status = 'deleted') = (deleted_at IS NOT NULL)
    )
);

CREATE INDEX idx_users_role ON users (role);
CREATE INDEX idx_users_status ON users (status);

CREATE TRIGGER trg_users_updated_at
BEFORE UPDATE ON users
FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE users IS
'People who sign in to the platform, one row per account; rows are never deleted while anything refers to them (soft delete via status and deleted_at).';
COMMENT ON COLUMN users.id IS 'Surrogate key.';
COMMENT ON COLUMN users.email IS
'Sign-in address, unique, stored lower-case (the application lower-cases it; upper case is rejected, not fixed), at most 254 characters (RFC 5321), ASCII only: IDN domains in punycode.';
COMMENT ON COLUMN users.phone IS
'Mobile number in E.164 form (+905321234567), unique when present; used for SMS verification.';
COMMENT ON COLUMN users.password_hash IS
'argon2id (PHC string, v=19) or bcrypt ($2a$/$2b$/$2y$) hash of the password; NULL for users who sign in only through SSO. Secret: never select it outside authentication.';
COMMENT ON COLUMN users.role IS 'What the user may do; see type user_role.';
COMMENT ON COLUMN users.status IS
'Account life cycle; see type user_status. deleted goes with deleted_at.';
COMMENT ON COLUMN users.locale IS 'Language of the interface and e-mails.';
COMMENT ON COLUMN users.timezone IS
'IANA time zone used to show times to the user, canonical spelling (Europe/Istanbul).';
COMMENT ON COLUMN users.tax_no IS
'Turkish tax identity for invoices (e-Fatura): a VKN of 10 digits for companies or a TCKN of 11 digits for individuals, checksum verified.';
COMMENT ON COLUMN users.company_name IS
'Legal company name printed on invoices, 1 to 255 characters.';
COMMENT ON COLUMN users.tax_office IS
'Tax office (vergi dairesi) that holds the tax number, 1 to 100 characters.';
COMMENT ON COLUMN users.email_verified_at IS
'When the user proved they own the e-mail address; NULL until then.';
COMMENT ON COLUMN users.phone_verified_at IS
'When the user proved they own the phone number; NULL until then, and only with a phone.';
COMMENT ON COLUMN users.last_login_at IS 'Time of the latest successful sign-in.';
COMMENT ON COLUMN users.metadata IS
'Free-form JSON object of application settings (onboarding state, UI preferences); never personal data that must be erased separately.';
COMMENT ON COLUMN users.created_at IS 'When the account was created.';
COMMENT ON COLUMN users.updated_at IS
'When the row last changed; kept by trigger trg_users_updated_at.';
COMMENT ON COLUMN users.deleted_at IS
'When the account was soft-deleted; set exactly when status is deleted.';

-- -----------------------------------------------------------------------------
-- Owner and privileges (see 05_roles.sql)
-- -----------------------------------------------------------------------------
ALTER TABLE users OWNER TO cadcam_owner;
-- No DELETE: accounts are soft-deleted (status deleted, deleted_at).
-- The application makes accounts through register_user() only, so that it
-- cannot pick an id, a role or a status; it may change what a user changes
-- about themselves, never their role (an operator's decision) or the keys
-- and times the database keeps.
GRANT SELECT, INSERT, UPDATE ON users TO cadcam_admin;
GRANT SELECT, UPDATE (
    email, phone, password_hash, status, locale, timezone, tax_no,
    company_name, tax_office, email_verified_at, phone_verified_at,
    last_login_at, metadata, deleted_at
) ON users TO cadcam_app;
-- Analysts read every column but the password hash. A column added later is
-- not readable until it is granted here too: secrets stay closed by default.
GRANT SELECT (
    id, email, phone, role, status, locale, timezone, tax_no, company_name,
    tax_office, email_verified_at, phone_verified_at, last_login_at, metadata,
    created_at, updated_at, deleted_at
) ON users TO cadcam_readonly;

-- -----------------------------------------------------------------------------
-- Row-level security (acting user: app_user_id() in 20_functions.sql)
-- -----------------------------------------------------------------------------
-- FORCE makes the owner obey the policies too: functions that run as the
-- owner (SECURITY DEFINER) reach rows only through pol_users_owner.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
-- The application sees and changes the acting user's own account only. An
-- account is made by register_user() (85_accounts.sql): before sign-up
-- there is no acting user whose id the new row could match.
CREATE POLICY pol_users_app ON users FOR ALL TO cadcam_app
USING (id = (SELECT app_user_id()))
WITH CHECK (id = (SELECT app_user_id()));
CREATE POLICY pol_users_readonly ON users FOR SELECT TO cadcam_readonly
USING (TRUE);
CREATE POLICY pol_users_admin ON users FOR ALL TO cadcam_admin
USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY pol_users_owner ON users FOR ALL TO cadcam_owner
USING (TRUE) WITH CHECK (TRUE);
