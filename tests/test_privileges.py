"""Roles and privileges: the five NOLOGIN group roles, ownership by
cadcam_owner, a schema closed to PUBLIC, and what each role may and may not do.

The catalog tests read pg_roles, pg_class, pg_proc, pg_type, pg_namespace and
pg_default_acl. The behaviour tests create rows as the superuser, then run
statements as the real role (SET ROLE) and expect success, or SQLSTATE 42501
(insufficient_privilege). The application acts for one user at a time
(`as_app`: set_acting_user(), see test_row_security.py for the rules of
row-level security itself). A role with no grants at all is made per test with
a unique name (roles belong to the whole cluster) and dropped afterwards.
"""

from __future__ import annotations

import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from runner.catalog import YOYO_TABLES, Schema, read_schema
from tests import differences, rows
from tests.roles import (
    CORE_TABLES,
    ROLES,
    as_app,
    as_role,
    as_session_user,
    denied,
    run,
    scalar,
    temporary_role,
)

NON_OWNER_ROLES = ROLES[1:]
AUDIT_RELATIONS = {"audit_log", "audit_log_default"}
RUNNER_TABLES = [("schema_runner", "applied_files"), ("schema_runner", "environment")]
TOOL_TABLES = [("public", t) for t in YOYO_TABLES] + RUNNER_TABLES
VALIDATORS = ["is_valid_tckn", "is_valid_vkn", "is_valid_timezone"]
SECRET_COLUMNS = {
    "users": ["password_hash"],
    "sessions": ["refresh_token_hash", "access_token_jti"],
}
SECRETS = [(t, c) for t, cols in SECRET_COLUMNS.items() for c in cols]

PUBLIC_GRANTS = "SELECT count(*) FROM aclexplode(%s) WHERE grantee = 0"


@pytest.fixture
def nobody(db):
    """A role with no grants at all."""
    with temporary_role(db, "nobody_test", "NOLOGIN") as name:
        yield name


@pytest.fixture
def nobody_in_schema(db, nobody):
    """The no-grant role with USAGE on schema public only, so that a failure is
    the object's own privilege and not the schema's."""
    db.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(nobody)))
    return nobody


# ----------------------------------------------------------------------------- catalog

@pytest.mark.parametrize("role", ROLES)
def test_role_is_a_powerless_group_role(db, role):
    attrs = db.execute(
        "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication"
        " FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    assert attrs == (False,) * 6


@pytest.mark.parametrize("role", ROLES)
def test_role_is_a_member_of_nothing(db, role):
    granted = db.execute(
        "SELECT roleid::regrole::text FROM pg_auth_members WHERE member = %s::regrole",
        (role,)).fetchall()
    assert granted == []


@pytest.fixture
def schema(db) -> Schema:
    """The project's objects, as the catalog model reads them (runner/catalog)."""
    return read_schema(db)


def test_project_relations_are_owned_by_cadcam_owner(schema):
    relations = schema.relations.values()
    tables = {r.name for r in relations if r.kind in ("r", "p")}
    months = {r.name for r in relations if r.partition_of == "audit_log"} - {"audit_log_default"}
    assert len(months) == 4  # this month and three ahead, made by the migration
    assert all(name.startswith("audit_log_y") for name in months)
    assert tables - months == set(CORE_TABLES) | AUDIT_RELATIONS
    assert {r.name for r in relations if r.kind == "S"} == {
        f"{t}_id_seq" for t in [*CORE_TABLES, "audit_log"]}
    assert [(r.name, r.owner) for r in relations if r.owner != "cadcam_owner"] == []


def test_project_functions_are_owned_by_cadcam_owner(schema):
    assert set(schema.functions) >= {f"{f}(text)" for f in VALIDATORS} | {"set_updated_at()"}
    assert [(f.identity, f.owner) for f in schema.functions.values()
            if f.owner != "cadcam_owner"] == []


def test_project_types_are_owned_by_cadcam_owner(schema):
    """Declared types; a table's row type and an array type always have the
    owner of their table or element type, which the relations test checks."""
    assert {t.name for t in schema.enums} >= {
        "user_role", "user_status", "user_locale", "license_plan", "license_status",
        "model_type", "model_file_format", "job_type", "job_status"}
    assert [(t.name, t.owner) for t in schema.types.values() if t.owner != "cadcam_owner"] == []


@pytest.mark.parametrize("schema", ["public", "schema_runner"])
def test_public_has_no_privilege_on_schema(db, schema):
    acl = scalar(db, "SELECT coalesce(nspacl, acldefault('n', nspowner))"
                     " FROM pg_namespace WHERE nspname = %s", (schema,))
    assert scalar(db, PUBLIC_GRANTS, (acl,)) == 0


def test_public_has_no_privilege_on_any_table_or_sequence(db):
    acls = db.execute(
        "SELECT n.nspname || '.' || c.relname,"
        " coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::\"char\","
        " c.relowner))"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname IN ('public', 'schema_runner')"
        " AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')").fetchall()
    assert len(acls) >= len(CORE_TABLES) * 2 + len(YOYO_TABLES) + len(RUNNER_TABLES)
    assert [name for name, acl in acls if scalar(db, PUBLIC_GRANTS, (acl,))] == []


def test_public_cannot_execute_project_functions(schema):
    """A function never granted anything keeps PUBLIC's default EXECUTE: the
    model shows it as a grant to PUBLIC, which none may have."""
    assert [f.identity for f in schema.functions.values()
            if any(g.grantee == "PUBLIC" for g in f.grants)] == []


def test_default_privileges_revoke_execute_from_public(db):
    acl = db.execute(
        "SELECT defaclacl FROM pg_default_acl WHERE defaclrole = 'cadcam_owner'::regrole"
        " AND defaclobjtype = 'f' AND defaclnamespace = 0").fetchone()
    assert acl is not None, "no default privileges for functions of cadcam_owner"
    assert scalar(db, PUBLIC_GRANTS, (acl[0],)) == 0
    assert scalar(db, "SELECT count(*) FROM pg_default_acl, aclexplode(defaclacl) a"
                      " WHERE defaclrole = 'cadcam_owner'::regrole AND a.grantee = 0") == 0


@pytest.mark.parametrize("role", NON_OWNER_ROLES)
def test_role_cannot_act_as_owner(db, role):
    assert scalar(db, "SELECT pg_has_role(%s, 'cadcam_owner', 'MEMBER')", (role,)) is False


# ----------------------------------------------------------------------------- no grants

def test_no_grant_role_cannot_use_schema(db, nobody):
    held = scalar(db, "SELECT has_schema_privilege(%s, 'public', 'USAGE, CREATE')", (nobody,))
    assert held is False
    with as_role(db, nobody), denied("schema public"):
        db.execute("SELECT 1 FROM public.users")
    with as_role(db, nobody), denied("schema public"):
        db.execute("CREATE TABLE public.nobody_table (id int)")


def test_no_grant_role_has_no_privilege_on_any_relation(db, nobody):
    held = db.execute(
        "SELECT c.oid::regclass::text FROM pg_class c"
        " WHERE c.relnamespace IN ('public'::regnamespace, 'schema_runner'::regnamespace)"
        " AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
        " AND has_table_privilege(%s, c.oid, %s)",
        (nobody, ", ".join(differences.table_privileges(db)))).fetchall()
    assert held == []


@pytest.mark.parametrize("name", CORE_TABLES + list(YOYO_TABLES))
def test_no_grant_role_cannot_select_table(db, nobody_in_schema, name):
    with as_role(db, nobody_in_schema), denied(f"table {name}"):
        run(db, "SELECT * FROM {}", name)


@pytest.mark.parametrize("function", VALIDATORS)
def test_no_grant_role_cannot_execute_validator(db, nobody_in_schema, function):
    assert scalar(db, "SELECT has_function_privilege(%s, %s, 'EXECUTE')",
                  (nobody_in_schema, f"public.{function}(text)")) is False
    with as_role(db, nobody_in_schema), denied(f"function {function}"):
        db.execute(sql.SQL("SELECT public.{}('x')").format(sql.Identifier(function)))


def test_no_grant_role_cannot_execute_without_schema(db, nobody):
    with as_role(db, nobody), denied("schema public"):
        db.execute("SELECT public.is_valid_tckn(%s)", (rows.VALID_TCKN,))


# ----------------------------------------------------------------------------- cadcam_app

@pytest.mark.parametrize("tax_no", [rows.VALID_TCKN, rows.VALID_VKN])
def test_app_signs_up_and_writes_through_checks_and_identity(db, tax_no):
    with as_role(db, "cadcam_app"):
        user_id = scalar(db, "SELECT register_user(%s, %s, timezone => 'Europe/Berlin')",
                         ("kayit@example.com.tr", rows.ARGON2ID_HASH))
    with as_app(db, user_id):
        db.execute("UPDATE users SET tax_no = %s WHERE id = %s", (tax_no, user_id))
        row = rows.fetch("users", db, user_id)
    assert (row["tax_no"], row["timezone"]) == (tax_no, "Europe/Berlin")
    assert scalar(db, "SELECT has_sequence_privilege('cadcam_app', 'users_id_seq',"
                      " 'USAGE, SELECT, UPDATE')") is False


@pytest.mark.parametrize(("column", "value", "constraint"), [
    ("tax_no", rows.VALID_TCKN[:-1] + "1", "ck_users_tax_no_checksum"),
    ("timezone", "Europe/Atlantis", "ck_users_timezone_valid"),
])
def test_app_writes_are_checked_by_validators(db, column, value, constraint):
    user_id = rows.user(db)
    with rows.violates(constraint), as_app(db, user_id):
        run(db, f"UPDATE {{}} SET {column} = %s WHERE id = %s", "users", params=(value, user_id))


@pytest.mark.parametrize("name", CORE_TABLES[1:])
def test_app_inserts_and_selects(db, name):
    user_id = rows.user(db)
    with as_app(db, user_id):
        row_id = rows.BUILDERS[name](db, user_id)
        assert rows.fetch(name, db, row_id)["id"] == row_id


def test_app_cannot_insert_a_user_directly(db):
    """Sign-up goes through register_user(): the app has no INSERT on users."""
    with denied("table users"), as_app(db, rows.user(db)):
        rows.user(db)


@pytest.mark.parametrize(("name", "column", "value"), [
    ("users", "company_name", "Anadolu Kalıp A.Ş."),
    ("sessions", "user_agent", "FreeCAD/1.0"),
    ("licenses", "auto_renew", True),
    ("models", "name", "Flanş yeni"),
    ("jobs", "priority", 7),
])
def test_app_updates(db, name, column, value):
    row_id = rows.BUILDERS[name](db)
    with as_app(db, rows.owner_of(db, name, row_id)):
        cur = run(db, f"UPDATE {{}} SET {column} = %s WHERE id = %s", name, params=(value, row_id))
        assert cur.rowcount == 1
        assert rows.fetch(name, db, row_id)[column] == value


def test_app_deletes_session(db):
    session_id = rows.session(db)
    with as_app(db, rows.owner_of(db, "sessions", session_id)):
        assert db.execute("DELETE FROM sessions WHERE id = %s", (session_id,)).rowcount == 1
    assert rows.fetch("sessions", db, session_id) is None


@pytest.mark.parametrize("name", ["users", "licenses", "models", "jobs"])
def test_app_cannot_delete(db, name):
    row_id = rows.BUILDERS[name](db)
    with denied(f"table {name}"), as_app(db, rows.owner_of(db, name, row_id)):
        run(db, "DELETE FROM {} WHERE id = %s", name, params=(row_id,))
    assert rows.fetch(name, db, row_id) is not None


@pytest.mark.parametrize("name", CORE_TABLES)
def test_app_cannot_truncate(db, name):
    with as_role(db, "cadcam_app"), denied(f"table {name}"):
        run(db, "TRUNCATE {} CASCADE", name)


@pytest.mark.parametrize(("statement", "message"), [
    ("CREATE TABLE public.app_table (id int)", "schema public"),
    ("CREATE FUNCTION public.app_f() RETURNS int LANGUAGE sql RETURN 1", "schema public"),
    ("CREATE TYPE public.app_type AS ENUM ('a')", "schema public"),
    ("ALTER TABLE users ADD COLUMN app_column text", "must be owner of table users"),
    ("ALTER TABLE users ALTER COLUMN email DROP NOT NULL", "must be owner of table users"),
    ("ALTER TABLE users DROP CONSTRAINT ck_users_email_format", "must be owner of table users"),
    ("ALTER TABLE users OWNER TO cadcam_app", "must be owner of table users"),
    ("DROP TABLE jobs", "must be owner of table jobs"),
    ("CREATE INDEX ON users (phone)", "must be owner of table users"),
    ("ALTER TABLE users DISABLE ROW LEVEL SECURITY", "must be owner of table users"),
    ("ALTER TABLE users DISABLE TRIGGER trg_users_updated_at", "must be owner of table users"),
    ("CREATE TRIGGER app_trg BEFORE UPDATE ON users FOR EACH ROW"
     " EXECUTE FUNCTION set_updated_at()", "table users"),
    ("ALTER FUNCTION is_valid_tckn(text) OWNER TO cadcam_app", "must be owner of function"),
    ("CREATE OR REPLACE FUNCTION public.is_valid_tckn(tckn text) RETURNS boolean"
     " LANGUAGE sql RETURN true", "schema public"),
    ("GRANT SELECT ON _yoyo_migration TO cadcam_app", "table _yoyo_migration"),
])
def test_app_cannot_run_ddl(db, statement, message):
    with as_role(db, "cadcam_app"), denied(message):
        db.execute(statement)


def test_app_grant_on_table_grants_nothing(db):
    notices = []
    db.add_notice_handler(lambda n: notices.append((n.severity_nonlocalized, n.sqlstate)))
    with as_role(db, "cadcam_app"):
        db.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON users TO cadcam_auditor")
    assert notices == [("WARNING", "01007")]
    assert scalar(db, "SELECT has_table_privilege('cadcam_auditor', 'users',"
                      " 'SELECT, INSERT, UPDATE, DELETE')") is False


@pytest.mark.parametrize("role", NON_OWNER_ROLES)
def test_role_cannot_set_role_owner(db, role):
    with as_session_user(db, role), denied('permission denied to set role "cadcam_owner"'):
        db.execute("SET ROLE cadcam_owner")


@pytest.mark.parametrize("name", TOOL_TABLES, ids="{0[0]}.{0[1]}".format)
@pytest.mark.parametrize("statement", [
    "SELECT * FROM {}", "INSERT INTO {} DEFAULT VALUES", "DELETE FROM {}",
])
def test_app_cannot_touch_tool_tables(db, name, statement):
    with as_role(db, "cadcam_app"), denied():
        run(db, statement, name)


# ----------------------------------------------------------------------------- cadcam_worker

def test_worker_claims_job(db):
    job_id = rows.job(db)
    with as_role(db, "cadcam_worker"):
        cur = db.execute(
            "UPDATE jobs SET status = 'running', started_at = now(), progress = 5"
            " WHERE id = %s AND status = 'pending' RETURNING status, progress", (job_id,))
        assert cur.fetchall() == [("running", 5)]
        assert rows.fetch("jobs", db, job_id)["started_at"] is not None


def test_worker_reads_model_and_writes_back_results(db):
    model_id = rows.model(db)
    rows.job(db, rows.owner_of(db, "models", model_id), model_id=model_id)  # a job to process it
    with as_role(db, "cadcam_worker"):
        cur = db.execute("UPDATE models SET thumbnail_key = %s, metrics = %s WHERE id = %s",
                         ("thumbnails/1.png", Jsonb({"volume_mm3": 12.5}), model_id))
        assert cur.rowcount == 1
        row = rows.fetch("models", db, model_id)
    assert (row["thumbnail_key"], row["metrics"]) == ("thumbnails/1.png", {"volume_mm3": 12.5})


@pytest.mark.parametrize("column", ["name", "storage_key", "sha256", "user_id", "deleted_at"])
def test_worker_cannot_update_other_model_columns(db, column):
    model_id = rows.model(db)
    with as_role(db, "cadcam_worker"), denied("table models"):
        db.execute(sql.SQL("UPDATE models SET {0} = {0} WHERE id = %s").format(
            sql.Identifier(column)), (model_id,))


def test_worker_reports_a_finished_job(db):
    job_id = rows.job(db)
    with as_role(db, "cadcam_worker"):
        db.execute(
            "UPDATE jobs SET status = 'succeeded', progress = 100, started_at = now(),"
            " finished_at = now(), result = %s, metrics = %s, celery_task_id = gen_random_uuid(),"
            " retry_count = 1, error_message = NULL WHERE id = %s",
            (Jsonb({"gcode_key": "out/1.nc"}), Jsonb({"seconds": 3.5}), job_id))
    assert rows.fetch("jobs", db, job_id)["status"] == "succeeded"


@pytest.mark.parametrize("column", ["user_id", "model_id", "type", "priority", "input_params",
                                    "idempotency_key", "max_retries", "timeout_seconds",
                                    "created_at"])
def test_worker_cannot_change_what_a_job_is_or_whose(db, column):
    job_id = rows.job(db)
    with as_role(db, "cadcam_worker"), denied("table jobs"):
        db.execute(sql.SQL("UPDATE jobs SET {0} = {0} WHERE id = %s").format(
            sql.Identifier(column)), (job_id,))


@pytest.mark.parametrize("statement", [
    "INSERT INTO jobs (user_id, type) VALUES (%s, 'thumbnail')",
    "DELETE FROM jobs WHERE user_id = %s",
    "INSERT INTO models (user_id) VALUES (%s)",
    "DELETE FROM models WHERE user_id = %s",
])
def test_worker_cannot_insert_or_delete(db, statement):
    user_id = rows.user(db)
    with as_role(db, "cadcam_worker"), denied():
        db.execute(statement, (user_id,))


@pytest.mark.parametrize("name", ["users", "sessions", "licenses"])
def test_worker_cannot_select(db, name):
    with as_role(db, "cadcam_worker"), denied(f"table {name}"):
        run(db, "SELECT id FROM {}", name)


# ----------------------------------------------------------------------------- cadcam_readonly

@pytest.mark.parametrize("name", ["licenses", "models", "jobs"])
def test_readonly_selects_whole_table(db, name):
    row_id = rows.BUILDERS[name](db)
    with as_role(db, "cadcam_readonly"):
        assert rows.fetch(name, db, row_id)["id"] == row_id


@pytest.mark.parametrize("name", list(SECRET_COLUMNS))
def test_readonly_selects_every_non_secret_column(db, name):
    row_id = rows.BUILDERS[name](db)
    columns = [c for (c,) in db.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass"
        " AND attnum > 0 AND NOT attisdropped ORDER BY attnum", (name,))]
    assert set(SECRET_COLUMNS[name]) < set(columns)
    public = [c for c in columns if c not in SECRET_COLUMNS[name]]
    with as_role(db, "cadcam_readonly"):
        row = db.execute(sql.SQL("SELECT {} FROM {} WHERE id = %s").format(
            sql.SQL(", ").join(map(sql.Identifier, public)), sql.Identifier(name)),
            (row_id,)).fetchone()
    assert row[0] == row_id and len(row) == len(public)


@pytest.mark.parametrize("name", list(SECRET_COLUMNS))
def test_readonly_cannot_select_star(db, name):
    with as_role(db, "cadcam_readonly"), denied(f"table {name}"):
        run(db, "SELECT * FROM {}", name)


@pytest.mark.parametrize(("name", "column"), SECRETS)
def test_readonly_cannot_select_secret(db, name, column):
    with as_role(db, "cadcam_readonly"), denied(f"table {name}"):
        db.execute(sql.SQL("SELECT {} FROM {}").format(
            sql.Identifier(column), sql.Identifier(name)))


@pytest.mark.parametrize("name", CORE_TABLES)
@pytest.mark.parametrize("statement", [
    "INSERT INTO {} DEFAULT VALUES",
    "UPDATE {} SET created_at = created_at",
    "DELETE FROM {}",
    "TRUNCATE {} CASCADE",
])
def test_readonly_cannot_write(db, name, statement):
    with as_role(db, "cadcam_readonly"), denied(f"table {name}"):
        run(db, statement, name)


def test_readonly_cannot_read_a_column_added_later(db):
    db.execute("ALTER TABLE users ADD COLUMN secret_x text")
    with as_role(db, "cadcam_readonly"):
        db.execute("SELECT id, email FROM users")
        with denied("table users"):
            db.execute("SELECT secret_x FROM users")


# ----------------------------------------------------------------------------- cadcam_auditor

def test_auditor_uses_schema_but_cannot_create(db):
    assert scalar(db, "SELECT has_schema_privilege('cadcam_auditor', 'public', 'USAGE')") is True
    assert scalar(db, "SELECT has_schema_privilege('cadcam_auditor', 'public', 'CREATE')") is False


@pytest.mark.parametrize("name", CORE_TABLES)
def test_auditor_cannot_select_core_table(db, name):
    with as_role(db, "cadcam_auditor"), denied(f"table {name}"):
        run(db, "SELECT id FROM {}", name)


# ----------------------------------------------------------------------------- future objects

FUTURE = {
    "function": ("SELECT public.f_future()", "GRANT EXECUTE ON FUNCTION public.f_future() TO {}"),
    "table": ("SELECT * FROM public.t_future", "GRANT SELECT ON public.t_future TO {}"),
}


@pytest.fixture
def future_objects(db):
    """A function and a table made by cadcam_owner after the migrations."""
    with as_role(db, "cadcam_owner"):
        db.execute("CREATE FUNCTION public.f_future() RETURNS int LANGUAGE sql RETURN 1")
        db.execute("CREATE TABLE public.t_future (id int)")


def test_future_function_has_no_public_execute(db, future_objects):
    acl = scalar(db, "SELECT proacl FROM pg_proc WHERE oid = 'public.f_future()'::regprocedure")
    assert acl is not None
    assert scalar(db, PUBLIC_GRANTS, (acl,)) == 0


@pytest.mark.parametrize("kind", list(FUTURE))
def test_future_object_closed_to_no_grant_role(db, nobody_in_schema, future_objects, kind):
    with as_role(db, nobody_in_schema), denied():
        db.execute(FUTURE[kind][0])


@pytest.mark.parametrize("kind", list(FUTURE))
def test_future_object_closed_to_app_until_granted(db, future_objects, kind):
    statement, grant = FUTURE[kind]
    with as_role(db, "cadcam_app"), denied():
        db.execute(statement)
    with as_role(db, "cadcam_owner"):
        db.execute(sql.SQL(grant).format(sql.Identifier("cadcam_app")))
    with as_role(db, "cadcam_app"):
        db.execute(statement)


# ----------------------------------------------------------------------------- functions

# Who may execute each project function, besides its owner. Trigger functions
# need no grant: a trigger runs its function whoever fires it.
EXECUTE = {
    "is_valid_tckn(text)": {"cadcam_app", "cadcam_admin"},
    "is_valid_vkn(text)": {"cadcam_app", "cadcam_admin"},
    "is_valid_timezone(text)": {"cadcam_app", "cadcam_admin"},
    "set_updated_at()": set(),
    "set_models_parent_version()": set(),
    "set_acting_user(bigint)": {"cadcam_app", "cadcam_admin"},
    "app_user_id()": {"cadcam_app"},
    "audit_row_change()": set(),
    "audit_jobs_update()": set(),
    "register_user(text,text,text,user_locale,text)": {"cadcam_app", "cadcam_admin"},
    "user_for_login(text)": {"cadcam_app", "cadcam_admin"},
    "session_for_refresh(bytea)": {"cadcam_app", "cadcam_admin"},
    "erase_user(bigint)": {"cadcam_admin"},
    "purge_sessions(integer)": {"cadcam_admin"},
    "drop_audit_partitions(integer)": {"cadcam_admin"},
    "create_audit_partitions(integer)": {"cadcam_admin"},
}


def test_every_project_function_is_in_the_execute_matrix(schema):
    assert set(schema.functions) == set(EXECUTE)


def test_the_model_reads_the_execute_grants_the_matrix_gives(schema):
    granted = {f.identity: {g.grantee for g in f.grants if g.privilege == "EXECUTE"}
               for f in schema.functions.values()}
    assert granted == EXECUTE


@pytest.mark.parametrize("role", NON_OWNER_ROLES)
@pytest.mark.parametrize("function", list(EXECUTE))
def test_execute_privilege(db, function, role):
    allowed = scalar(db, "SELECT has_function_privilege(%s, %s, 'EXECUTE')", (role, function))
    assert allowed is (role in EXECUTE[function])


@pytest.mark.parametrize("call", [
    "SELECT erase_user(%s)",
    "SELECT purge_sessions(0)",
    "SELECT drop_audit_partitions(1)",
    "SELECT create_audit_partitions(1)",
])
@pytest.mark.parametrize("role", ["cadcam_app", "cadcam_worker", "cadcam_readonly",
                                  "cadcam_auditor"])
def test_only_admin_runs_erasure_and_retention(db, role, call):
    user_id = rows.user(db)
    params = (user_id,) if "%s" in call else None
    with as_role(db, role), denied("function"):
        db.execute(call, params)
    with as_role(db, "cadcam_admin"):
        db.execute(call, params)


# ----------------------------------------------------------------------------- cadcam_admin

@pytest.mark.parametrize("name", CORE_TABLES)
def test_admin_writes_every_users_rows_without_acting_user(db, name):
    row_id = rows.BUILDERS[name](db)
    with as_role(db, "cadcam_admin"):
        cur = run(db, "UPDATE {} SET created_at = created_at WHERE id = %s", name,
                  params=(row_id,))
        assert cur.rowcount == 1
        build = rows.BUILDERS[name]
        other = build(db) if name == "users" else build(db, rows.user(db))
        assert rows.fetch(name, db, other)["id"] == other


@pytest.mark.parametrize(("name", "statement"), [
    *[(t, "DELETE FROM {}") for t in ["users", "licenses", "models", "jobs"]],
    *[(t, "TRUNCATE {} CASCADE") for t in CORE_TABLES],
    ("audit_log", "SELECT id FROM {}"),
    ("audit_log", "DELETE FROM {}"),
])
def test_admin_cannot_delete_truncate_or_read_the_audit_log(db, name, statement):
    with as_role(db, "cadcam_admin"), denied(f"table {name}"):
        run(db, statement, name)
