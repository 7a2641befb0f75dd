-- =============================================================================
-- Enum types
-- =============================================================================
-- Values are listed in the order the product defines; enum order is significant to
-- ORDER BY, so new values are appended with ALTER TYPE ... ADD VALUE, never
-- inserted in the middle.

CREATE TYPE user_role AS ENUM ('admin', 'engineer', 'operator', 'viewer');
COMMENT ON TYPE user_role IS
'What a user may do on the platform: admin manages the tenant, engineer designs models and CAM jobs, operator runs machines, viewer only reads.';

CREATE TYPE user_status AS ENUM ('pending', 'active', 'suspended', 'deleted');
COMMENT ON TYPE user_status IS
'Account life cycle: pending until verified, active, suspended by an admin, deleted (soft delete, with users.deleted_at set).';

CREATE TYPE user_locale AS ENUM ('tr', 'en');
COMMENT ON TYPE user_locale IS
'Language of the user interface and of e-mails: Turkish (default) or English.';

CREATE TYPE license_plan AS ENUM (
    'trial', 'starter', 'professional', 'enterprise', 'education'
);
COMMENT ON TYPE license_plan IS
'Commercial plan a license was sold under; it decides the default features and seat count.';

CREATE TYPE license_status AS ENUM (
    'pending', 'active', 'suspended', 'expired', 'cancelled'
);
COMMENT ON TYPE license_status IS
'License life cycle: pending until paid, active, suspended (e.g. unpaid invoice), expired at ends_at, cancelled (with cancelled_at set).';

CREATE TYPE model_type AS ENUM ('part', 'assembly', 'sketch', 'drawing', 'mesh');
COMMENT ON TYPE model_type IS
'Kind of FreeCAD document a model holds.';

CREATE TYPE model_file_format AS ENUM (
    'fcstd', 'step', 'iges', 'stl', 'obj', '3mf', 'dxf', 'brep'
);
COMMENT ON TYPE model_file_format IS
'File format of the stored object: FreeCAD native (fcstd) or an exchange format.';

CREATE TYPE job_type AS ENUM (
    'model_generate',
    'model_import',
    'cam_toolpath',
    'gcode_post',
    'simulation',
    'thumbnail',
    'export'
);
COMMENT ON TYPE job_type IS
'Kind of background work a job asks a worker to do.';

CREATE TYPE job_status AS ENUM (
    'pending',
    'queued',
    'running',
    'succeeded',
    'failed',
    'cancelled',
    'timed_out'
);
COMMENT ON TYPE job_status IS
'Job life cycle: pending, queued for a worker, running, then one finished state (succeeded, failed, cancelled, timed_out).';

-- -----------------------------------------------------------------------------
-- Owner and privileges (see 05_roles.sql)
-- -----------------------------------------------------------------------------
ALTER TYPE user_role OWNER TO cadcam_owner;
ALTER TYPE user_status OWNER TO cadcam_owner;
ALTER TYPE user_locale OWNER TO cadcam_owner;
ALTER TYPE license_plan OWNER TO cadcam_owner;
ALTER TYPE license_status OWNER TO cadcam_owner;
ALTER TYPE model_type OWNER TO cadcam_owner;
ALTER TYPE model_file_format OWNER TO cadcam_owner;
ALTER TYPE job_type OWNER TO cadcam_owner;
ALTER TYPE job_status OWNER TO cadcam_owner;
