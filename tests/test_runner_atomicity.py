"""Atomicity: a migration and its record are one transaction; a failing
migration leaves the database exactly as before and names the file and the
statement; non-transactional migrations clean up the INVALID index a failed
CREATE INDEX CONCURRENTLY leaves behind."""

from __future__ import annotations

import psycopg
import pytest
from yoyo import get_backend, read_migrations

from runner import config
from runner.errors import EXIT_FAILED, EXIT_LOCK
from runner.migrate import commands, dump, engine
from runner.settings import Settings
from tests.cli import applied_ids, extra_migration, migrations_copy, quiet, run_cli


def scalar(url: str, query: str, *params):
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchone()[0]


@pytest.fixture
def migrated(empty_db):
    commands.migrate(empty_db, out=quiet)
    return empty_db


BAD = extra_migration(
    "CREATE TABLE half_done (id int);\n"
    "INSERT INTO half_done VALUES (1);\n"
    "INSERT INTO no_such_table VALUES (1);\n"
    "CREATE TABLE never_reached (id int);\n",
    rollback="DROP TABLE half_done;\n")


def test_failing_migration_changes_nothing_and_names_file_and_statement(migrated, tmp_path,
                                                                        pg_dump):
    before = dump.normalized_dump(migrated, pg_dump)
    folder = migrations_copy(tmp_path, BAD)
    result = run_cli("migrate", "--migrations", folder, DATABASE_URL=migrated)
    assert result.returncode == EXIT_FAILED
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert message.startswith("schema: applying 9001_extra failed at 9001_extra.sql line 6")
    assert "INSERT INTO no_such_table" in message and "does not exist" in message
    assert dump.normalized_dump(migrated, pg_dump) == before
    assert "9001_extra" not in applied_ids(migrated)


def test_crash_between_apply_and_record_leaves_nothing_applied(migrated, tmp_path, monkeypatch):
    """The runner applies and records in one transaction: a fault after the
    statements ran and before the record is written rolls both back."""
    folder = migrations_copy(tmp_path, extra_migration(
        "CREATE TABLE made_by_9001 (id int);\n", rollback="DROP TABLE made_by_9001;\n"))
    settings = Settings(migrations_dir=folder)

    def crash(*_args):
        raise RuntimeError("injected fault between apply and record")

    with monkeypatch.context() as patch:
        patch.setattr(engine, "_record", crash)
        with pytest.raises(RuntimeError, match="injected fault"):
            commands.migrate(migrated, settings, out=quiet)
    assert scalar(migrated, "SELECT to_regclass('made_by_9001')") is None
    assert "9001_extra" not in applied_ids(migrated)

    assert commands.migrate(migrated, settings, out=quiet) == ["9001_extra"]
    assert scalar(migrated, "SELECT to_regclass('made_by_9001')::text") == "made_by_9001"


def test_plain_yoyo_leaves_a_migration_applied_but_unrecorded_in_that_window(
        migrated, tmp_path, monkeypatch):
    """Why the runner does its own apply: yoyo commits the migration on one
    connection and records it on another, so the same fault leaves the
    change in place with no record, and the next run fails on it."""
    folder = migrations_copy(tmp_path, extra_migration(
        "CREATE TABLE made_by_9001 (id int);\n", rollback="DROP TABLE made_by_9001;\n"))
    backend = get_backend(config.yoyo_url(migrated))
    try:
        pending = backend.to_apply(read_migrations(str(folder)))
        with monkeypatch.context() as patch:
            patch.setattr(type(backend), "mark_one",
                          lambda *a, **k: (_ for _ in ()).throw(RuntimeError("fault")))
            with pytest.raises(RuntimeError):
                backend.apply_one(pending[0])
    finally:
        backend.connection.close()
    assert scalar(migrated, "SELECT to_regclass('made_by_9001')::text") == "made_by_9001"
    assert "9001_extra" not in applied_ids(migrated)
    again = run_cli("migrate", "--migrations", folder, DATABASE_URL=migrated)
    assert again.returncode == EXIT_FAILED and "already exists" in again.stderr


def test_failing_rollback_changes_nothing(migrated, tmp_path):
    folder = migrations_copy(tmp_path, extra_migration(
        "CREATE TABLE made_by_9001 (id int);\n",
        rollback="DROP TABLE made_by_9001;\nDROP TABLE no_such_table;\n"))
    assert run_cli("migrate", "--migrations", folder, DATABASE_URL=migrated).returncode == 0
    result = run_cli("rollback", "--migrations", folder, DATABASE_URL=migrated)
    assert result.returncode == EXIT_FAILED
    assert "9001_extra.rollback.sql line 4" in result.stderr
    assert scalar(migrated, "SELECT to_regclass('made_by_9001')::text") == "made_by_9001"
    assert "9001_extra" in applied_ids(migrated)


def test_rollback_without_a_rollback_file_is_refused(migrated, tmp_path):
    folder = migrations_copy(tmp_path, extra_migration("CREATE TABLE made_by_9001 (id int);\n"))
    assert run_cli("migrate", "--migrations", folder, DATABASE_URL=migrated).returncode == 0
    result = run_cli("rollback", "--migrations", folder, DATABASE_URL=migrated)
    assert result.returncode == EXIT_FAILED and "has no rollback file" in result.stderr
    assert "9001_extra" in applied_ids(migrated)


CONCURRENT_INDEX = extra_migration(
    "CREATE INDEX CONCURRENTLY idx_users_last_login_at ON users (last_login_at);\n",
    rollback="DROP INDEX CONCURRENTLY idx_users_last_login_at;\n", transactional=False)


def test_non_transactional_migration_builds_an_index_concurrently(migrated, tmp_path):
    folder = migrations_copy(tmp_path, CONCURRENT_INDEX)
    result = run_cli("migrate", "--migrations", folder, DATABASE_URL=migrated)
    assert result.returncode == 0, result.stderr
    assert scalar(migrated, "SELECT indisvalid FROM pg_index "
                            "WHERE indexrelid = 'idx_users_last_login_at'::regclass") is True
    assert "9001_extra" in applied_ids(migrated)
    plan = run_cli("plan", "--migrations", folder, DATABASE_URL=migrated)
    assert "nothing to apply" in plan.stdout
    back = run_cli("rollback", "--migrations", folder, DATABASE_URL=migrated)
    assert back.returncode == 0, back.stderr
    assert scalar(migrated, "SELECT to_regclass('idx_users_last_login_at')") is None


def test_failed_concurrent_index_leaves_no_invalid_index(migrated, tmp_path):
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute("INSERT INTO users (email) VALUES ('a@example.com.tr'), ('b@example.com.tr')")
    folder = migrations_copy(tmp_path, extra_migration(
        "CREATE UNIQUE INDEX CONCURRENTLY uq_users_locale ON users (locale);\n",
        rollback="DROP INDEX CONCURRENTLY uq_users_locale;\n", transactional=False))
    result = run_cli("migrate", "--migrations", folder, DATABASE_URL=migrated)
    assert result.returncode == EXIT_FAILED
    assert "dropping INVALID index public.uq_users_locale" in result.stdout
    assert "could not create unique index" in result.stderr
    assert scalar(migrated, "SELECT to_regclass('uq_users_locale')") is None
    assert scalar(migrated, "SELECT count(*) FROM pg_index WHERE NOT indisvalid") == 0
    assert "9001_extra" not in applied_ids(migrated)


def test_a_stale_plain_yoyo_lock_row_is_reported_not_ignored(migrated, tmp_path):
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute("INSERT INTO yoyo_lock (locked, ctime, pid) VALUES (1, now(), 4242)")
    folder = migrations_copy(tmp_path, extra_migration("CREATE TABLE t9001 (id int);\n"))
    result = run_cli("migrate", "--migrations", folder, DATABASE_URL=migrated)
    assert result.returncode == EXIT_LOCK
    assert "pid 4242" in result.stderr and "yoyo break-lock" in result.stderr
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute("DELETE FROM yoyo_lock")
    assert run_cli("migrate", "--migrations", folder, DATABASE_URL=migrated).returncode == 0


def test_the_runner_never_commits_a_yoyo_lock_row(migrated, tmp_path):
    folder = migrations_copy(tmp_path, extra_migration("CREATE TABLE t9001 (id int);\n"))
    assert run_cli("migrate", "--migrations", folder, DATABASE_URL=migrated).returncode == 0
    assert scalar(migrated, "SELECT count(*) FROM yoyo_lock") == 0
