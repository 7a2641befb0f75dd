"""Guards of the runner, through its command line: the environment recorded
in the database, the confirmation a production rollback needs, the minimum
server version, the password of DATABASE_URL kept out of every output, and
expected faults reported as one line with a documented exit code."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import port_for
import psycopg
import pytest

from runner.errors import (
    EXIT_FAILED,
    EXIT_REFUSED,
    EXIT_SERVER,
    EXIT_USAGE,
    EXIT_VERIFY,
    RunnerError,
)
from runner.migrate import commands
from runner.migrate.guards import check_server_version
from runner.settings import Settings
from tests.cli import MIGRATION_IDS, applied_ids, extra_migration, migrations_copy, quiet, run_cli

PASSWORD = "S3cr3t-Pa55"
BROKEN = extra_migration("CREATE TABLE broken (;\n", rollback="DROP TABLE broken;\n")


def recorded_environment(url: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT name FROM schema_runner.environment").fetchone()[0]


def dbname(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def one_line_error(result) -> str:
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("schema: ")
    return lines[0]


def unreachable_url() -> str:
    return f"postgresql://deployer:{PASSWORD}@127.0.0.1:{port_for.select_random()}/cadcam"


# -- environment -------------------------------------------------------------------
@pytest.fixture
def staging_db(empty_db):
    """Migrated up to 0004_users as environment staging: more to apply and to roll back."""
    commands.migrate(empty_db, Settings(environment="staging"), to=MIGRATION_IDS[3],
                     out=quiet)
    return empty_db


COMMANDS = [("migrate",), ("rollback",), ("status",), ("status", "--json"), ("plan",),
            ("verify",)]


def test_first_migrate_records_development_by_default(empty_db, monkeypatch):
    monkeypatch.delenv("SCHEMA_ENV", raising=False)
    result = run_cli("migrate", DATABASE_URL=empty_db)
    assert result.returncode == 0, result.stderr
    assert recorded_environment(empty_db) == "development"


def test_first_migrate_records_schema_env(empty_db):
    result = run_cli("migrate", DATABASE_URL=empty_db, SCHEMA_ENV="staging")
    assert result.returncode == 0, result.stderr
    assert recorded_environment(empty_db) == "staging"


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_another_environment_is_refused(staging_db, args):
    result = run_cli(*args, DATABASE_URL=staging_db, SCHEMA_ENV="production")
    assert result.returncode == EXIT_REFUSED
    message = one_line_error(result)
    assert "'staging'" in message and "'production'" in message
    assert "SCHEMA_ENV=staging" in message
    assert result.stdout == ""
    assert applied_ids(staging_db) == MIGRATION_IDS[:4]
    assert recorded_environment(staging_db) == "staging"


def test_the_default_environment_is_refused_on_a_staging_database(staging_db, monkeypatch):
    monkeypatch.delenv("SCHEMA_ENV", raising=False)
    result = run_cli("migrate", DATABASE_URL=staging_db)
    assert result.returncode == EXIT_REFUSED
    message = one_line_error(result)
    assert "'staging'" in message and "'development'" in message
    assert applied_ids(staging_db) == MIGRATION_IDS[:4]


def test_an_environment_name_the_database_cannot_record_is_a_usage_error(empty_db):
    result = run_cli("migrate", DATABASE_URL=empty_db, SCHEMA_ENV="Prod env")
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "SCHEMA_ENV" in one_line_error(result)
    assert applied_ids(empty_db) == []


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_the_recorded_environment_works(staging_db, args):
    result = run_cli(*args, DATABASE_URL=staging_db, SCHEMA_ENV="staging")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


# -- production rollback ------------------------------------------------------------------
@pytest.fixture
def production_db(empty_db):
    result = run_cli("migrate", DATABASE_URL=empty_db, SCHEMA_ENV="production")
    assert result.returncode == 0, result.stderr
    assert applied_ids(empty_db) == MIGRATION_IDS
    return empty_db


@pytest.mark.parametrize("flags", [
    [],
    ["--allow-production"],
    ["--allow-production", "--confirm", "wrongname"],
    ["--confirm", "{db}"],
    ["--all"],
    ["--all", "--confirm", "{db}"],
    ["--to", MIGRATION_IDS[0], "--allow-production"],
    ["--allow-production", "--confirm", "{db}x"],
], ids=lambda flags: " ".join(flags) or "no flags")
def test_production_rollback_is_refused_without_both_flags(production_db, flags):
    name = dbname(production_db)
    args = [flag.format(db=name) for flag in flags]
    result = run_cli("rollback", *args, DATABASE_URL=production_db, SCHEMA_ENV="production")
    assert result.returncode == EXIT_REFUSED
    message = one_line_error(result)
    assert f"'{name}'" in message
    assert f"--allow-production --confirm {name}" in message
    assert "rolled back" not in result.stdout
    assert applied_ids(production_db) == MIGRATION_IDS


def test_production_rollback_with_both_flags_rolls_back_one(production_db):
    name = dbname(production_db)
    result = run_cli("rollback", "--allow-production", "--confirm", name,
                     DATABASE_URL=production_db, SCHEMA_ENV="production")
    assert result.returncode == 0, result.stderr
    assert f"rolled back  {MIGRATION_IDS[-1]}" in result.stdout
    assert "1 migration(s) rolled back" in result.stdout
    assert applied_ids(production_db) == MIGRATION_IDS[:-1]


def test_development_rollback_needs_no_flag(empty_db, monkeypatch):
    monkeypatch.delenv("SCHEMA_ENV", raising=False)
    assert run_cli("migrate", DATABASE_URL=empty_db).returncode == 0
    result = run_cli("rollback", DATABASE_URL=empty_db)
    assert result.returncode == 0, result.stderr
    assert applied_ids(empty_db) == MIGRATION_IDS[:-1]


# -- server version ---------------------------------------------------------------------
def test_a_server_older_than_15_is_refused():
    with pytest.raises(RunnerError) as caught:
        check_server_version(140010)
    assert caught.value.exit_code == EXIT_REFUSED
    assert "PostgreSQL 14.10" in str(caught.value)
    assert "15" in str(caught.value).replace("14.10", "")


@pytest.mark.parametrize("version", [150000, 160004, 170010])
def test_servers_from_15_on_pass(version):
    assert check_server_version(version) is None


# -- secrets -----------------------------------------------------------------------------
@pytest.fixture
def deployer_url(empty_db, pg_server):
    """empty_db through a role with a password (trust auth: any password is accepted)."""
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS deployer")
        conn.execute(f"CREATE ROLE deployer LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
    yield f"postgresql://deployer:{PASSWORD}@127.0.0.1:{pg_server.port}/{dbname(empty_db)}"
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("REASSIGN OWNED BY deployer TO CURRENT_USER")
        conn.execute("DROP OWNED BY deployer")
        conn.execute("DROP ROLE deployer")


def assert_no_password(result) -> None:
    assert PASSWORD not in result.stdout
    assert PASSWORD not in result.stderr


def test_the_password_is_never_printed_by_a_deploy(deployer_url):
    for args in [("plan",), ("migrate",), ("status",), ("status", "--json"), ("plan",),
                 ("verify",), ("rollback",), ("rollback", "--to", MIGRATION_IDS[2])]:
        result = run_cli(*args, DATABASE_URL=deployer_url)
        assert result.returncode == 0, (args, result.stderr)
        assert_no_password(result)
    assert applied_ids(deployer_url) == MIGRATION_IDS[:3]


def test_status_json_shows_the_database_with_the_password_redacted(deployer_url, pg_server):
    assert run_cli("migrate", DATABASE_URL=deployer_url).returncode == 0
    result = run_cli("status", "--json", DATABASE_URL=deployer_url)
    assert result.returncode == 0, result.stderr
    database = json.loads(result.stdout)["database"]
    assert database.startswith(f"postgresql://deployer:***@127.0.0.1:{pg_server.port}/")
    assert_no_password(result)


def test_a_failing_migration_does_not_print_the_password(deployer_url, tmp_path):
    folder = migrations_copy(tmp_path, BROKEN)
    result = run_cli("migrate", "--migrations", folder, DATABASE_URL=deployer_url)
    assert result.returncode == EXIT_FAILED
    assert "9001_extra" in one_line_error(result)
    assert_no_password(result)


def test_a_failing_verify_does_not_print_the_password(deployer_url):
    assert run_cli("migrate", DATABASE_URL=deployer_url).returncode == 0
    with psycopg.connect(deployer_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE jobs ADD COLUMN drift int")
    result = run_cli("verify", DATABASE_URL=deployer_url)
    assert result.returncode == EXIT_VERIFY
    assert "drift integer" in result.stdout
    assert_no_password(result)


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_an_unreachable_server_does_not_print_the_password(args):
    result = run_cli(*args, DATABASE_URL=unreachable_url())
    assert result.returncode == EXIT_SERVER
    assert "deployer:***@127.0.0.1" in one_line_error(result)
    assert_no_password(result)


# -- expected faults ------------------------------------------------------------------------
def test_a_failed_migration_is_one_line(empty_db, tmp_path):
    folder = migrations_copy(tmp_path, BROKEN)
    result = run_cli("migrate", "--migrations", folder, DATABASE_URL=empty_db)
    assert result.returncode == EXIT_FAILED
    assert one_line_error(result).startswith("schema: applying 9001_extra failed")


@pytest.mark.parametrize("command", ["migrate", "plan", "rollback"])
def test_an_unknown_to_id_is_one_line(empty_db, command):
    result = run_cli(command, "--to", "0099_nope", DATABASE_URL=empty_db)
    assert result.returncode == EXIT_USAGE
    assert "0099_nope" in one_line_error(result)


def test_an_unreachable_server_is_one_line():
    result = run_cli("migrate", DATABASE_URL=unreachable_url())
    assert result.returncode == EXIT_SERVER
    assert one_line_error(result).startswith("schema: cannot connect to ")


# -- usage errors ---------------------------------------------------------------------------
@pytest.mark.parametrize("args, env, says", [
    pytest.param(["migrate", "--lock-timeout", "-1"], {}, "must be a number from 0 to 2147483",
                 id="negative --lock-timeout"),
    pytest.param(["rollback", "--steps", "0"], {}, "must be 1 or more", id="--steps 0"),
    pytest.param(["migrate"], {"SCHEMA_LOCK_TIMEOUT": "soon"},
                 "SCHEMA_LOCK_TIMEOUT must be a number", id="migrate non-numeric env"),
    pytest.param(["status"], {"SCHEMA_LOCK_TIMEOUT": "soon"},
                 "SCHEMA_LOCK_TIMEOUT must be a number", id="status non-numeric env"),
    pytest.param(["migrate"], {"SCHEMA_LOCK_TIMEOUT": "-3"},
                 "SCHEMA_LOCK_TIMEOUT must be a number from 0 to", id="negative env"),
    pytest.param(["migrate"], {"SCHEMA_LOCK_TIMEOUT": "nan"}, "SCHEMA_LOCK_TIMEOUT",
                 id="nan env"),
    pytest.param(["migrate", "--lock-timeout", "inf"], {}, "lock-timeout",
                 id="infinite --lock-timeout"),
    pytest.param(["migrate", "--statement-timeout", "1e7"], {}, "statement-timeout",
                 id="--statement-timeout beyond PostgreSQL's limit"),
])
def test_usage_errors_exit_2_without_a_traceback(empty_db, args, env, says):
    result = run_cli(*args, env=env, DATABASE_URL=empty_db)
    assert result.returncode == EXIT_USAGE
    assert "Traceback" not in result.stderr
    assert says in result.stderr
    assert applied_ids(empty_db) == []
