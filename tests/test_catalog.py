"""The live catalog of the migrated database is what the product defines
(docs/conventions.md) and the first report of the core tables named:
tables, columns, enum types, constraints,
indexes, foreign keys, triggers, functions and comments.

Expected values are written out here from the spec; the actual values are
read from pg_catalog of a database built by the migrations.
"""

from __future__ import annotations

import psycopg
import pytest

from runner.catalog import Schema, read_schema
from tests.rows import CORE_TABLES

TS = "timestamp with time zone"
# The white space the length checks trim, as pg_get_constraintdef prints it.
WS = "' \t\n\r\f\v'::text"
NOW = "now()"

# table -> [(column, type, not null, default)] in column order.
COLUMNS = {
    "users": [
        ("id", "bigint", True, None),
        ("email", "text", True, None),
        ("phone", "text", False, None),
        ("password_hash", "text", False, None),
        ("role", "user_role", True, "'engineer'::user_role"),
        ("status", "user_status", True, "'pending'::user_status"),
        ("locale", "user_locale", True, "'tr'::user_locale"),
        ("timezone", "text", True, "'Europe/Istanbul'::text"),
        ("tax_no", "text", False, None),
        ("company_name", "text", False, None),
        ("tax_office", "text", False, None),
        ("email_verified_at", TS, False, None),
        ("phone_verified_at", TS, False, None),
        ("last_login_at", TS, False, None),
        ("metadata", "jsonb", True, "'{}'::jsonb"),
        ("created_at", TS, True, NOW),
        ("updated_at", TS, True, NOW),
        ("deleted_at", TS, False, None),
    ],
    "sessions": [
        ("id", "bigint", True, None),
        ("user_id", "bigint", True, None),
        ("refresh_token_hash", "bytea", True, None),
        ("access_token_jti", "uuid", True, None),
        ("device_fingerprint", "text", False, None),
        ("ip_address", "inet", False, None),
        ("user_agent", "text", False, None),
        ("created_at", TS, True, NOW),
        ("last_used_at", TS, True, NOW),
        ("expires_at", TS, True, None),
        ("revoked_at", TS, False, None),
    ],
    "licenses": [
        ("id", "bigint", True, None),
        ("user_id", "bigint", True, None),
        ("plan", "license_plan", True, None),
        ("status", "license_status", True, "'pending'::license_status"),
        ("starts_at", TS, True, None),
        ("ends_at", TS, True, None),
        ("seats", "integer", True, "1"),
        ("features", "jsonb", True, "'{}'::jsonb"),
        ("auto_renew", "boolean", True, "false"),
        ("cancelled_at", TS, False, None),
        ("created_at", TS, True, NOW),
        ("updated_at", TS, True, NOW),
    ],
    "models": [
        ("id", "bigint", True, None),
        ("user_id", "bigint", True, None),
        ("name", "text", True, None),
        ("type", "model_type", True, None),
        ("file_format", "model_file_format", True, None),
        ("storage_key", "text", True, None),
        ("sha256", "bytea", True, None),
        ("file_size", "bigint", True, None),
        ("version", "integer", True, "1"),
        ("parent_model_id", "bigint", False, None),
        ("parent_version", "integer", False, None),
        ("thumbnail_key", "text", False, None),
        ("params", "jsonb", False, None),
        ("metrics", "jsonb", False, None),
        ("created_at", TS, True, NOW),
        ("updated_at", TS, True, NOW),
        ("deleted_at", TS, False, None),
    ],
    "jobs": [
        ("id", "bigint", True, None),
        ("user_id", "bigint", True, None),
        ("model_id", "bigint", False, None),
        ("type", "job_type", True, None),
        ("status", "job_status", True, "'pending'::job_status"),
        ("priority", "smallint", True, "5"),
        ("input_params", "jsonb", False, None),
        ("metrics", "jsonb", False, None),
        ("result", "jsonb", False, None),
        ("idempotency_key", "text", False, None),
        ("celery_task_id", "uuid", False, None),
        ("progress", "smallint", True, "0"),
        ("retry_count", "integer", True, "0"),
        ("max_retries", "integer", True, "3"),
        ("timeout_seconds", "integer", True, "3600"),
        ("error_message", "text", False, None),
        ("created_at", TS, True, NOW),
        ("updated_at", TS, True, NOW),
        ("started_at", TS, False, None),
        ("finished_at", TS, False, None),
    ],
    # Issue 5: the append-only audit trail, partitioned by month of logged_at.
    "audit_log": [
        ("id", "bigint", True, None),
        ("logged_at", TS, True, NOW),
        # Who made the change: stamped by the defaults (the role of SET ROLE,
        # since the writers run as the owner).
        ("acting_user_id", "bigint", False, "app_user_id()"),
        ("db_role", "text", True,
         "\nCASE current_setting('role'::text)\n    WHEN 'none'::text THEN (SESSION_USER)::text"
         "\n    ELSE current_setting('role'::text)\nEND"),
        ("login_role", "text", True, "SESSION_USER"),
        ("table_name", "text", True, None),
        ("row_id", "bigint", True, None),
        ("subject_user_id", "bigint", True, None),
        ("action", "audit_action", True, None),
        ("old_values", "jsonb", False, None),
        ("new_values", "jsonb", False, None),
        ("redacted_columns", "text[]", True, "'{}'::text[]"),
        ("transaction_id", "xid8", True, "pg_current_xact_id()"),
    ],
}

ENUMS = {
    "user_role": ["admin", "engineer", "operator", "viewer"],
    "user_status": ["pending", "active", "suspended", "deleted"],
    "user_locale": ["tr", "en"],
    "license_plan": ["trial", "starter", "professional", "enterprise", "education"],
    "license_status": ["pending", "active", "suspended", "expired", "cancelled"],
    "model_type": ["part", "assembly", "sketch", "drawing", "mesh"],
    "model_file_format": ["fcstd", "step", "iges", "stl", "obj", "3mf", "dxf", "brep"],
    "audit_action": ["insert", "update", "delete", "erase"],
    "job_type": ["model_generate", "model_import", "cam_toolpath", "gcode_post",
                 "simulation", "thumbnail", "export"],
    "job_status": ["pending", "queued", "running", "succeeded", "failed", "cancelled",
                   "timed_out"],
}

# The 14 indexes of the first report of the core tables, names kept exactly:
# name -> (table, method, key columns, partial predicate).
ORIGIN_INDEXES = {
    "idx_users_status": ("users", "btree", ["status"], None),
    "idx_users_role": ("users", "btree", ["role"], None),
    "idx_sessions_user_id": ("sessions", "btree", ["user_id"], None),
    "idx_sessions_device_fingerprint": (
        "sessions", "btree", ["device_fingerprint"], "device_fingerprint IS NOT NULL"),
    "idx_licenses_user_id": ("licenses", "btree", ["user_id"], None),
    "idx_licenses_status_ends_at": ("licenses", "btree", ["status", "ends_at"], None),
    "idx_models_user_id": ("models", "btree", ["user_id"], None),
    "idx_models_type": ("models", "btree", ["type"], None),
    "idx_jobs_status_created_at": ("jobs", "btree", ["status", "created_at"], None),
    "idx_jobs_user_id": ("jobs", "btree", ["user_id"], None),
    "idx_jobs_type": ("jobs", "btree", ["type"], None),
    "gin_models_params": ("models", "gin", ["params"], "params IS NOT NULL"),
    "gin_jobs_metrics": ("jobs", "gin", ["metrics"], "metrics IS NOT NULL"),
    "gin_jobs_input_params": ("jobs", "gin", ["input_params"], "input_params IS NOT NULL"),
}

# Indexes the product adds (and the indexes behind keys): name -> (table, method,
# key columns, predicate, unique).
OTHER_INDEXES = {
    "idx_sessions_expires_at": ("sessions", "btree", ["expires_at"], None, False),
    "idx_jobs_model_id_user_id": ("jobs", "btree", ["model_id", "user_id"], None, False),
    # Issue 6: the claim's index (make bench).
    "idx_jobs_priority_created_at_queued": (
        "jobs", "btree", ["priority", "created_at"], "status = 'queued'::job_status", False),
    # Issue 25: the models of active jobs, which workers see (0037).
    "idx_jobs_model_id_active": (
        "jobs", "btree", ["model_id"],
        "status = ANY (ARRAY['pending'::job_status, 'queued'::job_status, "
        "'running'::job_status])", False),
    "gin_licenses_features": ("licenses", "gin", ["features"], None, False),
    "gin_models_metrics": ("models", "gin", ["metrics"], "metrics IS NOT NULL", False),
    "ex_licenses_active_overlap": (
        "licenses", "gist", ["user_id", "tstzrange(starts_at, ends_at, '[)'::text)"],
        "status = 'active'::license_status", False),
    "pk_users": ("users", "btree", ["id"], None, True),
    "pk_sessions": ("sessions", "btree", ["id"], None, True),
    "pk_licenses": ("licenses", "btree", ["id"], None, True),
    "pk_models": ("models", "btree", ["id"], None, True),
    "pk_jobs": ("jobs", "btree", ["id"], None, True),
    "uq_users_email": ("users", "btree", ["email"], None, True),
    "uq_users_phone": ("users", "btree", ["phone"], None, True),
    "uq_sessions_refresh_token_hash": ("sessions", "btree", ["refresh_token_hash"], None, True),
    "uq_sessions_access_token_jti": ("sessions", "btree", ["access_token_jti"], None, True),
    "uq_models_storage_key": ("models", "btree", ["storage_key"], None, True),
    "uq_models_parent_model_id_user_id_parent_version": (
        "models", "btree", ["parent_model_id", "user_id", "parent_version"], None, True),
    "uq_models_id_user_id": ("models", "btree", ["id", "user_id"], None, True),
    "uq_models_id_user_id_version": (
        "models", "btree", ["id", "user_id", "version"], None, True),
    "uq_jobs_idempotency_key_user_id": ("jobs", "btree", ["idempotency_key", "user_id"], None,
                                        True),
    "uq_jobs_celery_task_id": ("jobs", "btree", ["celery_task_id"], None, True),
    "pk_audit_log": ("audit_log", "btree", ["id", "logged_at"], None, True),
    "idx_audit_log_subject_user_id_logged_at": (
        "audit_log", "btree", ["subject_user_id", "logged_at"], None, False),
    "idx_audit_log_table_name_row_id_logged_at": (
        "audit_log", "btree", ["table_name", "row_id", "logged_at"], None, False),
}

# Foreign keys: name -> (table, columns, definition). All ON DELETE RESTRICT.
FOREIGN_KEYS = {
    "fk_sessions_user_id": ("sessions", ["user_id"],
                            "FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE RESTRICT"),
    "fk_licenses_user_id": ("licenses", ["user_id"],
                            "FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE RESTRICT"),
    "fk_models_user_id": ("models", ["user_id"],
                          "FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE RESTRICT"),
    "fk_models_parent_model_id": (
        "models", ["parent_model_id", "user_id", "parent_version"],
        "FOREIGN KEY (parent_model_id, user_id, parent_version) "
        "REFERENCES models(id, user_id, version) ON DELETE RESTRICT"),
    "fk_jobs_user_id": ("jobs", ["user_id"],
                        "FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE RESTRICT"),
    # Issue 5: a job's model belongs to the job's user.
    "fk_jobs_model_id": ("jobs", ["model_id", "user_id"],
                         "FOREIGN KEY (model_id, user_id) REFERENCES models(id, user_id)"
                         " ON DELETE RESTRICT"),
}

# The e-mail rules fold case without the database's locale (0030): lower()
# under COLLATE "C" maps A-Z only, then U+0130 and U+212A become i and k.
EMAIL_FOLD = """translate(lower((email COLLATE "C")), '\u0130\u212a'::text, 'ik'::text)"""

# CHECK constraints: name -> (table, definition as pg_get_constraintdef prints it).
CHECKS = {
    "ck_users_email_lowercase": (
        "users", "CHECK ((email = " + EMAIL_FOLD + "))"),
    "ck_users_email_length": ("users", "CHECK ((char_length(email) <= 254))"),
    "ck_users_email_format": (
        "users",
        "CHECK ((" + EMAIL_FOLD + " ~ "
        "'^[a-z0-9!#$%&''*+/=?^_`{|}~-]+(\\.[a-z0-9!#$%&''*+/=?^_`{|}~-]+)*"
        "@[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$'::text))"),
    "ck_users_phone_e164": ("users", "CHECK ((phone ~ '^\\+[1-9][0-9]{6,14}$'::text))"),
    "ck_users_phone_verified_has_phone": (
        "users", "CHECK (((phone_verified_at IS NULL) OR (phone IS NOT NULL)))"),
    "ck_users_password_hash_format": (
        "users",
        "CHECK (((password_hash ~ '^\\$argon2id\\$v=19\\$m=[0-9]+,t=[0-9]+,p=[0-9]+"
        "\\$[A-Za-z0-9+/]{11,}\\$[A-Za-z0-9+/]{16,}$'::text) OR (password_hash ~ "
        "'^\\$2[aby]\\$(0[4-9]|[12][0-9]|3[01])\\$[./A-Za-z0-9]{53}$'::text)))"),
    "ck_users_timezone_valid": ("users", "CHECK (is_valid_timezone(timezone))"),
    "ck_users_tax_no_format": ("users", "CHECK ((tax_no ~ '^[0-9]{10,11}$'::text))"),
    "ck_users_tax_no_checksum": (
        "users", "CHECK (((tax_no !~ '^[0-9]{10,11}$'::text) OR is_valid_vkn(tax_no) OR "
        "is_valid_tckn(tax_no)))"),
    "ck_users_company_name_length": (
        "users", f"CHECK (((char_length(btrim(company_name, {WS})) >= 1) AND "
        f"(char_length(btrim(company_name, {WS})) <= 255)))"),
    "ck_users_tax_office_length": (
        "users", f"CHECK (((char_length(btrim(tax_office, {WS})) >= 1) AND "
        f"(char_length(btrim(tax_office, {WS})) <= 100)))"),
    "ck_users_metadata_object": ("users", "CHECK ((jsonb_typeof(metadata) = 'object'::text))"),
    "ck_users_deleted_at_status": (
        "users", "CHECK (((status = 'deleted'::user_status) = (deleted_at IS NOT NULL)))"),
    "ck_sessions_refresh_token_hash_sha256": (
        "sessions", "CHECK ((octet_length(refresh_token_hash) = 32))"),
    "ck_sessions_device_fingerprint_length": (
        "sessions", "CHECK (((char_length(device_fingerprint) >= 1) AND "
        "(char_length(device_fingerprint) <= 512)))"),
    "ck_sessions_ip_address_host": (
        "sessions",
        "CHECK ((masklen(ip_address) =\nCASE family(ip_address)\n    WHEN 4 THEN 32\n"
        "    ELSE 128\nEND))"),
    "ck_sessions_user_agent_length": ("sessions", "CHECK ((char_length(user_agent) <= 1024))"),
    "ck_sessions_expires_after_created": ("sessions", "CHECK ((expires_at > created_at))"),
    "ck_licenses_period_order": ("licenses", "CHECK ((starts_at < ends_at))"),
    "ck_licenses_seats_positive": ("licenses", "CHECK ((seats >= 1))"),
    "ck_licenses_features_object": (
        "licenses", "CHECK ((jsonb_typeof(features) = 'object'::text))"),
    "ck_licenses_cancelled_at_status": (
        "licenses",
        "CHECK (((status = 'cancelled'::license_status) = (cancelled_at IS NOT NULL)))"),
    "ck_models_parent_version_previous": (
        "models", "CHECK ((NOT (parent_version IS DISTINCT FROM (GREATEST(version, 1) - 1))))"),
    "ck_models_name_length": (
        "models",
        f"CHECK (((char_length(btrim(name, {WS})) >= 1) AND "
        f"(char_length(btrim(name, {WS})) <= 255)))"),
    "ck_models_storage_key_length": (
        "models", "CHECK (((octet_length(storage_key) >= 1) AND "
        "(octet_length(storage_key) <= 1024)))"),
    "ck_models_thumbnail_key_length": (
        "models", "CHECK (((octet_length(thumbnail_key) >= 1) AND "
        "(octet_length(thumbnail_key) <= 1024)))"),
    "ck_models_sha256_length": ("models", "CHECK ((octet_length(sha256) = 32))"),
    "ck_models_file_size_positive": ("models", "CHECK ((file_size > 0))"),
    "ck_models_version_positive": ("models", "CHECK ((version >= 1))"),
    "ck_models_root_version": (
        "models", "CHECK (((parent_model_id IS NOT NULL) OR (version = 1)))"),
    "ck_models_params_object": ("models", "CHECK ((jsonb_typeof(params) = 'object'::text))"),
    "ck_models_metrics_object": ("models", "CHECK ((jsonb_typeof(metrics) = 'object'::text))"),
    "ck_jobs_priority_range": ("jobs", "CHECK (((priority >= 0) AND (priority <= 9)))"),
    "ck_jobs_progress_range": ("jobs", "CHECK (((progress >= 0) AND (progress <= 100)))"),
    "ck_jobs_retry_count_nonnegative": ("jobs", "CHECK ((retry_count >= 0))"),
    "ck_jobs_max_retries_nonnegative": ("jobs", "CHECK ((max_retries >= 0))"),
    "ck_jobs_retry_count_within_max": ("jobs", "CHECK ((retry_count <= max_retries))"),
    "ck_jobs_timeout_seconds_positive": ("jobs", "CHECK ((timeout_seconds > 0))"),
    "ck_jobs_idempotency_key_length": (
        "jobs", "CHECK (((char_length(idempotency_key) >= 1) AND "
        "(char_length(idempotency_key) <= 255)))"),
    "ck_jobs_error_message_length": ("jobs", "CHECK ((char_length(error_message) <= 10000))"),
    "ck_jobs_input_params_object": (
        "jobs", "CHECK ((jsonb_typeof(input_params) = 'object'::text))"),
    "ck_jobs_metrics_object": ("jobs", "CHECK ((jsonb_typeof(metrics) = 'object'::text))"),
    "ck_jobs_result_object": ("jobs", "CHECK ((jsonb_typeof(result) = 'object'::text))"),
    "ck_jobs_running_has_started_at": (
        "jobs", "CHECK (((status <> 'running'::job_status) OR (started_at IS NOT NULL)))"),
    "ck_jobs_finished_at_status": (
        "jobs",
        "CHECK (((status = ANY (ARRAY['succeeded'::job_status, 'failed'::job_status, "
        "'cancelled'::job_status, 'timed_out'::job_status])) = (finished_at IS NOT NULL)))"),
    "ck_jobs_succeeded_progress_complete": (
        "jobs", "CHECK (((status <> 'succeeded'::job_status) OR (progress = 100)))"),
    "ck_jobs_finished_not_before_started": ("jobs", "CHECK ((finished_at >= started_at))"),
    "ck_audit_log_table_name": (
        "audit_log",
        "CHECK ((table_name = ANY (ARRAY['users'::text, 'sessions'::text, 'licenses'::text,"
        " 'models'::text, 'jobs'::text])))"),
    "ck_audit_log_old_values_by_action": (
        "audit_log",
        "CHECK (((action = ANY (ARRAY['update'::audit_action, 'delete'::audit_action]))"
        " = (old_values IS NOT NULL)))"),
    "ck_audit_log_new_values_by_action": (
        "audit_log",
        "CHECK (((action = ANY (ARRAY['insert'::audit_action, 'update'::audit_action,"
        " 'erase'::audit_action])) = (new_values IS NOT NULL)))"),
    "ck_audit_log_old_values_object": (
        "audit_log", "CHECK ((jsonb_typeof(old_values) = 'object'::text))"),
    "ck_audit_log_new_values_object": (
        "audit_log", "CHECK ((jsonb_typeof(new_values) = 'object'::text))"),
}

EXCLUSIONS = {
    "ex_licenses_active_overlap": (
        "licenses",
        "EXCLUDE USING gist (user_id WITH =, tstzrange(starts_at, ends_at, '[)'::text) WITH &&)"
        " WHERE ((status = 'active'::license_status))"),
}

TRIGGERS = {
    f"trg_{table}_updated_at": (
        table,
        f"CREATE TRIGGER trg_{table}_updated_at BEFORE UPDATE ON public.{table} "
        "FOR EACH ROW EXECUTE FUNCTION set_updated_at()")
    for table in ("users", "licenses", "models", "jobs")
}
# An ORM relationship built from fk_models_parent_model_id writes
# parent_version; when a client leaves it out, this trigger fills it (0035).
TRIGGERS["trg_models_parent_version"] = (
    "models",
    "CREATE TRIGGER trg_models_parent_version BEFORE INSERT OR UPDATE OF version, "
    "parent_version ON public.models FOR EACH ROW EXECUTE FUNCTION set_models_parent_version()")
# Issue 5: every core table feeds the audit log; secret and quiet columns
# are the trigger's arguments.
AUDIT_ARGUMENTS = {
    "users": "'{password_hash}', '{updated_at}'",
    "sessions": "'{refresh_token_hash,access_token_jti}', '{last_used_at}'",
    "licenses": "'{}', '{updated_at}'",
    "models": "'{}', '{updated_at}'",
    "jobs": "'{}', '{updated_at,progress,metrics}'",
}
# sessions and jobs audit updates through a trigger of their own that skips
# updates of quiet columns alone: sessions' by a WHEN clause, jobs' by UPDATE
# OF the other columns, with a function of its own (test_audit_log.py reads
# both lists).
WHEN_SPLIT = ("sessions", "jobs")
TRIGGERS.update({
    f"trg_{table}_audit": (
        table,
        f"CREATE TRIGGER trg_{table}_audit AFTER INSERT OR DELETE"
        f"{'' if table in WHEN_SPLIT else ' OR UPDATE'} ON public.{table} "
        f"FOR EACH ROW EXECUTE FUNCTION audit_row_change({arguments})")
    for table, arguments in AUDIT_ARGUMENTS.items()
})

VALIDATORS = ["is_valid_tckn(text)", "is_valid_vkn(text)", "is_valid_timezone(text)"]
# Issue 5: functions that run as the owner, so that callers need only EXECUTE.
SECURITY_DEFINERS = [
    "audit_row_change()", "audit_jobs_update()", "create_audit_partitions(integer)",
    "drop_audit_partitions(integer)",
    "erase_user(bigint)", "purge_sessions(integer)",
    "register_user(text,text,text,user_locale,text)", "session_for_refresh(bytea)",
    "user_for_login(text)",
]
FUNCTIONS = [*VALIDATORS, "set_updated_at()", "set_models_parent_version()",
             "set_acting_user(bigint)", "app_user_id()",
             *SECURITY_DEFINERS]


@pytest.fixture(scope="module")
def schema(migrated_proc) -> Schema:
    """The catalog of the migrated template, read once for the module."""
    with psycopg.connect(host=migrated_proc.host, port=migrated_proc.port,
                         user=migrated_proc.user, dbname=migrated_proc.template_dbname) as conn:
        return read_schema(conn)


def all_of(schema: Schema, kind: str) -> list:
    """Every object of one kind (columns, constraints, foreign_keys, indexes,
    triggers) of every table."""
    return [obj for table in schema.tables.values() for obj in getattr(table, kind)]


def test_exactly_the_core_tables_and_the_audit_log(schema):
    assert sorted(schema.tables) == sorted(COLUMNS)


@pytest.mark.parametrize("table", COLUMNS)
def test_columns_types_nullability_defaults(schema, table):
    actual = [(c.name, c.type, c.not_null, c.default) for c in schema.tables[table].columns]
    assert actual == COLUMNS[table]


@pytest.mark.parametrize("table", COLUMNS)
def test_id_is_generated_always_as_identity(schema, table):
    columns = schema.tables[table].columns
    assert schema.tables[table].column("id").identity == "a"
    assert [c.name for c in columns if c.identity] == ["id"]


def test_no_column_is_generated_so_every_key_column_can_be_written(schema):
    """models.parent_version was GENERATED ALWAYS until 0035: an ORM
    relationship built from its foreign key could not write it."""
    generated = {(c.table, c.name): c.generated for c in all_of(schema, "columns") if c.generated}
    assert generated == {}


def test_enum_types_and_values_in_order(schema):
    assert {e.name: list(e.values) for e in schema.enums} == ENUMS


@pytest.mark.parametrize("name", ORIGIN_INDEXES)
def test_origin_document_index(schema, name):
    indexes = {ix.name: ix for ix in all_of(schema, "indexes")}
    assert name in indexes, f"index {name} of the first report is missing"
    ix = indexes[name]
    assert (ix.table, ix.method, list(ix.keys), ix.predicate) == ORIGIN_INDEXES[name]


def test_no_index_beyond_the_declared_ones(schema):
    actual = {ix.name: (ix.table, ix.method, list(ix.keys), ix.predicate, ix.unique)
              for ix in all_of(schema, "indexes")}
    expected = {name: (*spec, False) for name, spec in ORIGIN_INDEXES.items()}
    expected.update(OTHER_INDEXES)
    assert actual == expected


def test_constraints_kinds_and_definitions(schema):
    actual = {c.name: (c.table, c.kind, c.definition)
              for c in all_of(schema, "constraints") + all_of(schema, "foreign_keys")}
    expected = {name: (table, "c", d) for name, (table, d) in CHECKS.items()}
    expected.update({name: (table, "f", d) for name, (table, _, d) in FOREIGN_KEYS.items()})
    expected.update({name: (table, "x", d) for name, (table, d) in EXCLUSIONS.items()})
    for table in CORE_TABLES:
        expected[f"pk_{table}"] = (table, "p", "PRIMARY KEY (id)")
    # A partitioned table's key must include its partition key.
    expected["pk_audit_log"] = ("audit_log", "p", "PRIMARY KEY (id, logged_at)")
    for name, (table, _, columns, _, unique) in OTHER_INDEXES.items():
        if unique and name.startswith("uq_"):
            expected[name] = (table, "u", f"UNIQUE ({', '.join(columns)})")
    assert actual == expected


def test_every_foreign_key_restricts_delete(schema):
    fks = [(fk.name, fk.on_delete) for fk in schema.foreign_keys]
    assert sorted(fks) == sorted((name, "r") for name in FOREIGN_KEYS)


def test_every_foreign_key_has_the_columns_the_spec_gives(schema):
    assert {fk.name: (fk.table, list(fk.columns)) for fk in schema.foreign_keys} == {
        name: (table, columns) for name, (table, columns, _) in FOREIGN_KEYS.items()}


def test_every_foreign_key_has_an_index_leading_with_its_column(schema):
    for fk in schema.foreign_keys:
        leading = {ix.columns[0] for ix in schema.tables[fk.table].indexes}
        assert fk.columns[0] in leading, f"{fk.name}: no index leads with {fk.columns[0]}"


def test_triggers(schema):
    actual = {tg.name: (tg.table, tg.definition) for tg in all_of(schema, "triggers")}
    # The column lists are read by test_audit_log.py.
    _, sessions = actual.pop("trg_sessions_audit_update", (None, ""))
    assert sessions.startswith("CREATE TRIGGER trg_sessions_audit_update AFTER UPDATE ON"
                               " public.sessions FOR EACH ROW WHEN ")
    assert sessions.endswith(
        f"EXECUTE FUNCTION audit_row_change({AUDIT_ARGUMENTS['sessions']})")
    _, jobs = actual.pop("trg_jobs_audit_update", (None, ""))
    assert jobs.startswith("CREATE TRIGGER trg_jobs_audit_update AFTER UPDATE OF id, ")
    assert jobs.endswith(" ON public.jobs FOR EACH ROW EXECUTE FUNCTION audit_jobs_update()")
    assert actual == TRIGGERS


def test_functions_pin_search_path_and_only_the_declared_ones_are_security_definer(schema):
    functions = schema.functions
    assert sorted(functions) == sorted(FUNCTIONS)
    for name in VALIDATORS:
        f = functions[name]
        assert (f.volatility, f.strict, f.security_definer) == ("i", True, False), name
    for name, f in functions.items():
        assert "search_path=pg_catalog, pg_temp" in f.config, name
        assert f.security_definer is (name in SECURITY_DEFINERS), name


def test_app_user_id_is_stable_so_policies_evaluate_it_once(schema):
    f = schema.functions["app_user_id()"]
    assert (f.volatility, f.strict, f.security_definer) == ("s", False, False)


@pytest.mark.parametrize("name", ["create_audit_partitions(integer)",
                                  "drop_audit_partitions(integer)"])
def test_partition_maintenance_works_in_utc_and_waits_for_locks_briefly(schema, name):
    config = schema.functions[name].config
    assert "TimeZone=UTC" in config and "lock_timeout=5s" in config


def test_checksum_algorithms_are_in_the_function_comments(schema):
    tckn = schema.functions["is_valid_tckn(text)"].comment
    vkn = schema.functions["is_valid_vkn(text)"].comment
    assert "Algorithm" in tckn and "mod 10" in tckn
    assert "Algorithm" in vkn and "mod 9" in vkn


def test_every_table_column_type_and_function_has_a_comment(schema):
    missing = [f"table {t.name}" for t in schema.tables.values() if not t.comment]
    missing += [f"column {c.table}.{c.name}" for c in all_of(schema, "columns") if not c.comment]
    missing += [f"type {t.name}" for t in schema.types.values() if not t.comment]
    missing += [f"function {f.identity}" for f in schema.functions.values() if not f.comment]
    assert missing == []


def test_jobs_leave_room_for_hot_updates(schema):
    assert schema.tables["jobs"].options == ("fillfactor=70",)


# Only the two functions that are the mechanism may speak of app.user_id;
# every other comment that tells the application to act for a user names
# set_acting_user(), the one way that app_user_id() accepts.
MECHANISM = {"set_acting_user(bigint)", "app_user_id()"}


def test_every_comment_names_set_acting_user_as_the_one_way(schema):
    comments = {f"function {name}": f.comment for name, f in schema.functions.items()
                if name not in MECHANISM}
    comments.update({f"table {name}": t.comment for name, t in schema.tables.items()})
    comments.update({f"column {c.table}.{c.name}": c.comment
                     for c in all_of(schema, "columns")})
    assert [where for where, text in comments.items() if "app.user_id" in (text or "")] == []
    tell = [where for where, text in comments.items() if "set_acting_user()" in (text or "")]
    assert {"function register_user(text,text,text,user_locale,text)",
            "function user_for_login(text)", "function session_for_refresh(bytea)"} <= set(tell)


# Issue 25: the functions behind the busiest calls keep their statements'
# plans (PL/pgSQL), since a SECURITY DEFINER LANGUAGE sql function is never
# inlined and plans its statement in every call (0038).
CACHED_PLANS = {"session_for_refresh(bytea)": "plpgsql"}


@pytest.mark.parametrize(("function", "language"), CACHED_PLANS.items())
def test_hot_security_definer_function_caches_its_plan(schema, function, language):
    assert schema.functions[function].language == language
