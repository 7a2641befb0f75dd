"""The audit log: one entry per inserted, updated or deleted row of the five
core tables, written by the trg_*_audit triggers through the SECURITY DEFINER
function audit_row_change(); secret columns never recorded; changes to quiet
columns alone not recorded; append-only for every role but cadcam_owner; and
monthly range partitions made by create_audit_partitions().

Writes run as the real roles (SET LOCAL ROLE inside a transaction, with the
acting user named by set_acting_user() where the role needs one). Entries are read back
as the superuser, and only those written after a marker (the highest id
before the statement under test), so that the setup's own entries do not
count. Expected values are taken from the rows themselves (to_jsonb of the
row before and after), never from the trigger's code.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg.types.json import Jsonb

from tests import differences, rows
from tests.audit import (
    entries,
    marker,
    month_start,
    only_entry,
    partition_name,
    partitions,
    this_month,
)
from tests.roles import acting, as_session_user, denied, scalar, set_acting_user, temporary_role
from tests.rows import CORE_TABLES
from workload import catalog

SECRET_COLUMNS = {"users": {"password_hash"},
                  "sessions": {"refresh_token_hash", "access_token_jti"}}
ALL_SECRETS = set().union(*SECRET_COLUMNS.values())
BAD_MONTHS = [pytest.param(None, id="null"), pytest.param(-1, id="negative"),
              pytest.param(121, id="over-120")]
AUDIT_RELATIONS = ["audit_log", "audit_log_default", "this_month"]


# ----------------------------------------------------------------------------- helpers


def row_json(db: psycopg.Connection, table: str, row_id: int) -> dict | None:
    """The row as jsonb (to_jsonb), read as the superuser."""
    found = db.execute(sql.SQL("SELECT to_jsonb(t) FROM {} t WHERE t.id = %s").format(
        sql.Identifier(table)), (row_id,)).fetchone()
    return found and found[0]


def columns(db: psycopg.Connection, table: str) -> set[str]:
    return {c for (c,) in db.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = %s", (table,))}


def set_secrets(table: str, row: dict) -> list[str]:
    """The secret columns that hold a value in the row, sorted: what an insert
    or delete entry names in redacted_columns instead of recording them."""
    return sorted(c for c in SECRET_COLUMNS.get(table, ()) if row[c] is not None)


def relation(db: psycopg.Connection, name: str) -> sql.Identifier:
    return sql.Identifier(this_month(db) if name == "this_month" else name)


def insert_entry(db: psycopg.Connection, logged_at: datetime, **over) -> int:
    """An entry written directly by the superuser (the owner's path), to place
    one in a chosen month."""
    values = {"logged_at": logged_at, "acting_user_id": 7, "db_role": "cadcam_app",
              "login_role": "app_login", "table_name": "users", "row_id": 7,
              "subject_user_id": 7, "action": "update",
              "old_values": Jsonb({"company_name": "Eski Ad A.Ş.", "metadata": {"ü": [1, 2]}}),
              "new_values": Jsonb({"company_name": "Yeni Ad A.Ş.", "metadata": {"ü": [3]}}),
              "redacted_columns": ["password_hash"], **over}
    return rows.insert(db, "audit_log", **values)


def entry_json(db: psycopg.Connection, entry_id: int) -> dict:
    return scalar(db, "SELECT to_jsonb(a) FROM audit_log a WHERE a.id = %s", (entry_id,))


def partition_of(db: psycopg.Connection, entry_id: int) -> str:
    return scalar(db, "SELECT tableoid::regclass::text FROM audit_log WHERE id = %s",
                  (entry_id,))


@pytest.fixture
def login_role(db):
    """A LOGIN role that is a member of cadcam_app, as a deploy creates one; dropped after."""
    with temporary_role(db, "app_login_test", "LOGIN IN ROLE cadcam_app") as name:
        yield name


# Writes that create a row of each table, in the way each is really made:
# an account by register_user() (there is no acting user before sign-up),
# the rest by the application acting for their owner.
def app_creates(db: psycopg.Connection, table: str) -> tuple[int, int, int | None]:
    """Create a row of `table` as cadcam_app; return (marker before the write,
    row id, acting user)."""
    if table == "users":
        mark = marker(db)
        with acting(db, "cadcam_app"):
            row_id = scalar(db, "SELECT register_user(%s, %s)",
                            (f"kayit{uuid.uuid4().hex[:8]}@example.com.tr", rows.ARGON2ID_HASH))
        return mark, row_id, None
    owner = rows.user(db)
    mark = marker(db)
    with acting(db, "cadcam_app", owner):
        row_id = rows.BUILDERS[table](db, user_id=owner)
    return mark, row_id, owner


UPDATES = [
    ("users", "company_name", "Anadolu Kalıp A.Ş."),
    ("users", "metadata", Jsonb({"onboarding": {"adım": 3}})),
    ("users", "locale", "en"),
    ("sessions", "user_agent", "FreeCAD/1.0"),
    ("sessions", "ip_address", "192.0.2.10"),
    ("licenses", "auto_renew", True),
    ("licenses", "seats", 5),
    ("models", "name", "Flanş yeni"),
    ("models", "params", Jsonb({"çap": 120.5})),
    ("jobs", "priority", 7),
    ("jobs", "input_params", Jsonb({"tool": "T1", "feed": 1200})),
    # Text that looks like hstore's own syntax: the trigger compares columns
    # as hstore text.
    ("models", "name", 'Kalıp "a"=>"b", NULL \\ '),
    ("users", "metadata", Jsonb({"a=>b": "NULL", "": None})),
]


# ------------------------------------------------------------------------- insert, update, delete

@pytest.mark.parametrize("table", CORE_TABLES)
def test_insert_writes_one_entry_with_the_whole_row(db, table):
    mark, row_id, actor = app_creates(db, table)
    entry = only_entry(db, mark)
    row = row_json(db, table, row_id)
    expected_keys = columns(db, table) - SECRET_COLUMNS.get(table, set())
    assert set(entry["new_values"]) == expected_keys
    assert entry["new_values"] == {k: row[k] for k in expected_keys}
    assert (entry["table_name"], entry["row_id"], entry["action"]) == (table, row_id, "insert")
    assert entry["subject_user_id"] == (row_id if table == "users" else row["user_id"])
    assert entry["old_values"] is None
    assert entry["redacted_columns"] == set_secrets(table, row)
    assert entry["acting_user_id"] == actor
    assert (entry["db_role"], entry["login_role"]) == ("cadcam_app", "postgres")


@pytest.mark.parametrize(("table", "column", "value"), UPDATES)
def test_update_writes_only_the_changed_columns(db, table, column, value):
    row_id = rows.BUILDERS[table](db)
    owner = rows.owner_of(db, table, row_id)
    before = row_json(db, table, row_id)
    mark = marker(db)
    with acting(db, "cadcam_app", owner):
        query = sql.SQL("UPDATE {} SET {} = %s WHERE id = %s").format(
            sql.Identifier(table), sql.Identifier(column))
        assert db.execute(query, (value, row_id)).rowcount == 1
    after = row_json(db, table, row_id)
    changed = {k for k in after if after[k] != before[k]}
    assert column in changed
    entry = only_entry(db, mark)
    assert entry["old_values"] == {k: before[k] for k in changed}
    assert entry["new_values"] == {k: after[k] for k in changed}
    assert (entry["table_name"], entry["row_id"], entry["action"]) == (table, row_id, "update")
    assert entry["subject_user_id"] == owner
    assert entry["acting_user_id"] == owner
    assert entry["db_role"] == "cadcam_app"
    assert entry["redacted_columns"] == []


def jsonb_or_null(value: dict | None) -> Jsonb | None:
    return None if value is None else Jsonb(value)


@pytest.mark.parametrize(("before", "after"), [(None, {"k": 1}), ({"k": 1}, None)],
                         ids=["from-null", "to-null"])
def test_update_to_and_from_null_records_both_sides(db, before, after):
    job_id = rows.job(db, input_params=jsonb_or_null(before))
    owner = rows.owner_of(db, "jobs", job_id)
    mark = marker(db)
    with acting(db, "cadcam_app", owner):
        db.execute("UPDATE jobs SET input_params = %s WHERE id = %s",
                   (jsonb_or_null(after), job_id))
    entry = only_entry(db, mark)
    assert set(entry["new_values"]) == {"input_params", "updated_at"}
    assert entry["old_values"]["input_params"] == before
    assert entry["new_values"]["input_params"] == after


@pytest.mark.parametrize("table", ["models", "jobs"])
def test_number_rewritten_with_another_scale_is_no_change(db, table):
    """1.0 and 1.00 differ as text but are equal as jsonb: no entry, on a table
    whose trigger has a WHEN clause (jobs) and one without (models)."""
    column = {"models": "params", "jobs": "input_params"}[table]
    row_id = rows.BUILDERS[table](db, **{column: Jsonb({"tolerance_mm": 1})})
    owner = rows.owner_of(db, table, row_id)
    query = sql.SQL("UPDATE {} SET {} = %s::jsonb WHERE id = %s").format(
        sql.Identifier(table), sql.Identifier(column))
    with acting(db, "cadcam_app", owner):
        db.execute(query, ('{"tolerance_mm": 1.0}', row_id))
    mark = marker(db)
    with acting(db, "cadcam_app", owner):
        db.execute(query, ('{"tolerance_mm": 1.00}', row_id))
    assert entries(db, mark) == []


# Deletes, by the roles that may delete: the application its own sessions
# (sign-out), an operator any session, the owner anything (the application
# soft-deletes the other tables).
DELETES = [("sessions", "cadcam_app", True), ("sessions", "cadcam_admin", False),
           ("users", "cadcam_owner", False), ("licenses", "cadcam_owner", False),
           ("models", "cadcam_owner", False), ("jobs", "cadcam_owner", False)]


@pytest.mark.parametrize(("table", "role", "as_owner"), DELETES)
def test_delete_writes_one_entry_with_the_whole_row(db, table, role, as_owner):
    row_id = rows.BUILDERS[table](db)
    owner = rows.owner_of(db, table, row_id)
    before = row_json(db, table, row_id)
    mark = marker(db)
    with acting(db, role, owner if as_owner else None):
        query = sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(table))
        assert db.execute(query, (row_id,)).rowcount == 1
    assert row_json(db, table, row_id) is None
    entry = only_entry(db, mark)
    expected_keys = columns(db, table) - SECRET_COLUMNS.get(table, set())
    assert entry["old_values"] == {k: before[k] for k in expected_keys}
    assert entry["new_values"] is None
    assert entry["redacted_columns"] == set_secrets(table, before)
    assert (entry["table_name"], entry["row_id"], entry["action"]) == (table, row_id, "delete")
    assert entry["subject_user_id"] == owner
    assert entry["acting_user_id"] == (owner if as_owner else None)
    assert entry["db_role"] == role


# ----------------------------------------------------------------------------- who and when

def worker_starts_job(db):
    job_id = rows.job(db, status="queued")
    with acting(db, "cadcam_worker"):
        db.execute("UPDATE jobs SET status = 'running', started_at = now() WHERE id = %s",
                   (job_id,))
    return job_id


def admin_extends_license(db):
    license_id = rows.license(db)
    with acting(db, "cadcam_admin"):
        db.execute("UPDATE licenses SET seats = 9 WHERE id = %s", (license_id,))
    return license_id


def owner_renames_model(db):
    model_id = rows.model(db)
    with acting(db, "cadcam_owner"):
        db.execute("UPDATE models SET name = 'Sahibin adı' WHERE id = %s", (model_id,))
    return model_id


def superuser_changes_phone(db):
    user_id = rows.user(db)
    db.execute("UPDATE users SET phone = '+905321234567' WHERE id = %s", (user_id,))
    return user_id


@pytest.mark.parametrize(("write", "table", "db_role"), [
    (worker_starts_job, "jobs", "cadcam_worker"),
    (admin_extends_license, "licenses", "cadcam_admin"),
    (owner_renames_model, "models", "cadcam_owner"),
    (superuser_changes_phone, "users", "postgres"),
], ids=["worker", "admin", "owner", "no-set-role"])
def test_db_role_is_the_set_role_and_acting_user_null_without_setting(db, write, table, db_role):
    mark = marker(db)
    row_id = write(db)
    found = [e for e in entries(db, mark) if e["action"] == "update"]
    assert len(found) == 1, found
    entry = found[0]
    assert (entry["table_name"], entry["row_id"]) == (table, row_id)
    assert entry["db_role"] == db_role
    assert entry["login_role"] == "postgres"
    assert entry["acting_user_id"] is None


@pytest.mark.parametrize("value", ["", "abc", "12; DROP TABLE users", "1234567890123456789",
                                   "12", "12/1796166890.929976"])
def test_acting_user_is_null_for_a_setting_that_is_not_an_id(db, value):
    license_id = rows.license(db)
    mark = marker(db)
    with acting(db, "cadcam_admin"):
        db.execute("SELECT set_config('app.user_id', %s, true)", (value,))
        db.execute("UPDATE licenses SET seats = 4 WHERE id = %s", (license_id,))
    assert only_entry(db, mark)["acting_user_id"] is None


@pytest.mark.parametrize("set_role", [True, False], ids=["set-role", "login-role-only"])
def test_login_role_is_the_session_user(db, login_role, set_role):
    owner = rows.user(db)
    mark = marker(db)
    with as_session_user(db, login_role), db.transaction():
        if set_role:
            db.execute("SET LOCAL ROLE cadcam_app")
        set_acting_user(db, owner)
        rows.model(db, user_id=owner)
    entry = only_entry(db, mark)
    assert entry["login_role"] == login_role
    assert entry["db_role"] == ("cadcam_app" if set_role else login_role)
    assert entry["acting_user_id"] == owner


def test_entries_of_one_transaction_share_its_id_and_time(db):
    owner = rows.user(db)
    session_id = rows.session(db, user_id=owner)
    mark = marker(db)
    transactions = []
    for _ in range(2):
        with acting(db, "cadcam_app", owner):
            transactions.append(db.execute("SELECT pg_current_xact_id(), now()").fetchone())
            model_id = rows.model(db, user_id=owner)
            rows.job(db, user_id=owner, model_id=model_id)
            db.execute("UPDATE sessions SET user_agent = %s WHERE id = %s",
                       (uuid.uuid4().hex, session_id))
    found = entries(db, mark)
    assert [e["table_name"] for e in found] == ["models", "jobs", "sessions"] * 2
    assert [(e["transaction_id"], e["logged_at"]) for e in found] == [
        t for t in transactions for _ in range(3)]
    assert transactions[0][0] != transactions[1][0]


# ----------------------------------------------------------------------------- secrets

def secret_texts(db: psycopg.Connection, table: str, row_id: int) -> list[str]:
    """The secret values of a row as they would appear in jsonb text."""
    if table == "users":
        return [v for (v,) in db.execute("SELECT password_hash FROM users WHERE id = %s",
                                         (row_id,)) if v]
    token, jti = db.execute("SELECT encode(refresh_token_hash, 'hex'), access_token_jti::text"
                            " FROM sessions WHERE id = %s", (row_id,)).fetchone()
    return [token, jti]


def assert_no_secret(found: list[dict], secrets: list[str]):
    assert found, "no entry written"
    assert all(secrets), secrets
    for entry in found:
        for side in ("old_values", "new_values"):
            assert not ALL_SECRETS & set(entry[side] or {}), entry
        for secret in secrets:
            assert secret not in entry["row_text"], entry


def create_secret_row(db, table):
    if table == "users":
        return rows.user(db, password_hash=rows.ARGON2ID_HASH)
    return rows.session(db)


def rotate_secret(db, table, row_id):
    """The application changes the row's secrets: a password change, a token refresh."""
    with acting(db, "cadcam_app", rows.owner_of(db, table, row_id)):
        if table == "users":
            db.execute("UPDATE users SET password_hash = %s WHERE id = %s",
                       (rows.BCRYPT_HASH, row_id))
        else:
            db.execute("UPDATE sessions SET refresh_token_hash = %s, access_token_jti = %s"
                       " WHERE id = %s", (os.urandom(32), uuid.uuid4(), row_id))


def delete_secret_row(db, table, row_id):
    with acting(db, "cadcam_owner"):
        db.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(table)),
                   (row_id,))


@pytest.mark.parametrize("table", ["users", "sessions"])
def test_insert_records_no_secret(db, table):
    mark = marker(db)
    if table == "users":
        with acting(db, "cadcam_app"):
            row_id = scalar(db, "SELECT register_user('gizli@example.com.tr', %s)",
                            (rows.ARGON2ID_HASH,))
    else:
        owner = rows.user(db)
        mark = marker(db)
        with acting(db, "cadcam_app", owner):
            row_id = rows.session(db, user_id=owner)
    assert_no_secret(entries(db, mark), secret_texts(db, table, row_id))


@pytest.mark.parametrize("table", ["users", "sessions"])
def test_secret_change_is_recorded_as_redacted_without_values(db, table):
    row_id = create_secret_row(db, table)
    old_secrets = secret_texts(db, table, row_id)
    mark = marker(db)
    rotate_secret(db, table, row_id)
    new_secrets = secret_texts(db, table, row_id)
    assert set(old_secrets).isdisjoint(new_secrets)
    found = entries(db, mark)
    assert len(found) == 1
    assert found[0]["action"] == "update"
    assert found[0]["redacted_columns"] == sorted(SECRET_COLUMNS[table])
    assert_no_secret(found, old_secrets + new_secrets)


@pytest.mark.parametrize("table", ["users", "sessions"])
def test_delete_records_no_secret(db, table):
    row_id = create_secret_row(db, table)
    secrets = secret_texts(db, table, row_id)
    mark = marker(db)
    delete_secret_row(db, table, row_id)
    found = entries(db, mark)
    assert [e["action"] for e in found] == ["delete"]
    assert_no_secret(found, secrets)


def test_password_change_with_other_columns_records_those_only(db):
    user_id = rows.user(db, password_hash=rows.ARGON2ID_HASH)
    mark = marker(db)
    with acting(db, "cadcam_app", user_id):
        db.execute("UPDATE users SET password_hash = %s, locale = 'en' WHERE id = %s",
                   (rows.BCRYPT_HASH, user_id))
    entry = only_entry(db, mark)
    assert entry["redacted_columns"] == ["password_hash"]
    assert set(entry["new_values"]) == {"locale", "updated_at"}
    assert entry["new_values"]["locale"] == "en"
    assert_no_secret([entry], [rows.ARGON2ID_HASH, rows.BCRYPT_HASH])


def test_no_entry_ever_holds_a_secret(db):
    """Every way a secret reaches the tables, then a scan of the whole log."""
    user_id = rows.user(db, password_hash=rows.ARGON2ID_HASH)
    session_id = rows.session(db, user_id=user_id)
    secrets = secret_texts(db, "users", user_id) + secret_texts(db, "sessions", session_id)
    rotate_secret(db, "users", user_id)
    rotate_secret(db, "sessions", session_id)
    secrets += secret_texts(db, "users", user_id) + secret_texts(db, "sessions", session_id)
    delete_secret_row(db, "sessions", session_id)
    delete_secret_row(db, "users", user_id)
    assert_no_secret(entries(db, 0), secrets)


# ----------------------------------------------------------------------------- quiet columns

def running_job(db, **over) -> int:
    return rows.job(db, status="running", started_at="now", progress=40, **over)


@pytest.mark.parametrize("change", [
    "progress = 41", "metrics = '{\"toolpath_mm\": 1200}'",
    "progress = 55, metrics = '{\"toolpath_mm\": 1500}'",
], ids=["progress", "metrics", "progress-and-metrics"])
def test_job_progress_and_metrics_alone_write_no_entry(db, change):
    job_id = running_job(db)
    before = row_json(db, "jobs", job_id)
    mark = marker(db)
    with acting(db, "cadcam_worker"):
        assert db.execute(f"UPDATE jobs SET {change} WHERE id = %s", (job_id,)).rowcount == 1
    after = row_json(db, "jobs", job_id)
    assert before["progress"] != after["progress"] or before["metrics"] != after["metrics"]
    assert before["updated_at"] != after["updated_at"]
    assert entries(db, mark) == []


def test_session_last_used_at_alone_writes_no_entry(db):
    session_id = rows.session(db)
    owner = rows.owner_of(db, "sessions", session_id)
    before = row_json(db, "sessions", session_id)
    mark = marker(db)
    with acting(db, "cadcam_app", owner):
        assert db.execute("UPDATE sessions SET last_used_at = now() WHERE id = %s",
                          (session_id,)).rowcount == 1
    assert row_json(db, "sessions", session_id)["last_used_at"] != before["last_used_at"]
    assert entries(db, mark) == []


def test_job_status_change_writes_an_entry_with_the_progress(db):
    job_id = running_job(db)
    before = row_json(db, "jobs", job_id)
    mark = marker(db)
    with acting(db, "cadcam_worker"):
        assert db.execute("UPDATE jobs SET status = 'succeeded', progress = 100,"
                          " finished_at = now() WHERE id = %s", (job_id,)).rowcount == 1
    after = row_json(db, "jobs", job_id)
    entry = only_entry(db, mark)
    changed = {"status", "progress", "finished_at", "updated_at"}
    assert entry["old_values"] == {k: before[k] for k in changed}
    assert entry["new_values"] == {k: after[k] for k in changed}
    assert (entry["old_values"]["progress"], entry["new_values"]["progress"]) == (40, 100)
    assert entry["db_role"] == "cadcam_worker"


def test_quiet_change_then_status_change_records_only_the_status_update(db):
    job_id = running_job(db)
    mark = marker(db)
    with acting(db, "cadcam_worker"):
        for progress in (50, 60, 70):
            db.execute("UPDATE jobs SET progress = %s WHERE id = %s", (progress, job_id))
    with acting(db, "cadcam_worker"):
        db.execute("UPDATE jobs SET status = 'failed', finished_at = now(),"
                   " error_message = 'Takım kırıldı' WHERE id = %s", (job_id,))
    entry = only_entry(db, mark)
    assert entry["new_values"]["status"] == "failed"
    assert "progress" not in entry["new_values"]


# The UPDATE triggers of sessions and jobs skip quiet-only updates: sessions'
# with a WHEN clause that lists the other columns, jobs' with UPDATE OF the
# other columns. A column added later and left out would go unaudited when
# it alone changes: each list must be the table's columns but the quiet ones.
QUIET = {"sessions": {"last_used_at"}, "jobs": {"updated_at", "progress", "metrics"}}
JOBS_FUNCTION_BLOCK = re.compile(
    r"IF NEW\.(\w+) IS DISTINCT FROM OLD\.(\w+) THEN(.*?)END IF;", re.S)


def table_columns(db, table: str) -> set[str]:
    return {c for (c,) in db.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        " AND NOT attisdropped", (table,))}


def test_sessions_update_trigger_when_clause_compares_every_column_but_the_quiet_ones(db):
    definition = scalar(db, "SELECT pg_get_triggerdef(oid) FROM pg_trigger"
                            " WHERE tgname = 'trg_sessions_audit_update'")
    when = definition[definition.index(" WHEN "):definition.index(" EXECUTE FUNCTION ")]
    expected = table_columns(db, "sessions") - QUIET["sessions"]
    assert set(re.findall(r"\bold\.(\w+)", when)) == expected
    assert set(re.findall(r"\bnew\.(\w+)", when)) == expected
    assert "IS DISTINCT FROM" in when


def test_jobs_update_trigger_fires_for_every_column_but_the_quiet_ones(db):
    qual, fired_by = db.execute(
        "SELECT t.tgqual, array(SELECT a.attname::text FROM unnest(t.tgattr) AS k(attnum)"
        "  JOIN pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = k.attnum)"
        " FROM pg_trigger t WHERE t.tgname = 'trg_jobs_audit_update'").fetchone()
    assert qual is None  # no WHEN clause to build in every UPDATE statement
    assert set(fired_by) == table_columns(db, "jobs") - QUIET["jobs"]


def test_audit_jobs_update_compares_every_column_of_jobs(db):
    """One block per column: compared by its type, both sides recorded, and
    loud (an entry is due) unless the column is quiet."""
    source = scalar(db, "SELECT prosrc FROM pg_proc"
                        " WHERE oid = 'public.audit_jobs_update()'::regprocedure")
    blocks = JOBS_FUNCTION_BLOCK.findall(source)
    assert sorted(new for new, _, _ in blocks) == sorted(table_columns(db, "jobs"))
    for new, old, body in blocks:
        assert new == old
        assert f"jsonb_build_object('{new}', OLD.{new})" in body
        assert f"jsonb_build_object('{new}', NEW.{new})" in body
        assert ("loud := TRUE" in body) == (new not in QUIET["jobs"]), new


def test_jobs_before_update_triggers_set_only_quiet_columns(db):
    """UPDATE OF fires on the SET list, not on what BEFORE triggers change: the
    only BEFORE UPDATE trigger of jobs stamps updated_at, a quiet column."""
    before_update = [name for (name,) in db.execute(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'jobs'::regclass AND NOT tgisinternal"
        " AND tgtype & 2 = 2 AND tgtype & 16 = 16 ORDER BY tgname")]
    assert before_update == ["trg_jobs_updated_at"]
    source = scalar(db, "SELECT p.prosrc FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid"
                        " WHERE t.tgname = 'trg_jobs_updated_at'")
    assert set(re.findall(r"NEW\.(\w+)\s*:=", source)) == {"updated_at"}


@pytest.mark.parametrize(("table", "column"), [
    ("jobs", "status"), ("jobs", "error_message"), ("jobs", "input_params"),
    ("sessions", "revoked_at"), ("sessions", "user_agent"),
])
def test_a_non_quiet_column_alone_still_writes_an_entry(db, table, column):
    row_id = running_job(db) if table == "jobs" else rows.session(db)
    value = {"status": "queued", "error_message": "Tekrar denenecek",
             "input_params": '{"tool": "T2"}', "revoked_at": "now",
             "user_agent": "FreeCAD/1.1"}[column]
    if (table, column) == ("jobs", "status"):
        db.execute("UPDATE jobs SET started_at = NULL, status = 'pending' WHERE id = %s",
                   (row_id,))
    mark = marker(db)
    db.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", (value, row_id))
    assert column in only_entry(db, mark)["new_values"]


NO_OP = {"users": "email", "sessions": "user_id", "licenses": "user_id", "models": "user_id",
         "jobs": "user_id"}


@pytest.mark.parametrize("table", CORE_TABLES)
def test_update_that_changes_nothing_writes_no_entry(db, table):
    row_id = rows.BUILDERS[table](db)
    mark = marker(db)
    with acting(db, "cadcam_app", rows.owner_of(db, table, row_id)):
        query = sql.SQL("UPDATE {t} SET {c} = {c} WHERE id = %s").format(
            t=sql.Identifier(table), c=sql.Identifier(NO_OP[table]))
        assert db.execute(query, (row_id,)).rowcount == 1
    assert entries(db, mark) == []


# ----------------------------------------------------------------------------- append-only

STATEMENTS = {
    "insert": "INSERT INTO {} (db_role, login_role, table_name, row_id, subject_user_id,"
              " action, new_values) VALUES ('x', 'x', 'users', 1, 1, 'insert', '{{}}')",
    "update": "UPDATE {} SET acting_user_id = 1",
    "delete": "DELETE FROM {}",
    "truncate": "TRUNCATE {}",
    "select": "SELECT * FROM {}",
}


@pytest.mark.parametrize("relation_name", AUDIT_RELATIONS)
@pytest.mark.parametrize("statement", STATEMENTS)
def test_app_writes_entries_but_cannot_touch_the_log(db, statement, relation_name):
    owner = rows.user(db)
    with acting(db, "cadcam_app", owner):
        rows.model(db, user_id=owner)
    count = scalar(db, "SELECT count(*) FROM audit_log")
    assert count >= 2
    query = sql.SQL(STATEMENTS[statement]).format(relation(db, relation_name))
    with denied(), acting(db, "cadcam_app", owner):
        db.execute(query)
    assert scalar(db, "SELECT count(*) FROM audit_log") == count


@pytest.mark.parametrize("statement", STATEMENTS)
@pytest.mark.parametrize("role", ["cadcam_worker", "cadcam_readonly", "cadcam_admin"])
def test_other_roles_cannot_touch_the_log(db, role, statement):
    rows.user(db)
    with denied(), acting(db, role):
        db.execute(sql.SQL(STATEMENTS[statement]).format(sql.Identifier("audit_log")))


def test_auditor_reads_the_log(db):
    owner = rows.user(db)
    with acting(db, "cadcam_app", owner):
        model_id = rows.model(db, user_id=owner)
    with acting(db, "cadcam_auditor"):
        found = db.execute("SELECT table_name, row_id, action, acting_user_id, db_role"
                           " FROM audit_log WHERE subject_user_id = %s ORDER BY id",
                           (owner,)).fetchall()
    assert found == [("users", owner, "insert", None, "postgres"),
                     ("models", model_id, "insert", owner, "cadcam_app")]


@pytest.mark.parametrize("statement", ["insert", "update", "delete", "truncate"])
def test_auditor_cannot_write_the_log(db, statement):
    rows.user(db)
    with denied(), acting(db, "cadcam_auditor"):
        db.execute(sql.SQL(STATEMENTS[statement]).format(sql.Identifier("audit_log")))


@pytest.mark.parametrize("table", CORE_TABLES)
def test_auditor_cannot_read_core_tables(db, table):
    with denied(f"table {table}"), acting(db, "cadcam_auditor"):
        db.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table)))


def test_owner_may_update_and_delete_entries(db):
    user_id = rows.user(db)
    entry_id = scalar(db, "SELECT max(id) FROM audit_log WHERE row_id = %s", (user_id,))
    with acting(db, "cadcam_owner"):
        assert db.execute("UPDATE audit_log SET acting_user_id = 99 WHERE id = %s",
                          (entry_id,)).rowcount == 1
    assert scalar(db, "SELECT acting_user_id FROM audit_log WHERE id = %s", (entry_id,)) == 99
    with acting(db, "cadcam_owner"):
        assert db.execute("DELETE FROM audit_log WHERE id = %s", (entry_id,)).rowcount == 1
    assert scalar(db, "SELECT count(*) FROM audit_log WHERE id = %s", (entry_id,)) == 0


def test_no_project_role_but_the_owner_may_change_any_audit_relation(db):
    changing = [p for p in differences.table_privileges(db)
                if p not in ("SELECT", "REFERENCES", "TRIGGER")]  # and MAINTAIN from 17 on
    held = db.execute(
        "SELECT r.rolname, c.relname FROM pg_roles r, pg_class c"
        " WHERE r.rolname LIKE 'cadcam\\_%%' AND r.rolname <> 'cadcam_owner'"
        " AND (c.oid = 'public.audit_log'::regclass OR c.oid IN"
        "      (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'public.audit_log'::regclass))"
        " AND has_table_privilege(r.oid, c.oid, %s)",
        (", ".join(changing),)).fetchall()
    assert held == []
    readers = {r for (r,) in db.execute(
        "SELECT rolname FROM pg_roles WHERE rolname LIKE 'cadcam\\_%%'"
        " AND has_table_privilege(oid, 'public.audit_log', 'SELECT')")}
    assert readers == {"cadcam_owner", "cadcam_auditor"}


# ----------------------------------------------------------------- jobs' own update function
# audit_jobs_update() must write exactly the entry audit_row_change() wrote
# for jobs before it (0028): a twin trigger calls audit_row_change() for the
# same updates, and every pair of entries must be equal but for its id.
# The twin has no WHEN clause: audit_row_change() skips quiet-only changes
# itself, as the WHEN clause did before it.
TWIN = ("CREATE TRIGGER trg_jobs_zz_twin AFTER UPDATE ON jobs FOR EACH ROW"
        " EXECUTE FUNCTION audit_row_change('{}', '{updated_at,progress,metrics}')")
ENTRY_FIELDS = ("logged_at", "acting_user_id", "db_role", "login_role", "table_name", "row_id",
                "subject_user_id", "action", "old_values", "new_values", "redacted_columns",
                "transaction_id")
# Values each column may be set to (SQL), all of them within jobs' rules for
# a job that is running or waiting; finished_at stays NULL.
JOB_VALUES = {
    "type": ["'cam_toolpath'", "'model_import'"],
    "status": ["'running'", "'queued'", "'pending'"],
    "priority": ["0", "5", "9"],
    "input_params": ["NULL", "'{\"tool\": \"T1\"}'", "'{\"tessellation_mm\": 1.0}'",
                     "'{\"tessellation_mm\": 1.00}'"],
    "metrics": ["NULL", "'{\"toolpath_mm\": 1200}'"],
    "result": ["NULL", "'{\"gcode_lines\": 1}'"],
    "idempotency_key": ["NULL", "gen_random_uuid()::text"],
    "celery_task_id": ["NULL", "gen_random_uuid()"],
    "progress": ["0", "40", "41"],
    "retry_count": ["0", "1"],
    "max_retries": ["3", "5"],
    "timeout_seconds": ["60", "3600"],
    "error_message": ["NULL", "''", "'Takım kırıldı'"],
    "created_at": ["created_at", "now() - interval '1 day'"],
    "started_at": ["now()", "now() - interval '1 hour'", "started_at"],
    "updated_at": ["now() - interval '1 minute'"],
    "model_id": ["NULL", "model_id"],
}


def entry_pairs(db, mark: int) -> list[tuple[dict, dict]]:
    """The entries after the marker, two by two: (audit_jobs_update's, the twin's)."""
    found = [{k: e[k] for k in ENTRY_FIELDS} for e in entries(db, mark)]
    assert len(found) % 2 == 0, found
    return list(zip(found[::2], found[1::2], strict=True))


@pytest.fixture
def twin(db):
    db.execute(TWIN)
    return db


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(change=st.dictionaries(st.sampled_from(sorted(JOB_VALUES)), st.integers(0, 3),
                              min_size=1))
def test_jobs_update_entry_is_the_one_audit_row_change_writes(twin, change):
    owner = rows.user(twin)
    job_id = running_job(twin, user_id=owner, model_id=rows.model(twin, user_id=owner),
                         input_params='{"tessellation_mm": 1.0}')
    assignments = ", ".join(f"{column} = {values[change[column] % len(values)]}"
                            for column, values in JOB_VALUES.items() if column in change)
    mark = marker(twin)
    # As the owner, who may set every column (the worker may not set all).
    twin.execute(f"UPDATE jobs SET {assignments} WHERE id = %s", (job_id,))
    for ours, theirs in entry_pairs(twin, mark):
        assert ours == theirs


@pytest.mark.parametrize("query", ["05_claim_next_job", "10_claim_next_jobs"])
def test_a_claims_entries_are_the_ones_audit_row_change_writes(twin, query):
    statement = catalog.query(query).statement
    queued = [rows.job(twin, status="queued", input_params='{"tool": "T1"}') for _ in range(12)]
    mark = marker(twin)
    with acting(twin, "cadcam_worker"):
        claimed = [row[0] for row in twin.execute(statement)]
    pairs = entry_pairs(twin, mark)
    assert len(claimed) == len(pairs) == (1 if query.startswith("05") else 10)
    assert set(claimed) <= set(queued)
    for ours, theirs in pairs:
        assert ours == theirs
        assert set(ours["new_values"]) == {"status", "started_at", "updated_at"}
        assert ours["old_values"]["status"] == "queued"
        assert ours["new_values"]["status"] == "running"


# ----------------------------------------------------------------------------- the trigger function

@pytest.mark.parametrize("function", ["audit_row_change()", "audit_jobs_update()"])
def test_trigger_function_is_security_definer_with_pinned_search_path(db, function):
    definer, config, owner, comment, public_exec = db.execute(
        "SELECT p.prosecdef, p.proconfig, p.proowner::regrole::text,"
        " obj_description(p.oid, 'pg_proc'),"
        " EXISTS (SELECT FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a"
        "         WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')"
        " FROM pg_proc p WHERE p.oid = %s::regprocedure", (f"public.{function}",)).fetchone()
    assert definer is True
    assert "search_path=pg_catalog, pg_temp" in config
    assert owner == "cadcam_owner"
    assert comment and "SECURITY DEFINER" in comment
    assert public_exec is False


def test_every_core_table_has_its_audit_triggers(db):
    """Enabled, row-level, AFTER, and between them INSERT, UPDATE and DELETE;
    sessions and jobs audit updates through a trigger of their own (sessions'
    behind a WHEN clause, jobs' with a function of its own, by UPDATE OF)."""
    found = db.execute(
        "SELECT c.relname, t.tgname, t.tgenabled, t.tgfoid::regproc::text,"
        " pg_get_triggerdef(t.oid)"
        " FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " WHERE t.tgfoid IN ('public.audit_row_change()'::regprocedure,"
        "                    'public.audit_jobs_update()'::regprocedure)"
        " ORDER BY c.relname, t.tgname").fetchall()
    expected = []
    for t in sorted(CORE_TABLES):
        expected.append((t, f"trg_{t}_audit", "O", "audit_row_change"))
        if t in QUIET:
            function = "audit_jobs_update" if t == "jobs" else "audit_row_change"
            expected.append((t, f"trg_{t}_audit_update", "O", function))
    assert [row[:4] for row in found] == expected
    for table, name, _, _, definition in found:
        assert "FOR EACH ROW" in definition
        if table in QUIET:
            event = ("AFTER UPDATE" if name.endswith("_update")
                     else "AFTER INSERT OR DELETE ON")
        else:
            event = "AFTER INSERT OR DELETE OR UPDATE"
        assert event in definition, definition


@pytest.fixture
def decoy_schema(db):
    """A schema of look-alikes, usable by the app: an app_user_id() that names
    user 666 and an audit_log table that would swallow entries."""
    db.execute("CREATE SCHEMA decoy")
    db.execute("CREATE FUNCTION decoy.app_user_id() RETURNS bigint LANGUAGE sql RETURN 666")
    db.execute("CREATE TABLE decoy.audit_log (LIKE public.audit_log INCLUDING DEFAULTS)")
    db.execute("GRANT USAGE ON SCHEMA decoy TO cadcam_app")
    db.execute("GRANT ALL ON decoy.audit_log TO cadcam_app")
    db.execute("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA decoy TO PUBLIC")
    return "decoy"


def test_callers_search_path_cannot_redirect_the_trigger(db, decoy_schema):
    owner = rows.user(db)
    mark = marker(db)
    with acting(db, "cadcam_app", owner):
        db.execute("SET LOCAL search_path = decoy, public, pg_catalog")
        assert scalar(db, "SELECT app_user_id()") == 666  # the decoy is really in the way
        model_id = rows.model(db, user_id=owner)
    entry = only_entry(db, mark)
    assert (entry["table_name"], entry["row_id"], entry["acting_user_id"]) == (
        "models", model_id, owner)
    assert scalar(db, "SELECT count(*) FROM decoy.audit_log") == 0


def test_apps_temporary_audit_log_cannot_capture_entries(db):
    owner = rows.user(db)
    mark = marker(db)
    with acting(db, "cadcam_app", owner):
        if not scalar(db, "SELECT has_database_privilege(current_database(), 'TEMP')"):
            pytest.skip("the app cannot create temporary tables here")
        db.execute("CREATE TEMP TABLE audit_log (acting_user_id bigint, db_role text,"
                   " login_role text, table_name text, row_id bigint, subject_user_id bigint,"
                   " action text, old_values jsonb, new_values jsonb, redacted_columns text[])"
                   " ON COMMIT DROP")
        db.execute("SET LOCAL search_path = pg_temp, public")
        rows.model(db, user_id=owner)
        assert scalar(db, "SELECT count(*) FROM pg_temp.audit_log") == 0
    assert entries(db, mark)[0]["acting_user_id"] == owner


# ----------------------------------------------------------------------------- partitions

def test_audit_log_is_range_partitioned_by_logged_at(db):
    strategy, key = db.execute(
        "SELECT p.partstrat, (SELECT array_agg(a.attname) FROM pg_attribute a"
        "  WHERE a.attrelid = p.partrelid AND a.attnum = ANY(p.partattrs::int2[]))"
        " FROM pg_partitioned_table p WHERE p.partrelid = 'public.audit_log'::regclass"
    ).fetchone()
    assert (strategy, key) == ("r", ["logged_at"])


def test_migration_made_this_month_three_ahead_and_default(db):
    db.execute("SET TimeZone = 'UTC'")
    starts = [month_start(db, k) for k in range(5)]
    expected = {partition_name(s): (s, e) for s, e in zip(starts, starts[1:], strict=False)}
    assert partitions(db) == {**expected, "audit_log_default": None}
    owners = db.execute(
        "SELECT DISTINCT c.relowner::regrole::text FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'public.audit_log'::regclass").fetchall()
    assert owners == [("cadcam_owner",)]


DIRECT_INSERT = ("INSERT INTO {} (table_name, row_id, subject_user_id, action, new_values)"
                 " VALUES ('users', 1, 1, 'insert', '{{}}') RETURNING id")


@pytest.mark.parametrize("partition", ["audit_log_default", "this-month"])
def test_an_entry_through_the_parent_gets_an_id_on_every_major(db, partition):
    """The audit trigger inserts into audit_log itself: its identity numbers
    the entry wherever it is routed, on every major."""
    db.execute("SET TimeZone = 'UTC'")
    when = "'2000-01-01'" if partition == "audit_log_default" else "now()"
    entry_id = db.execute(
        "INSERT INTO audit_log (logged_at, table_name, row_id, subject_user_id, action,"
        f" new_values) VALUES ({when}, 'users', 1, 1, 'insert', '{{}}') RETURNING id"
    ).fetchone()[0]
    assert entry_id >= 1


def test_a_partition_shares_the_identity_from_17_on_only(db):
    """What differs by major: from 17 on a partition has its parent's identity
    column, so a row inserted into the partition itself is numbered; on 15
    and 16 the partition's id has no default and the insert is refused (NOT
    NULL). Nothing of the project inserts into a partition directly."""
    name = this_month(db)
    if differences.partitions_share_identity(db):
        first = db.execute(sql.SQL(DIRECT_INSERT).format(sql.Identifier(name))).fetchone()[0]
        through_parent = db.execute(DIRECT_INSERT.format("audit_log")).fetchone()[0]
        assert through_parent > first  # one sequence numbers both
    else:
        with pytest.raises(psycopg.errors.NotNullViolation) as info:
            db.execute(sql.SQL(DIRECT_INSERT).format(sql.Identifier(name)))
        assert info.value.diag.column_name == "id"


def test_new_entries_land_in_this_months_partition(db):
    mark = marker(db)
    owner = rows.user(db)
    with acting(db, "cadcam_app", owner):
        rows.model(db, user_id=owner)
    found = entries(db, mark)
    assert len(found) == 2
    assert {e["partition"] for e in found} == {this_month(db)}


@pytest.mark.parametrize("months_ahead", [0, 3, 4, 6, 12, 120])
def test_create_audit_partitions_makes_exactly_the_missing_months(db, months_ahead):
    db.execute("SET TimeZone = 'UTC'")
    before = partitions(db)
    with acting(db, "cadcam_admin"):
        made = [n for (n,) in db.execute("SELECT create_audit_partitions(%s)", (months_ahead,))]
    expected = [partition_name(month_start(db, k)) for k in range(4, months_ahead + 1)]
    assert made == expected
    after = partitions(db)
    assert set(after) == set(before) | set(expected)
    for k in range(4, months_ahead + 1):
        assert after[partition_name(month_start(db, k))] == (
            month_start(db, k), month_start(db, k + 1))
    with acting(db, "cadcam_admin"):
        assert db.execute("SELECT create_audit_partitions(%s)", (months_ahead,)).fetchall() == []
    assert partitions(db) == after


def test_create_audit_partitions_default_is_three_months(db):
    db.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(
        partition_name(month_start(db, 3)))))
    with acting(db, "cadcam_admin"):
        made = [n for (n,) in db.execute("SELECT create_audit_partitions()")]
    assert made == [partition_name(month_start(db, 3))]


def test_created_partitions_belong_to_the_owner_and_are_closed_to_the_app(db):
    with acting(db, "cadcam_admin"):
        (name,) = db.execute("SELECT create_audit_partitions(4)").fetchone()
    owner = scalar(db, "SELECT relowner::regrole::text FROM pg_class WHERE relname = %s", (name,))
    assert owner == "cadcam_owner"
    with denied(), acting(db, "cadcam_app", 1):
        db.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(name)))


@pytest.mark.parametrize("months_ahead", BAD_MONTHS)
def test_create_audit_partitions_rejects_bad_periods(db, months_ahead):
    before = partitions(db)
    with pytest.raises(psycopg.errors.InvalidParameterValue) as info, acting(db, "cadcam_admin"):
        db.execute("SELECT create_audit_partitions(%s::integer)", (months_ahead,))
    assert info.value.sqlstate == "22023"
    assert partitions(db) == before


@pytest.mark.parametrize("role", ["cadcam_app", "cadcam_worker", "cadcam_readonly",
                                  "cadcam_auditor"])
def test_only_admin_may_create_partitions(db, role):
    with denied("function create_audit_partitions"), acting(db, role):
        db.execute("SELECT create_audit_partitions(5)")


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kathmandu"])
def test_partition_bounds_are_utc_months_whatever_the_time_zone(db, zone):
    db.execute(sql.SQL("SET TimeZone = {}").format(sql.Literal(zone)))
    for k in (1, 2):
        db.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(
            partition_name(month_start(db, k)))))
    with acting(db, "cadcam_admin"):
        made = [n for (n,) in db.execute("SELECT create_audit_partitions(5)")]
    expected = [partition_name(month_start(db, k)) for k in (1, 2, 4, 5)]
    assert made == expected
    found = partitions(db)
    for k in (1, 2, 4, 5):
        lower, upper = found[partition_name(month_start(db, k))]
        assert (lower, upper) == (month_start(db, k), month_start(db, k + 1))
        assert lower.astimezone(timezone.utc).day == 1
        assert lower.astimezone(timezone.utc).hour == 0


def test_entry_of_a_month_without_partition_goes_to_default_then_moves(db):
    """The current month's partition is missing (the scheduled task did not
    run): the application's write still succeeds, its entries wait in the
    default partition, and create_audit_partitions() moves them unchanged."""
    name = this_month(db)
    db.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
    owner = rows.user(db)
    with acting(db, "cadcam_app", owner):
        model_id = rows.model(db, user_id=owner)
    waiting = entries(db, 0)
    assert [(e["table_name"], e["partition"]) for e in waiting] == [
        ("users", "audit_log_default"), ("models", "audit_log_default")]
    assert waiting[1]["row_id"] == model_id
    snapshot = {e["id"]: entry_json(db, e["id"]) for e in waiting}
    with acting(db, "cadcam_admin"):
        made = [n for (n,) in db.execute("SELECT create_audit_partitions()")]
    assert made == [name]
    assert {i: entry_json(db, i) for i in snapshot} == snapshot
    assert {partition_of(db, i) for i in snapshot} == {name}
    assert scalar(db, "SELECT count(*) FROM audit_log_default") == 0


def test_create_audit_partitions_moves_strays_of_the_new_month_only(db):
    db.execute("SET TimeZone = 'UTC'")
    missing = month_start(db, 2)
    db.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(partition_name(missing))))
    strays = [insert_entry(db, missing), insert_entry(db, missing + timedelta(days=27, hours=23)),
              insert_entry(db, missing, action="delete", new_values=None, redacted_columns=[])]
    # Far ahead: stays in default, no partition is made for it.
    far = insert_entry(db, month_start(db, 10) + timedelta(days=3))
    assert {partition_of(db, i) for i in [*strays, far]} == {"audit_log_default"}
    snapshot = {i: entry_json(db, i) for i in [*strays, far]}
    with acting(db, "cadcam_admin"):
        made = [n for (n,) in db.execute("SELECT create_audit_partitions(3)")]
    assert made == [partition_name(missing)]
    assert {i: entry_json(db, i) for i in snapshot} == snapshot
    assert {partition_of(db, i) for i in strays} == {partition_name(missing)}
    assert [i for (i,) in db.execute("SELECT id FROM audit_log_default")] == [far]
    assert scalar(db, "SELECT count(*) FROM audit_log") == len(snapshot) + scalar(
        db, "SELECT count(*) FROM audit_log WHERE id <> ALL(%s)", (list(snapshot),))


def test_writes_continue_after_partitions_are_made(db):
    """Identity and the primary key survive the move: new entries get new ids."""
    db.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(this_month(db))))
    first = rows.user(db)
    with acting(db, "cadcam_admin"):
        db.execute("SELECT create_audit_partitions()")
    second = rows.user(db)
    ids = [i for (i,) in db.execute("SELECT id FROM audit_log WHERE row_id IN (%s, %s)"
                                    " AND table_name = 'users' ORDER BY id", (first, second))]
    assert len(ids) == 2 and ids[0] < ids[1]
    assert {partition_of(db, i) for i in ids} == {this_month(db)}
