"""What the runner reports and checks, through its command line: verify
(changed and missing files, schema drift, plain-yoyo history), status and its
JSON document, plan (the SQL migrate would run, touching nothing), and
migrate/rollback to a given migration."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from runner import cli, config
from runner.errors import EXIT_FAILED, EXIT_USAGE, EXIT_VERIFY, RunnerError
from runner.migrate import commands, dump
from runner.servers import majors
from runner.settings import Settings
from tests import differences
from tests.cli import MIGRATION_IDS, applied_ids, migrations_copy, quiet, run_cli

LAST = MIGRATION_IDS[-1]
STATES = {"applied", "pending", "changed", "missing"}
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def rows(url: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def status_json(url: str, *args) -> dict:
    result = run_cli("status", "--json", *args, DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def status_lines(url: str, *args) -> dict[str, str]:
    """migration id -> state, from the text status."""
    result = run_cli("status", *args, DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    return {line.split()[1]: line.split()[0] for line in result.stdout.splitlines()}


def entry(report: dict, migration_id: str) -> dict:
    return next(e for e in report["migrations"] if e["id"] == migration_id)


def headers(plan_output: str) -> list[str]:
    return [line.split()[1] for line in plan_output.splitlines()
            if re.match(r"^-- \d{4}_\w+ \(", line)]


def verify_scratch_databases(url: str) -> list[str]:
    return [row[0] for row in rows(url, "SELECT datname FROM pg_database "
                                        "WHERE strpos(datname, '_verify_') > 0")]


@pytest.fixture
def migrated(empty_db):
    commands.migrate(empty_db, out=quiet)
    return empty_db


@pytest.fixture
def migrated_copy(empty_db, tmp_path) -> tuple[str, Path]:
    """A database migrated from a copy of migrations/ that a test may edit."""
    folder = migrations_copy(tmp_path)
    commands.migrate(empty_db, Settings(migrations_dir=folder), out=quiet)
    return empty_db, folder


# -- verify --------------------------------------------------------------------------
def test_verify_passes_on_a_freshly_migrated_database(migrated):
    result = run_cli("verify", DATABASE_URL=migrated)
    assert result.returncode == 0, result.stdout + result.stderr
    assert any(line.startswith("verified:") for line in result.stdout.splitlines())
    assert f"verified: {len(MIGRATION_IDS)} applied migration(s)" in result.stdout
    assert verify_scratch_databases(migrated) == []


def append_comment(path: Path) -> None:
    path.write_text(path.read_text() + "-- edited after it was applied\n")


@pytest.mark.parametrize("name", [f"{LAST}.sql", f"{LAST}.rollback.sql"])
def test_a_changed_applied_file_is_reported(migrated_copy, name):
    url, folder = migrated_copy
    append_comment(folder / name)
    text = status_lines(url, "--migrations", folder)
    assert text[LAST] == "changed"
    assert set(text.values()) == {"applied", "changed"}
    assert entry(status_json(url, "--migrations", folder), LAST)["state"] == "changed"
    result = run_cli("verify", "--migrations", folder, DATABASE_URL=url)
    assert result.returncode == EXIT_VERIFY
    assert f"CHANGED: {LAST}" in result.stdout
    assert "SCHEMA:" not in result.stdout
    assert "Traceback" not in result.stderr


def test_a_changed_file_shows_both_checksums(migrated_copy):
    url, folder = migrated_copy
    before = entry(status_json(url, "--migrations", folder), LAST)
    append_comment(folder / f"{LAST}.sql")
    after = entry(status_json(url, "--migrations", folder), LAST)
    assert after["sha256_applied"] == before["sha256_applied"] == before["sha256_file"]
    assert after["sha256_file"] != after["sha256_applied"]


def test_a_missing_applied_file_is_reported(migrated_copy):
    url, folder = migrated_copy
    (folder / f"{LAST}.sql").unlink()
    (folder / f"{LAST}.rollback.sql").unlink()
    assert status_lines(url, "--migrations", folder)[LAST] == "missing"
    missing = entry(status_json(url, "--migrations", folder), LAST)
    assert missing["state"] == "missing" and missing["sha256_file"] is None
    assert SHA256.match(missing["sha256_applied"])
    result = run_cli("verify", "--migrations", folder, DATABASE_URL=url)
    assert result.returncode == EXIT_VERIFY
    assert f"MISSING: {LAST}" in result.stdout
    assert verify_scratch_databases(url) == []


@pytest.mark.parametrize("ddl, diff_line", [
    ("CREATE INDEX idx_drift ON users (company_name)",
     "+CREATE INDEX idx_drift ON public.users USING btree (company_name);"),
    ("ALTER TABLE jobs ADD COLUMN x int", "+    x integer"),
    ("COMMENT ON TABLE jobs IS 'changed by hand'",
     "+COMMENT ON TABLE public.jobs IS 'changed by hand';"),
    ("DROP INDEX idx_jobs_model_id_user_id",
     "-CREATE INDEX idx_jobs_model_id_user_id ON public.jobs"),
    ("CREATE INDEX idx_drift ON audit_log (db_role)",
     "+CREATE INDEX idx_drift ON ONLY public.audit_log USING btree (db_role);"),
    ("GRANT SELECT ON audit_log TO cadcam_readonly",
     "+GRANT SELECT ON TABLE public.audit_log TO cadcam_readonly;"),
], ids=["index", "column", "comment", "dropped index", "audit index", "audit grant"])
def test_schema_drift_is_reported_with_its_diff(migrated, ddl, diff_line):
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute(ddl)
    result = run_cli("verify", DATABASE_URL=migrated)
    assert result.returncode == EXIT_VERIFY
    assert "SCHEMA:" in result.stdout
    diff = [line.strip() for line in result.stdout.splitlines() if line.startswith("  ")]
    assert any(line.startswith(diff_line.strip()) for line in diff), result.stdout
    assert "CHANGED" not in result.stdout and "MISSING" not in result.stdout
    assert verify_scratch_databases(migrated) == []


def test_an_invalid_index_is_reported_though_pg_dump_leaves_it_out(migrated):
    """A failed CREATE INDEX CONCURRENTLY leaves an INVALID index, which every
    write still maintains; pg_dump, and so the schema diff, leaves it out."""
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute("INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com')")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY uq_users_locale ON users (locale)")
    result = run_cli("verify", DATABASE_URL=migrated)
    assert result.returncode == EXIT_VERIFY
    assert ("INVALID: index public.uq_users_locale: left by a failed or interrupted CREATE INDEX "
            "CONCURRENTLY") in result.stdout
    assert "SCHEMA:" not in result.stdout


@pytest.fixture
def yoyo_migrated(empty_db):
    """Migrated by plain `yoyo apply`, which records no checksums and no environment."""
    proc = subprocess.run([str(config.REPO / ".venv/bin/yoyo"), "apply"], cwd=config.REPO,
                          env={"PATH": "/usr/bin:/bin",
                               "DATABASE_URL": config.yoyo_url(empty_db)},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert applied_ids(empty_db) == MIGRATION_IDS
    return empty_db


def test_plain_yoyo_history_has_no_checksums(yoyo_migrated):
    assert set(status_lines(yoyo_migrated).values()) == {"applied"}
    report = status_json(yoyo_migrated)
    assert report["environment"] is None
    assert [e["state"] for e in report["migrations"]] == ["applied"] * len(MIGRATION_IDS)
    assert all(e["sha256_applied"] is None and e["applied_at"] for e in report["migrations"])


def test_verify_passes_on_a_plain_yoyo_history(yoyo_migrated):
    result = run_cli("verify", DATABASE_URL=yoyo_migrated)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("verified:")


# -- status --json ------------------------------------------------------------------------
def test_status_json_is_only_a_json_document(migrated):
    result = run_cli("status", "--json", DATABASE_URL=migrated)
    assert result.returncode == 0 and result.stderr == ""
    report = json.loads(result.stdout)
    assert result.stdout.lstrip().startswith("{")
    assert {"database", "environment", "server_version", "migrations"} <= report.keys()
    assert report["environment"] == "development"
    assert report["server_version"].startswith(f"{server_major(migrated)}.")
    assert report["database"] == config.libpq_url(migrated)


def check_entry(e: dict) -> None:
    assert {"id", "state", "applied_at", "sha256_file", "sha256_applied"} <= e.keys()
    assert e["state"] in STATES
    if e["applied_at"] is not None:
        when = datetime.fromisoformat(e["applied_at"].replace("Z", "+00:00"))
        assert when.tzinfo is not None
    if e["state"] == "pending":
        assert e["applied_at"] is None and e["sha256_applied"] is None
    else:
        assert isinstance(e["applied_at"], str)
    assert SHA256.match(e["sha256_file"])


def test_status_json_after_migrate_to_the_third(empty_db):
    third = MIGRATION_IDS[2]
    assert third == "0003_functions"
    assert run_cli("migrate", "--to", third, DATABASE_URL=empty_db).returncode == 0
    report = status_json(empty_db)
    for e in report["migrations"]:
        check_entry(e)
    assert [e["id"] for e in report["migrations"]] == MIGRATION_IDS
    states = [e["state"] for e in report["migrations"]]
    assert states == ["applied"] * 3 + ["pending"] * (len(MIGRATION_IDS) - 3)
    assert all(e["sha256_applied"] == e["sha256_file"] for e in report["migrations"][:3])


def test_status_json_before_any_migrate(empty_db):
    report = status_json(empty_db)
    assert report["environment"] is None
    assert [(e["id"], e["state"], e["applied_at"]) for e in report["migrations"]] == [
        (i, "pending", None) for i in MIGRATION_IDS]


# -- plan -----------------------------------------------------------------------------------
def database_objects(url: str) -> list[tuple]:
    """Everything a command could have created: relations outside the system
    schemas, non-system schemas, extensions other than plpgsql."""
    return rows(url, """
        SELECT 'relation', n.nspname || '.' || c.relname
        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
        UNION ALL
        SELECT 'schema', nspname FROM pg_namespace
        WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'public')
        UNION ALL
        SELECT 'extension', extname FROM pg_extension WHERE extname <> 'plpgsql'
        UNION ALL
        SELECT 'type', typname FROM pg_type WHERE typnamespace = 'public'::regnamespace
    """)


def test_plan_prints_every_migration_in_order(empty_db):
    result = run_cli("plan", DATABASE_URL=empty_db)
    assert result.returncode == 0, result.stderr
    assert headers(result.stdout) == MIGRATION_IDS
    assert result.stdout.index("CREATE TABLE users") < result.stdout.index("CREATE TABLE jobs")
    assert "CREATE EXTENSION IF NOT EXISTS btree_gist" in result.stdout


@pytest.mark.parametrize("args", [("plan",), ("plan", "--to", "0002_types"), ("status",),
                                  ("status", "--json")], ids=" ".join)
def test_read_only_commands_touch_nothing(empty_db, args):
    assert database_objects(empty_db) == []
    result = run_cli(*args, DATABASE_URL=empty_db)
    assert result.returncode == 0, result.stderr
    assert database_objects(empty_db) == []


def test_plan_to_prints_only_up_to_that_migration(empty_db):
    result = run_cli("plan", "--to", "0002_types", DATABASE_URL=empty_db)
    assert result.returncode == 0, result.stderr
    assert headers(result.stdout) == ["0001_extensions", "0002_types"]
    assert "CREATE TABLE" not in result.stdout


def test_plan_prints_only_what_is_pending(empty_db):
    assert run_cli("migrate", "--to", MIGRATION_IDS[4], DATABASE_URL=empty_db).returncode == 0
    result = run_cli("plan", DATABASE_URL=empty_db)
    assert headers(result.stdout) == MIGRATION_IDS[5:]
    assert "CREATE TABLE users" not in result.stdout


def test_plan_after_migrate_has_nothing_to_apply(migrated):
    result = run_cli("plan", DATABASE_URL=migrated)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "-- nothing to apply: up to date"


# -- migrate --to, rollback --to / --all -------------------------------------------------
def test_migrate_to_applies_up_to_and_including_it(empty_db):
    result = run_cli("migrate", "--to", "0004_users", DATABASE_URL=empty_db)
    assert result.returncode == 0, result.stderr
    assert applied_ids(empty_db) == MIGRATION_IDS[:4]
    assert re.findall(r"^applied  (\S+)", result.stdout, re.M) == MIGRATION_IDS[:4]
    assert "4 migration(s) applied" in result.stdout


def test_migrate_to_an_applied_migration_applies_nothing(empty_db):
    assert run_cli("migrate", "--to", "0004_users", DATABASE_URL=empty_db).returncode == 0
    result = run_cli("migrate", "--to", "0002_types", DATABASE_URL=empty_db)
    assert result.returncode == 0, result.stderr
    assert "nothing to apply" in result.stdout
    assert applied_ids(empty_db) == MIGRATION_IDS[:4]


def test_rollback_to_keeps_that_migration_applied(migrated):
    result = run_cli("rollback", "--to", "0005_sessions", DATABASE_URL=migrated)
    assert result.returncode == 0, result.stderr
    assert re.findall(r"^rolled back  (\S+)", result.stdout, re.M) == MIGRATION_IDS[:4:-1]
    assert applied_ids(migrated) == MIGRATION_IDS[:5]


def test_rollback_all_leaves_nothing_applied(migrated):
    result = run_cli("rollback", "--all", DATABASE_URL=migrated)
    assert result.returncode == 0, result.stderr
    assert f"{len(MIGRATION_IDS)} migration(s) rolled back" in result.stdout
    assert applied_ids(migrated) == []
    assert rows(migrated, "SELECT to_regclass('users'), to_regclass('jobs')") == [(None, None)]


@pytest.mark.parametrize("args", [
    ("migrate", "--to", "0099_nope"),
    ("plan", "--to", "0099_nope"),
    ("rollback", "--to", "0099_nope"),
    ("rollback", "--to", "0008_jobs"),
], ids=" ".join)
def test_an_unknown_or_unapplied_id_is_a_usage_error(empty_db, args):
    commands.migrate(empty_db, to="0004_users", out=quiet)
    result = run_cli(*args, DATABASE_URL=empty_db)
    assert result.returncode == EXIT_USAGE
    assert args[-1] in result.stderr and "Traceback" not in result.stderr
    assert applied_ids(empty_db) == MIGRATION_IDS[:4]


def test_audit_months_made_after_the_migrations_are_not_drift(migrated):
    """create_audit_partitions() adds months as time passes: data, not schema."""
    with psycopg.connect(migrated, autocommit=True) as conn:
        made = conn.execute("SELECT create_audit_partitions(9)").fetchall()
    assert len(made) == 6
    result = run_cli("verify", DATABASE_URL=migrated)
    assert result.returncode == 0, result.stdout


def fake_pg_dump(folder: Path, major: int, dump_error: str | None = None) -> Path:
    """A pg_dump that reports a major and, when asked to dump, fails with dump_error."""
    folder.mkdir(exist_ok=True)
    fake = folder / "pg_dump"
    version = f"echo 'pg_dump (PostgreSQL) {major}.1'"
    fake.write_text(f"#!/bin/sh\n[ \"$1\" = --version ] && {{ {version}; exit 0; }}\n"
                    f"echo 'pg_dump: {dump_error}' >&2\nexit 1\n")
    fake.chmod(0o755)
    return folder


def server_major(url: str) -> int:
    with psycopg.connect(url) as conn:
        return differences.major(conn)


def test_a_failing_pg_dump_is_one_line_and_exit_1(migrated, tmp_path, monkeypatch, capsys):
    """pg_dump refuses (here: a newer server than it knows); verify says so in
    one line with the server's URL, never with a traceback."""
    folder = fake_pg_dump(tmp_path / "bin", 99, "error: aborting because of server version "
                          "mismatch")
    monkeypatch.setenv("SCHEMA_PG_BINDIR", str(folder))
    monkeypatch.setenv("DATABASE_URL", migrated)
    assert cli.main(["verify"]) == EXIT_FAILED
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert err[0].startswith("schema: pg_dump of postgresql://")
    assert err[0].endswith("failed: error: aborting because of server version mismatch")
    assert verify_scratch_databases(migrated) == []


def test_a_pg_dump_that_cannot_run_is_one_line(migrated, tmp_path):
    with pytest.raises(RunnerError) as caught:
        dump.schema_dump(migrated, str(tmp_path / "missing"))
    assert str(caught.value) == (f"could not run pg_dump ({tmp_path / 'missing'}): "
                                 "No such file or directory")


def test_verify_without_a_pg_dump_says_which_it_needs(migrated, tmp_path, monkeypatch, capsys):
    """SCHEMA_PG_BINDIR names a folder with no pg_dump: one line, exit 1, and
    no scratch database is made."""
    major = server_major(migrated)
    monkeypatch.setenv("SCHEMA_PG_BINDIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", migrated)
    assert cli.main(["verify"]) == EXIT_FAILED
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"schema: verify needs pg_dump {major} or newer for this PostgreSQL {major}, "
                   f"and SCHEMA_PG_BINDIR={tmp_path} has no pg_dump that runs"]
    assert verify_scratch_databases(migrated) == []


def test_verify_with_an_older_pg_dump_says_which_it_needs(migrated, tmp_path, monkeypatch,
                                                          capsys):
    """An older pg_dump cannot read a newer server; verify refuses it before
    running it. A real older client where one is installed (Debian's 15 on a
    newer server), else one reporting 14."""
    major = server_major(migrated)
    real = [(m, p.parent) for m, p in real_candidates("pg_dump") if m < major]
    older, folder = real[0] if real else (14, fake_pg_dump(tmp_path, 14))
    monkeypatch.setenv("SCHEMA_PG_BINDIR", str(folder))
    monkeypatch.setenv("DATABASE_URL", migrated)
    assert cli.main(["verify"]) == EXIT_FAILED
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"schema: verify needs pg_dump {major} or newer for this PostgreSQL {major}, "
                   f"but SCHEMA_PG_BINDIR={folder} holds pg_dump {older}"]


def test_verify_with_no_client_tools_of_the_server_major_names_them(migrated, monkeypatch,
                                                                     capsys):
    """Without SCHEMA_PG_BINDIR the runner looks through every install it knows;
    when all of them are older than the server, it says what to install."""
    major = server_major(migrated)
    monkeypatch.setattr(majors, "_candidates",
                        lambda tool: [(m, p) for m, p in real_candidates(tool) if m < major])
    monkeypatch.delenv("SCHEMA_PG_BINDIR", raising=False)
    monkeypatch.setenv("DATABASE_URL", migrated)
    assert cli.main(["verify"]) == EXIT_FAILED
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"schema: verify needs pg_dump {major} or newer for this PostgreSQL {major}: "
                   f"install PostgreSQL {major}'s client tools and set SCHEMA_PG_BINDIR to "
                   "their bin folder"]


real_candidates = majors._candidates


@pytest.mark.parametrize("server", [150000, 160004, 170010, 180002])
def test_the_client_tools_chosen_are_of_the_server_major_or_newer(server, monkeypatch):
    """Same major where installed, else the closest newer: 16's npm build has
    no pg_dump, so a 16 server is read by 17's."""
    monkeypatch.delenv("SCHEMA_PG_BINDIR", raising=False)
    major = majors.server_major_of(server)
    installed = [m for m, _ in real_candidates("pg_dump")]
    chosen = majors.client_tool("pg_dump", major, "verify")
    assert majors.tool_major(Path(chosen)) == min(m for m in installed if m >= major)
