"""The soak: the whole platform at once through PgBouncer, as the real roles
(tests/soak.py), then what the clients saw committed against the database.

One run for the module, on a fresh clone of the migrated template; each test
below checks one promise on its result. The figures (operations per second
by kind, errors by kind) are printed at the end of the test session.
"""

from __future__ import annotations

import os
from collections import Counter

import psycopg
import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from runner.config import SUPERUSER
from tests import soak
from tests.soak import fetch

PLAN = soak.Plan(seconds=20)
SECRETS = ["password_hash", "refresh_token_hash", "access_token_jti"]
KINDS = ["sign up", "sign in", "refresh", "revoke", "buy license", "cancel license",
         "upload model", "submit job", "browse", "browse as no one", "click", "claim",
         "progress", "succeed", "retry", "fail", "purge sessions", "erase user"]


@pytest.fixture(scope="module")
def soaked(request, pooler, pg_server, migrated_proc):
    """(ledger, superuser connection) after one soak run through the pooler."""
    name = f"soak_{os.getpid()}"
    janitor = DatabaseJanitor(user=SUPERUSER, host="127.0.0.1", port=pg_server.port,
                              dbname=name, template_dbname=migrated_proc.template_dbname)
    with janitor, psycopg.connect(pg_server.url(name), autocommit=True) as conn:
        target = soak.Target(lambda login: pooler.connect(name, login))
        ledger = soak.run(target, PLAN, drain_seconds=30, drain=lambda: conn.execute(
            "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')").fetchone()[0])
        request.config.stash[soak.FIGURES] = ["through PgBouncer (transaction mode), "
                                              f"{PLAN.users} users, {PLAN.workers} workers",
                                              *ledger.figures()]
        yield ledger, conn


def entries(conn) -> Counter:
    """Audit entries by (table, row, action), outside the erasure's transaction."""
    return Counter((r["table_name"], r["row_id"], r["action"]) for r in fetch(
        conn, "SELECT table_name, row_id, action FROM audit_log"
              " WHERE transaction_id::text::bigint IS DISTINCT FROM %s", (erase_txid(conn),)))


def erase_txid(conn) -> int | None:
    found = conn.execute("SELECT transaction_id::text::bigint FROM audit_log"
                         " WHERE action = 'erase'").fetchall()
    return found[0][0] if found else None


# --------------------------------------------------------------------------- errors and coverage

def test_no_error_but_the_provoked_ones(soaked):
    ledger, _ = soaked
    assert dict(ledger.unexpected) == {}, ledger.examples
    assert ledger.in_doubt == Counter()


def test_both_provoked_errors_happened_and_were_named(soaked):
    ledger, _ = soaked
    assert set(ledger.provoked) == set(soak.PROVOKED)
    assert all(n > 0 for n in ledger.provoked.values())


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_work_was_done(soaked, kind):
    ledger, _ = soaked
    assert ledger.ops[kind] > 0


# --------------------------------------------------------------------------- jobs

def test_every_claimed_attempt_was_claimed_by_exactly_one_worker(soaked):
    ledger, conn = soaked
    attempts = Counter((job, attempt) for job, attempt, _, _ in ledger.claims)
    assert [a for a, n in attempts.items() if n > 1] == []
    tasks = Counter(task for *_, task in ledger.claims)
    assert [t for t, n in tasks.items() if n > 1] == []
    # The database saw as many claims (queued -> running) as the workers made.
    assert soak.audited_claims(conn) == Counter(job for job, *_ in ledger.claims)


def test_no_job_lost_none_left_running_none_unknown(soaked):
    ledger, conn = soaked
    found = {r["id"]: r for r in fetch(conn, "SELECT * FROM jobs")}
    assert set(found) == set(ledger.jobs)
    assert {r["status"] for r in found.values()} <= set(soak.FINISHED)


def test_no_job_finished_twice(soaked):
    ledger, conn = soaked
    finished = Counter(r["row_id"] for r in fetch(conn, """
        SELECT row_id FROM audit_log WHERE table_name = 'jobs' AND action = 'update'
          AND new_values ->> 'status' = ANY(%s)""", (list(soak.FINISHED),)))
    assert finished == Counter(dict.fromkeys(ledger.jobs, 1))


def test_every_final_state_is_consistent(soaked):
    ledger, conn = soaked
    claims = Counter(job for job, *_ in ledger.claims)
    for job in fetch(conn, "SELECT * FROM jobs"):
        assert claims[job["id"]] == job["retry_count"] + 1, job
        assert job["finished_at"] is not None and job["finished_at"] >= job["started_at"]
        if job["status"] == "succeeded":
            assert (job["progress"], job["result"]) == (100, {"files": ["out.nc"]}), job
        else:
            assert job["retry_count"] == job["max_retries"], job
            assert job["max_retries"] in soak.RETRIES, job
            assert job["error_message"] == "spindle stalled", job


def test_no_lost_update(soaked):
    """Counters kept by the clients equal the rows: progress reports per job,
    clicks of the two tabs of one user."""
    ledger, conn = soaked
    reports = soak.progress_reports(conn)
    assert reports == {job: ledger.reports[job] or None for job in ledger.jobs}
    clicks = soak.clicks(conn)
    assert clicks == dict(ledger.clicks) and sum(clicks.values()) > 0


# --------------------------------------------------------------------------- the audit log

def test_rows_are_what_the_clients_committed(soaked):
    ledger, conn = soaked
    for table, expected in [("users", ledger.users), ("licenses", ledger.licenses),
                            ("models", ledger.models)]:
        assert {r["id"] for r in fetch(conn, f"SELECT id FROM {table}")} == set(expected)
    kept = {r["id"] for r in fetch(conn, "SELECT id FROM sessions")}
    assert kept <= set(ledger.sessions)
    assert len(ledger.sessions) - len(kept) == ledger.purged


def test_audit_log_holds_exactly_the_expected_entries(soaked):
    ledger, conn = soaked
    sessions_left = {r["id"] for r in fetch(conn, "SELECT id FROM sessions")}
    claims = Counter(job for job, *_ in ledger.claims)
    expected = Counter()
    for user in ledger.users:
        expected["users", user, "insert"] = 1
    for user, n in ledger.clicks.items():
        expected["users", user, "update"] = n
    for session in ledger.sessions:
        expected["sessions", session, "insert"] = 1
        expected["sessions", session, "update"] = int(session in ledger.revoked)
        expected["sessions", session, "delete"] = int(session not in sessions_left)
    for lic in ledger.licenses:
        expected["licenses", lic, "insert"] = 1
        expected["licenses", lic, "update"] = int(lic in ledger.cancelled)
    for model in ledger.models:
        expected["models", model, "insert"] = 1
    for job in ledger.jobs:
        expected["jobs", job, "insert"] = 1
        expected["jobs", job, "update"] = 2 * claims[job] + ledger.finishes[job]
    assert entries(conn) == +expected


def test_the_erasure_wrote_its_own_entries_only(soaked):
    ledger, conn = soaked
    assert ledger.erased is not None and erase_txid(conn) == ledger.erase_txid
    mine = fetch(conn, "SELECT table_name, row_id, subject_user_id, action, new_values"
                       " FROM audit_log WHERE transaction_id::text::bigint = %s",
                 (ledger.erase_txid,))
    actions = Counter((r["table_name"], r["action"]) for r in mine)
    summary = next(r["new_values"] for r in mine if r["action"] == "erase")
    assert actions == +Counter({("users", "update"): 1, ("users", "erase"): 1,
                                ("sessions", "update"): summary["sessions"]})
    assert {r["subject_user_id"] for r in mine} == {ledger.erased}


def test_no_personal_value_of_the_erased_user_is_left(soaked):
    ledger, conn = soaked
    text = soak.audit_text(conn)
    rows = "\n".join(r["t"] for r in fetch(
        conn, "SELECT u::text AS t FROM users AS u UNION ALL SELECT s::text FROM sessions AS s"))
    victim = ledger.personal[ledger.erased]
    assert len(victim) >= 5  # e-mail, phone, and a device, agent and address per sign-in
    assert [v for v in victim if v in text or v in rows] == []
    # The search can find such values: everyone else's are still there.
    others = [v for user, values in ledger.personal.items() if user != ledger.erased
              for v in values]
    assert others and all(v in text for v in others)


def test_no_secret_column_in_any_entry(soaked):
    _, conn = soaked
    leaked = fetch(conn, """
        SELECT id, table_name FROM audit_log
        WHERE old_values ?| %(secrets)s OR new_values ?| %(secrets)s""", {"secrets": SECRETS})
    assert leaked == []
    assert fetch(conn, "SELECT count(*) AS n FROM audit_log WHERE redacted_columns <> '{}'")[0][
        "n"] > 0


def test_app_entries_name_the_acting_user(soaked):
    """Every entry the application wrote after sign-up names the user it
    acted for, who owns the row: no pooled connection carried another's."""
    _, conn = soaked
    wrong = fetch(conn, """
        SELECT id, table_name, action, acting_user_id, subject_user_id FROM audit_log
        WHERE login_role = 'pooled_app' AND NOT (table_name = 'users' AND action = 'insert')
          AND acting_user_id IS DISTINCT FROM subject_user_id""")
    assert wrong == []


# --------------------------------------------------------------------------- isolation

def test_no_client_ever_saw_a_row_of_another_user(soaked):
    ledger, _ = soaked
    assert ledger.foreign_rows == []
    assert ledger.checks > 100
