"""The runner's command line: migrate and status against DATABASE_URL, the
embedded server for `make migrate`, and one-line errors without secrets."""

from __future__ import annotations

import os
import shutil
import tempfile

import port_for
import pytest

from runner import config
from runner.errors import EXIT_SERVER, EXIT_USAGE
from runner.servers import majors
from tests.cli import ALL_APPLIED, MIGRATION_IDS, extra_migration, migrations_copy, run_cli


def test_migrate_then_status_through_database_url(empty_db):
    first = run_cli("migrate", DATABASE_URL=empty_db)
    assert first.returncode == 0, first.stderr
    assert "applied  0001_extensions" in first.stdout
    assert ALL_APPLIED in first.stdout
    again = run_cli("migrate", DATABASE_URL=empty_db)
    assert again.returncode == 0 and "nothing to apply" in again.stdout
    status = run_cli("status", DATABASE_URL=empty_db)
    assert status.returncode == 0
    assert all(line.startswith("applied ") for line in status.stdout.splitlines())


def test_rollback_steps(empty_db):
    run_cli("migrate", DATABASE_URL=empty_db)
    result = run_cli("rollback", "--steps", "2", DATABASE_URL=empty_db)
    assert result.returncode == 0, result.stderr
    undone = [line.split()[2] for line in result.stdout.splitlines()
              if line.startswith("rolled back ")]
    assert undone == MIGRATION_IDS[:-3:-1]
    status = run_cli("status", DATABASE_URL=empty_db).stdout.splitlines()
    assert [line.split()[1] for line in status if line.startswith("pending")] == MIGRATION_IDS[-2:]


def test_unreachable_server_is_one_line_without_the_password():
    port = port_for.select_random()
    result = run_cli("status", DATABASE_URL=f"postgresql://app:s3cr3t-pw@127.0.0.1:{port}/x")
    assert result.returncode == EXIT_SERVER
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "s3cr3t-pw" not in result.stderr + result.stdout
    assert "app:***@127.0.0.1" in result.stderr


def test_wrong_url_scheme_is_a_usage_error():
    result = run_cli("status", DATABASE_URL="mysql://root@127.0.0.1/x")
    assert result.returncode == EXIT_USAGE
    assert result.stderr.startswith("schema: DATABASE_URL must start with postgresql://")


@pytest.mark.parametrize("url", [
    "postgresql://u:p@h:5/d", "postgres://u:p@h:5/d", "postgresql+psycopg://u:p@h:5/d"])
def test_urls_are_converted_for_yoyo_and_libpq(url):
    assert config.yoyo_url(url) == "postgresql+psycopg://u:p@h:5/d"
    assert config.libpq_url(url) == "postgresql://u:p@h:5/d"
    assert config.redact(url).endswith("u:***@h:5/d")


def test_the_session_server_does_not_run_as_root(pg_server):
    pid = int((pg_server.data_dir / "postmaster.pid").read_text().split()[0])
    uid = int(next(line for line in open(f"/proc/{pid}/status")
                   if line.startswith("Uid:")).split()[1])
    assert uid != 0
    assert uid == pg_server.data_dir.stat().st_uid


def test_embedded_server_flow_of_make_migrate():
    """No DATABASE_URL: start the embedded server, create the database, migrate;
    a second run does nothing; server stop stops it."""
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    state = tempfile.mkdtemp(prefix="schema-runner-", dir=shm)
    env = {"SCHEMA_PG_STATE_DIR": state, "SCHEMA_PG_PORT": str(port_for.select_random()),
           "DATABASE_URL": ""}
    try:
        first = run_cli("migrate", env=env)
        assert first.returncode == 0, first.stderr
        assert f"started PostgreSQL {majors.selected_major()} on" in first.stdout
        assert "created database cadcam" in first.stdout
        assert ALL_APPLIED in first.stdout
        assert "make psql" in first.stdout
        second = run_cli("migrate", env=env)
        assert second.returncode == 0
        assert "started" not in second.stdout and "nothing to apply" in second.stdout
        psql = run_cli("psql", "-Atc", "SELECT count(*) FROM jobs", env=env)
        assert psql.stdout.strip() == "0", psql.stderr
        assert run_cli("server", "status", env=env).stdout.startswith("running")
    finally:
        stop = run_cli("server", "stop", env=env)
        remove = run_cli("server", "remove", env=env)
        removed = not os.path.exists(state)
        shutil.rmtree(state, ignore_errors=True)
    assert stop.stdout.strip() == "stopped"
    assert remove.stdout.strip() == f"removed {state}" and removed


def test_conventions_command_passes_on_the_schema_and_names_a_violation(empty_db):
    assert run_cli("migrate", DATABASE_URL=empty_db).returncode == 0
    clean = run_cli("conventions", DATABASE_URL=empty_db)
    assert clean.returncode == 0 and "follows every rule" in clean.stdout
    import psycopg

    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE scratchpad (note varchar(20))")
    dirty = run_cli("conventions", DATABASE_URL=empty_db)
    assert dirty.returncode == 7
    assert "table scratchpad" in dirty.stdout and "(pk-missing)" in dirty.stdout
    assert "(column-varchar)" in dirty.stdout
    assert dirty.stderr.startswith("schema: ") and "convention violation" in dirty.stderr


def test_a_depends_line_naming_no_file_is_one_line_and_exit_2(empty_db, tmp_path):
    """yoyo raises BadMigration when it reads the file, to apply it; the runner
    says which file, in one line, and applies nothing."""
    folder = migrations_copy(tmp_path, extra_migration("SELECT 1;\n", depends="9000_not_there"))
    result = run_cli("migrate", "--migrations", folder, DATABASE_URL=empty_db)
    assert result.returncode == EXIT_USAGE
    assert result.stderr.strip() == (
        f"schema: Could not resolve dependencies in {folder / '9001_extra.sql'}: "
        "check its `-- depends:` line against the folder")
    assert "users" not in run_cli("psql", "-Atc", r"\dt", DATABASE_URL=empty_db).stdout
