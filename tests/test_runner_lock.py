"""The migration lock and timeouts: concurrent runners, a waiting runner that
holds no transaction, lock-wait timeout, kill -9 leaving nothing behind, and
lock_timeout with bounded retries."""

from __future__ import annotations

import os
import signal
import time

import psycopg
import pytest

from runner.errors import EXIT_LOCK
from runner.migrate import lock
from tests.cli import (
    ALL_APPLIED,
    MIGRATION_IDS,
    extra_migration,
    migrations_copy,
    run_cli,
    start_cli,
)


def wait_until(condition, timeout: float = 60.0, interval: float = 0.05):
    """Poll until condition() is true; generous, since a loaded machine (two
    suites at once) is slow to start a runner, never wrong about the order."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def runner_sessions(conn) -> list[tuple]:
    return conn.execute(
        "SELECT pid, state, xact_start, query FROM pg_stat_activity "
        "WHERE application_name = 'schema-runner' AND pid <> pg_backend_pid()").fetchall()


@pytest.fixture
def holder(empty_db):
    """A session holding the migration lock, as another runner would."""
    conn = psycopg.connect(empty_db, autocommit=True, application_name="test-holder")
    conn.execute("SELECT pg_advisory_lock(%s)", (lock.LOCK_KEY,))
    yield conn
    conn.close()


def test_eight_runners_at_once_apply_each_migration_exactly_once(empty_db):
    runners = [start_cli("migrate", DATABASE_URL=empty_db) for _ in range(8)]
    results = [(r.wait(timeout=120), *r.communicate()) for r in runners]
    assert [code for code, _, _ in results] == [0] * 8, [err for _, _, err in results]
    appliers = [out for _, out, _ in results if "applied  0001_extensions" in out]
    assert len(appliers) == 1
    assert sum("nothing to apply" in out for _, out, _ in results) == 7
    with psycopg.connect(empty_db) as conn:
        history = conn.execute(
            "SELECT migration_id, count(*) FROM _yoyo_migration GROUP BY 1 ORDER BY 1").fetchall()
        applies = conn.execute(
            "SELECT count(*), count(DISTINCT migration_id) FROM _yoyo_log "
            "WHERE operation = 'apply'").fetchone()
    assert history == [(migration_id, 1) for migration_id in MIGRATION_IDS]
    assert applies == (len(MIGRATION_IDS), len(MIGRATION_IDS))


def test_lock_wait_timeout_names_the_holder_and_has_its_exit_code(empty_db, holder):
    holder_pid = holder.info.backend_pid
    result = run_cli("migrate", "--lock-wait", "0.5", DATABASE_URL=empty_db)
    assert result.returncode == EXIT_LOCK
    assert f"held by pid {holder_pid} (test-holder) since" in result.stdout
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"still held by pid {holder_pid}" in result.stderr
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("SELECT to_regclass('users')").fetchone()[0] is None


def test_a_waiting_runner_holds_no_transaction_and_goes_on_when_released(empty_db, holder):
    runner = start_cli("migrate", "--lock-wait", "30", DATABASE_URL=empty_db)
    try:
        # The runner polls for the lock with short queries, so a sample may
        # catch one running; what must never be seen is a transaction left
        # open between them. Wait until both connections are there, then look
        # for a second: no sample shows one idle in a transaction, and some
        # show both idle with none.
        wait_until(lambda: len(runner_sessions(holder)) >= 2)
        samples = [runner_sessions(holder) for _ in range(100) if not time.sleep(0.01)]
        open_between = [s for sample in samples for s in sample if s[1] != "active" and s[2]]
        assert open_between == [], open_between
        assert any(all(state == "idle" and xact_start is None for _, state, xact_start, _ in sample)
                   for sample in samples), samples[-1]
        holder.execute("SELECT pg_advisory_unlock(%s)", (lock.LOCK_KEY,))
        out, err = runner.communicate(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.communicate()
    assert runner.returncode == 0, err
    assert "waiting for the migration lock" in out and ALL_APPLIED in out


def test_kill_9_mid_migration_leaves_the_previous_version_and_no_lock(empty_db, tmp_path):
    """A migration that sleeps is killed with SIGKILL: its transaction is rolled
    back, no lock survives, and the next run completes."""
    folder = migrations_copy(tmp_path, {
        **extra_migration("CREATE TABLE sleep_control (seconds float NOT NULL);\n"
                          "INSERT INTO sleep_control VALUES (60);\n",
                          rollback="DROP TABLE sleep_control;\n", name="9001_sleep_control"),
        **extra_migration("CREATE TABLE slow_marker (id int);\n"
                          "SELECT pg_sleep((SELECT seconds FROM sleep_control));\n",
                          rollback="DROP TABLE slow_marker;\n", depends="9001_sleep_control",
                          name="9002_slow"),
    })
    runner = start_cli("migrate", "--migrations", folder, "--statement-timeout", "0",
                       DATABASE_URL=empty_db)
    with psycopg.connect(empty_db, autocommit=True) as watcher:
        wait_until(lambda: any("pg_sleep" in (query or "")
                               for _, _, _, query in runner_sessions(watcher)), timeout=60)
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait()
        # The server notices the dead client (client_connection_check_interval)
        # and rolls back; the lock goes with the session.
        wait_until(lambda: not runner_sessions(watcher), timeout=20)
        assert lock.holder(watcher) is None
        applied = {row[0] for row in watcher.execute("SELECT migration_id FROM _yoyo_migration")}
        assert "9001_sleep_control" in applied and "9002_slow" not in applied
        assert watcher.execute("SELECT to_regclass('slow_marker')").fetchone()[0] is None
        assert watcher.execute("SELECT count(*) FROM yoyo_lock").fetchone()[0] == 0
        watcher.execute("UPDATE sleep_control SET seconds = 0")
    again = run_cli("migrate", "--migrations", folder, "--lock-wait", "5", DATABASE_URL=empty_db)
    assert again.returncode == 0, again.stderr
    assert "applied  9002_slow" in again.stdout


ALTER_USERS = extra_migration("ALTER TABLE users ADD COLUMN nickname text;\n",
                              rollback="ALTER TABLE users DROP COLUMN nickname;\n")


@pytest.fixture
def table_lock(empty_db, tmp_path):
    """A migrated database, a migrations folder whose next migration alters
    users, and a session holding a lock on users that the ALTER must wait for."""
    assert run_cli("migrate", DATABASE_URL=empty_db).returncode == 0
    folder = migrations_copy(tmp_path, ALTER_USERS)
    conn = psycopg.connect(empty_db, autocommit=True)
    conn.execute("BEGIN")
    conn.execute("LOCK TABLE users IN ACCESS SHARE MODE")
    yield folder, conn
    conn.close()


def has_nickname(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM information_schema.columns WHERE "
                            "table_name = 'users' AND column_name = 'nickname'").fetchone()[0] == 1


def test_lock_timeout_retries_then_fails_with_its_exit_code(empty_db, table_lock):
    folder, _ = table_lock
    started = time.monotonic()
    result = run_cli("migrate", "--migrations", folder, "--lock-timeout", "0.3", "--retries", "2",
                     DATABASE_URL=empty_db, SCHEMA_LOCK_BACKOFF="0.2")
    elapsed = time.monotonic() - started
    assert result.returncode == EXIT_LOCK, result.stderr
    assert "retry 1/2 in 0.2 s" in result.stdout and "retry 2/2 in 0.4 s" in result.stdout
    assert "3 attempt(s)" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    # 3 attempts of 0.3 s and 0.6 s of backoff: never less than 1.5 s (less 10
    # ms of timer slack); start-up on a loaded machine only adds to it.
    assert 1.49 <= elapsed < 100
    assert not has_nickname(empty_db)


def runner_waits_for_a_lock(conn) -> bool:
    return conn.execute(
        "SELECT EXISTS (SELECT FROM pg_locks AS l JOIN pg_stat_activity AS a USING (pid) "
        "WHERE NOT l.granted AND a.application_name = 'schema-runner')").fetchone()[0]


def test_lock_timeout_retry_succeeds_once_the_lock_is_released(empty_db, table_lock):
    """The lock is released on an event, not after a fixed time: once the
    runner's first attempt has waited and given up, however slow the machine."""
    folder, conn = table_lock
    runner = start_cli("migrate", "--migrations", folder, "--lock-timeout", "0.5",
                       "--retries", "5", DATABASE_URL=empty_db, SCHEMA_LOCK_BACKOFF="0.5")
    try:
        with psycopg.connect(empty_db, autocommit=True) as watcher:
            wait_until(lambda: runner_waits_for_a_lock(watcher))
            wait_until(lambda: not runner_waits_for_a_lock(watcher), interval=0.01)
        conn.execute("ROLLBACK")
        out, err = runner.communicate(timeout=120)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.communicate()
    assert runner.returncode == 0, err
    assert "lock not available, retry 1/5" in out
    assert "applied  9001_extra" in out
    assert has_nickname(empty_db)


def test_statement_timeout_stops_a_long_statement_and_changes_nothing(empty_db, tmp_path):
    assert run_cli("migrate", DATABASE_URL=empty_db).returncode == 0
    folder = migrations_copy(tmp_path, extra_migration(
        "CREATE TABLE slow_marker (id int);\nSELECT pg_sleep(30);\n",
        rollback="DROP TABLE slow_marker;\n"))
    started = time.monotonic()
    result = run_cli("migrate", "--migrations", folder, "--statement-timeout", "0.5",
                     DATABASE_URL=empty_db)
    assert result.returncode == 1
    assert "ran past statement_timeout 0.5 s" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 29  # stopped, not left to finish its 30 s
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("SELECT to_regclass('slow_marker')").fetchone()[0] is None
