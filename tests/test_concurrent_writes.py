"""Rules under concurrent use: what correct overlapping transactions and
drifting clocks produce is accepted, table by table.

In READ COMMITTED every statement sees the rows committed before it began,
also those committed after its transaction began, while now() stays the
transaction's start. So a transaction begun a moment before a row was made
can update that row with a now() earlier than the row's created_at; and a
worker whose clock is behind the server's reports instants earlier than the
server's. Each test opens transaction A first (as the application or a
worker), commits the row from a second connection B, then lets A change it.
All of these failed with ck_*_updated_not_before_created,
ck_sessions_last_used_not_before_created,
ck_sessions_revoked_not_before_created, ck_*_deleted_not_before_created or
ck_jobs_started_not_before_created before 0023_concurrent_time_rules.
The last tests show the application's part of an erasure that overlaps a
sign-in: the account checked under a key share lock (docs/concurrency.md).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from tests import rows
from tests.roles import acting, scalar, set_acting_user
from workload import catalog

CLAIM = catalog.query("05_claim_next_job").statement
SKEWS = [timedelta(milliseconds=50), timedelta(seconds=2)]


@pytest.fixture
def other(db):
    """Connection B to the same database, in autocommit."""
    with psycopg.connect(db.info.dsn, autocommit=True) as conn:
        yield conn


@contextmanager
def begun_first(db, role: str):
    """Transaction A as `role`, begun (its now() fixed) before the block's
    rows exist; yields (connection, now() of A)."""
    with acting(db, role):
        yield db, scalar(db, "SELECT now()")


def created_at(conn, table: str, row_id: int) -> datetime:
    return rows.fetch(table, conn, row_id)["created_at"]


def assert_began_before(started: datetime, conn, table: str, row_id: int) -> None:
    """The case under test really arose: A's now() lies before the row's created_at."""
    assert started < created_at(conn, table, row_id)


def app_inserts(conn, table: str, user_id: int, **values) -> int:
    """B: the application makes a row of user_id and commits."""
    with acting(conn, "cadcam_app", user_id):
        return rows.BUILDERS[table](conn, user_id, **values)


# --------------------------------------------------------------------------- the app

def test_users_a_transaction_begun_before_sign_up_updates_the_new_account(db, other):
    with begun_first(db, "cadcam_app") as (a, started):
        with acting(other, "cadcam_app"):
            user_id = scalar(other, "SELECT register_user('late@example.com', NULL)")
        set_acting_user(a, user_id)
        a.execute("UPDATE users SET company_name = 'ACME' WHERE id = %s", (user_id,))
        assert_began_before(started, other, "users", user_id)
    row = rows.fetch("users", db, user_id)
    assert (row["company_name"], row["updated_at"]) == ("ACME", started)


def test_users_a_transaction_begun_before_sign_up_soft_deletes_the_account(db, other):
    with begun_first(db, "cadcam_app") as (a, started):
        with acting(other, "cadcam_app"):
            user_id = scalar(other, "SELECT register_user('gone@example.com', NULL)")
        set_acting_user(a, user_id)
        a.execute("UPDATE users SET status = 'deleted', deleted_at = now() WHERE id = %s",
                  (user_id,))
    assert rows.fetch("users", db, user_id)["deleted_at"] == started


@pytest.mark.parametrize("change", [
    "last_used_at = now(), access_token_jti = gen_random_uuid()",  # a token refresh
    "revoked_at = now()",  # a sign-out
])
def test_sessions_a_transaction_begun_before_sign_in_refreshes_or_revokes_it(db, other, change):
    user_id = rows.user(db)
    with begun_first(db, "cadcam_app") as (a, started):
        session_id = app_inserts(other, "sessions", user_id)
        set_acting_user(a, user_id)
        assert a.execute(f"UPDATE sessions SET {change} WHERE id = %s", (session_id,)).rowcount == 1
        assert_began_before(started, other, "sessions", session_id)


def test_sessions_sign_out_everywhere_while_another_device_signs_in(db, other):
    user_id = rows.user(db)
    older = rows.session(db, user_id)
    with begun_first(db, "cadcam_app") as (a, started):
        newer = app_inserts(other, "sessions", user_id)
        set_acting_user(a, user_id)
        revoked = a.execute("UPDATE sessions SET revoked_at = now() WHERE user_id = %s"
                            " AND revoked_at IS NULL", (user_id,)).rowcount
    assert revoked == 2
    assert {rows.fetch("sessions", db, s)["revoked_at"] for s in (older, newer)} == {started}


def test_licenses_a_transaction_begun_before_the_purchase_cancels_it(db, other):
    user_id = rows.user(db)
    with begun_first(db, "cadcam_app") as (a, started):
        license_id = app_inserts(other, "licenses", user_id)
        set_acting_user(a, user_id)
        a.execute("UPDATE licenses SET status = 'cancelled', cancelled_at = now(),"
                  " auto_renew = false WHERE id = %s", (license_id,))
        assert_began_before(started, other, "licenses", license_id)
    row = rows.fetch("licenses", db, license_id)
    assert (row["status"], row["updated_at"]) == ("cancelled", started)


def test_models_a_transaction_begun_before_the_upload_renames_and_deletes_it(db, other):
    user_id = rows.user(db)
    with begun_first(db, "cadcam_app") as (a, started):
        model_id = app_inserts(other, "models", user_id)
        set_acting_user(a, user_id)
        a.execute("UPDATE models SET name = 'Flanş v2' WHERE id = %s", (model_id,))
        a.execute("UPDATE models SET deleted_at = now() WHERE id = %s", (model_id,))
        assert_began_before(started, other, "models", model_id)
    row = rows.fetch("models", db, model_id)
    assert (row["name"], row["updated_at"], row["deleted_at"]) == ("Flanş v2", started, started)


def test_jobs_the_app_changes_a_job_queued_after_its_transaction_began(db, other):
    user_id = rows.user(db)
    with begun_first(db, "cadcam_app") as (a, started):
        job_id = app_inserts(other, "jobs", user_id, status="queued")
        set_acting_user(a, user_id)
        a.execute("UPDATE jobs SET priority = 0 WHERE id = %s", (job_id,))
        assert_began_before(started, other, "jobs", job_id)
    assert rows.fetch("jobs", db, job_id)["updated_at"] == started


# --------------------------------------------------------------------------- workers

def test_jobs_a_worker_claims_and_finishes_a_job_queued_after_its_transaction_began(db, other):
    user_id = rows.user(db)
    with begun_first(db, "cadcam_worker") as (w, started):
        job_id = app_inserts(other, "jobs", user_id, status="queued", priority=0)
        claimed = w.execute(CLAIM).fetchone()
        assert claimed is not None and claimed[0] == job_id
        w.execute("UPDATE jobs SET progress = 40 WHERE id = %s", (job_id,))
        w.execute("UPDATE jobs SET status = 'succeeded', progress = 100, finished_at = now()"
                  " WHERE id = %s", (job_id,))
        assert_began_before(started, other, "jobs", job_id)
    row = rows.fetch("jobs", db, job_id)
    assert (row["status"], row["started_at"], row["finished_at"]) == ("succeeded", started, started)


@pytest.mark.parametrize("skew", SKEWS, ids=["50ms", "2s"])
def test_jobs_a_worker_whose_clock_is_behind_sets_started_at(db, other, skew):
    """The worker reports its own clock, `skew` behind the server's."""
    user_id = rows.user(db)
    job_id = app_inserts(other, "jobs", user_id, status="queued")
    worker_clock = datetime.now(timezone.utc) - skew
    with acting(db, "cadcam_worker"):
        assert db.execute(
            "UPDATE jobs SET status = 'running', started_at = %s, celery_task_id = %s"
            " WHERE id = %s AND status = 'queued'",
            (worker_clock, uuid.uuid4(), job_id)).rowcount == 1
    assert rows.fetch("jobs", db, job_id)["started_at"] < created_at(db, "jobs", job_id)
    with acting(db, "cadcam_worker"):
        db.execute("UPDATE jobs SET status = 'succeeded', progress = 100, finished_at = %s"
                   " WHERE id = %s", (datetime.now(timezone.utc) - skew, job_id))
    assert rows.fetch("jobs", db, job_id)["status"] == "succeeded"


@pytest.mark.parametrize("skew", SKEWS, ids=["50ms", "2s"])
def test_jobs_a_worker_whose_clock_is_behind_still_cannot_finish_before_it_started(db, skew):
    """What one worker controls stays a rule: its attempt's finish is not
    before its start (ck_jobs_finished_not_before_started)."""
    job_id = rows.job(db, status="queued")
    worker_clock = datetime.now(timezone.utc) - skew
    with acting(db, "cadcam_worker"):
        db.execute("UPDATE jobs SET status = 'running', started_at = %s WHERE id = %s",
                   (worker_clock, job_id))
    with rows.violates("ck_jobs_finished_not_before_started"), acting(db, "cadcam_worker"):
        db.execute("UPDATE jobs SET status = 'failed', finished_at = %s WHERE id = %s",
                   (worker_clock - timedelta(microseconds=1), job_id))


@pytest.mark.parametrize("skew", SKEWS, ids=["50ms", "2s"])
def test_sessions_an_app_server_whose_clock_is_behind_refreshes_a_new_session(db, skew):
    user_id = rows.user(db)
    session_id = rows.session(db, user_id)
    with acting(db, "cadcam_app", user_id):
        db.execute("UPDATE sessions SET last_used_at = %s WHERE id = %s",
                   (datetime.now(timezone.utc) - skew, session_id))
    row = rows.fetch("sessions", db, session_id)
    assert row["last_used_at"] < row["created_at"]


# --------------------------------------------------------------------------- erasure

SIGN_IN = """
INSERT INTO sessions (user_id, refresh_token_hash, access_token_jti, device_fingerprint,
    ip_address, user_agent, expires_at)
VALUES (%s, %s, %s, 'device-1', '192.0.2.7', 'FreeCAD/1.0', now() + interval '30 days')
RETURNING id"""


def check_account(conn, user_id: int) -> str:
    """What the application does first in a transaction that writes personal data."""
    return scalar(conn, "SELECT status FROM users WHERE id = %s FOR KEY SHARE", (user_id,))


def wait_until_blocked(dsn: str, query_like: str) -> None:
    """Until a session running such a query waits for a lock (seen as the superuser)."""
    deadline = time.monotonic() + 10
    with psycopg.connect(dsn, autocommit=True) as watcher:
        while not scalar(watcher, "SELECT count(*) FROM pg_stat_activity"
                                  " WHERE wait_event_type = 'Lock' AND query LIKE %s",
                         (query_like,)):
            assert time.monotonic() < deadline, f"no session waits running {query_like}"
            time.sleep(0.01)


def test_an_erasure_waits_for_a_sign_in_that_checked_the_account_and_erases_it_too(db, other):
    user_id = rows.user(db, status="active")
    with acting(db, "cadcam_app"):
        set_acting_user(db, user_id)
        assert check_account(db, user_id) == "active"
        erasure = threading.Thread(target=lambda: other.execute(
            "SELECT erase_user(%s)", (user_id,)))
        erasure.start()
        wait_until_blocked(db.info.dsn, "SELECT erase_user%")
        session_id = scalar(db, SIGN_IN, (user_id, os.urandom(32), uuid.uuid4()))
    erasure.join(10)
    row = rows.fetch("sessions", db, session_id)
    assert (row["device_fingerprint"], row["ip_address"], row["user_agent"]) == (None,) * 3
    assert row["revoked_at"] is not None
    logged = db.execute("SELECT new_values::text FROM audit_log WHERE table_name = 'sessions'"
                        " AND row_id = %s", (session_id,)).fetchall()
    assert logged and not any("192.0.2.7" in text or "device-1" in text for (text,) in logged)


def test_a_sign_in_after_an_erasure_sees_the_account_deleted(db, other):
    user_id = rows.user(db, status="active")
    with acting(db, "cadcam_app"):
        set_acting_user(db, user_id)
        scalar(db, "SELECT 1")  # this transaction began before the erasure
        assert scalar(other, "SELECT erase_user(%s)", (user_id,)) is True
        assert check_account(db, user_id) == "deleted"
