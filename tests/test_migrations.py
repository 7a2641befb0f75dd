"""Migrations: the files are well formed, apply in order, roll back one by one
to exactly the previous schema, leave nothing behind when all are rolled
back, and apply again; plain yoyo and the runner share one history."""

from __future__ import annotations

import os
import re
import subprocess

import psycopg
import pytest
from yoyo import get_backend, read_migrations

from runner import config
from runner.catalog import read_schema
from runner.errors import RunnerError
from runner.migrate import commands, dump
from tests import rows
from tests.cli import quiet

MIGRATION_FILES = sorted(p for p in config.MIGRATIONS_DIR.glob("*.sql")
                         if not p.name.endswith(".rollback.sql"))


def project_objects(url: str) -> list[str]:
    """Every object of the project the catalog model sees, and every extension."""
    with psycopg.connect(url) as conn:
        schema = read_schema(conn)
    return sorted([*(f"relation {name}" for name in schema.relations),
                   *(f"type {name}" for name in schema.types),
                   *(f"function {name}" for name in schema.functions),
                   *(f"extension {name}" for name in schema.extensions)])


def test_migration_files_are_numbered_and_each_has_a_rollback():
    assert MIGRATION_FILES, "no migrations"
    for path in MIGRATION_FILES:
        assert re.fullmatch(r"\d{4}_[a-z0-9_]+\.sql", path.name), path.name
        assert path.with_name(path.stem + ".rollback.sql").exists(), f"{path.name}: no rollback"
    numbers = [int(p.name[:4]) for p in MIGRATION_FILES]
    assert numbers == list(range(1, len(numbers) + 1)), "numbers must be 0001, 0002, ... gapless"


def test_depends_chain_is_linear():
    migrations = {m.id: m for m in read_migrations(str(config.MIGRATIONS_DIR))}
    ids = [p.stem for p in MIGRATION_FILES]
    assert not migrations[ids[0]].depends
    for previous, current in zip(ids, ids[1:], strict=False):
        assert [d.id for d in migrations[current].depends] == [previous], current


def test_apply_all_roll_back_all_apply_again(empty_db, pg_dump):
    applied = commands.migrate(empty_db, out=quiet)
    assert applied == [p.stem for p in MIGRATION_FILES]
    first = dump.normalized_dump(empty_db, pg_dump)
    assert "CREATE TABLE public.jobs (" in first

    undone = commands.rollback(empty_db, steps=None, out=quiet)
    assert undone == list(reversed(applied))
    assert project_objects(empty_db) == []

    assert commands.migrate(empty_db, out=quiet) == applied
    assert dump.normalized_dump(empty_db, pg_dump) == first


def test_migrate_twice_does_nothing_the_second_time(empty_db):
    commands.migrate(empty_db, out=quiet)
    lines = []
    assert commands.migrate(empty_db, out=lines.append) == []
    assert lines == ["nothing to apply: up to date"]


# Rollbacks that cannot put a column back where it was: the column is added
# again, as the table's last (0035: a column cannot become GENERATED in
# place). Everything else, the column's definition included, is as before;
# from that rollback on, the table's columns are compared in any order.
MOVES_A_COLUMN = {"0035_models_parent_version_writable": "models"}


def columns_unordered(lines: list[str], table: str) -> list[str]:
    """The dump with the column lines of one CREATE TABLE sorted (and their
    separating commas dropped), and its column comments sorted, so that only
    the order of columns is ignored."""
    start = lines.index(f"CREATE TABLE public.{table} (")
    end = lines.index(");", start)
    lines = [*lines[:start + 1], *sorted(line.rstrip(",") for line in lines[start + 1:end]),
             *lines[end:]]
    comment = f"COMMENT ON COLUMN public.{table}."
    at = [i for i, line in enumerate(lines) if line.startswith(comment)]
    assert at == list(range(at[0], at[-1] + 1)), "the column comments are not one run"
    return [*lines[:at[0]], *sorted(lines[at[0]:at[-1] + 1]), *lines[at[-1] + 1:]]


def test_each_rollback_restores_exactly_the_previous_schema(empty_db, pg_dump):
    backend = get_backend(config.yoyo_url(empty_db))
    try:
        migrations = read_migrations(str(config.MIGRATIONS_DIR))
        dumps = [dump.normalized_dump(empty_db, pg_dump)]
        for migration in backend.to_apply(migrations):
            backend.apply_one(migration)
            dumps.append(dump.normalized_dump(empty_db, pg_dump))
        moved: list[str] = []  # tables whose columns a rollback has moved, from then on
        for migration in backend.to_rollback(migrations):
            dumps.pop()
            backend.rollback_one(migration)
            actual, expected = dump.normalized_dump(empty_db, pg_dump), dumps[-1]
            if migration.id in MOVES_A_COLUMN:
                assert actual != expected, f"{migration.id} no longer moves a column"
                moved.append(MOVES_A_COLUMN[migration.id])
            for table in moved:
                if f"CREATE TABLE public.{table} (" in expected:
                    actual = columns_unordered(actual, table)
                    expected = columns_unordered(expected, table)
            assert actual == expected, f"rollback of {migration.id}"
    finally:
        backend.connection.close()


def test_rollback_of_the_project_objects_check_is_not_blind(empty_db):
    commands.migrate(empty_db, out=quiet)
    commands.rollback(empty_db, steps=None, out=quiet)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE leftover (id int)")
    assert project_objects(empty_db) == ["relation leftover"]


def test_plain_yoyo_apply_with_the_repo_yoyo_ini(empty_db):
    env = {**os.environ, "DATABASE_URL": config.yoyo_url(empty_db)}
    yoyo = str(config.REPO / ".venv" / "bin" / "yoyo")
    if not os.path.exists(yoyo):
        pytest.skip("yoyo console script not in .venv")
    subprocess.run([yoyo, "apply"], cwd=config.REPO, env=env, check=True,
                   capture_output=True, text=True)
    report = commands.status(empty_db, out=quiet)
    assert [(e["id"], e["state"]) for e in report["migrations"]] == [
        (p.stem, "applied") for p in MIGRATION_FILES]


@pytest.fixture
def deploy_role(pg_server, migrated_proc):  # migrated_proc: the group roles exist
    """A LOGIN role that is not a superuser, owning a new database, with the
    ADMIN OPTION on the existing group roles (docs/security.md);
    the database and the role are dropped afterwards."""
    name = f"deploy_{os.getpid()}"
    admin = psycopg.connect(pg_server.url("postgres"), autocommit=True)
    groups = ", ".join(["cadcam_owner", "cadcam_app", "cadcam_worker", "cadcam_readonly",
                        "cadcam_auditor", "cadcam_admin"])
    admin.execute(f"CREATE ROLE {name} LOGIN CREATEROLE")
    admin.execute(f"GRANT {groups} TO {name} WITH ADMIN OPTION")
    admin.execute(f"CREATE DATABASE {name} OWNER {name}")
    try:
        yield pg_server.url(name).replace("postgres@", f"{name}@")
    finally:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        admin.execute(f"DROP ROLE {name}")
        admin.close()


def test_a_deploy_role_that_is_not_a_superuser_migrates(deploy_role):
    commands.migrate(deploy_role, out=quiet)
    with psycopg.connect(deploy_role) as conn:
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
                            ).fetchone()[0] is False
        owners = conn.execute("SELECT DISTINCT relowner::regrole::text FROM pg_class"
                              " WHERE relnamespace = 'public'::regnamespace"
                              " AND relname IN ('users', 'audit_log')").fetchall()
    assert owners == [("cadcam_owner",)]


def test_rolling_back_the_per_user_idempotency_key_refuses_once_two_users_share_a_key(empty_db):
    """The global key of before 0033 cannot hold two users' equal keys: the
    rollback fails on the duplicate and leaves the schema and rows as they were."""
    commands.migrate(empty_db, out=quiet)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        for n in (1, 2):
            user_id = conn.execute(
                "INSERT INTO users (email, password_hash) VALUES (%s, %s) RETURNING id",
                (f"shared{n}@example.com", rows.ARGON2ID_HASH)).fetchone()[0]
            conn.execute("INSERT INTO jobs (user_id, type, idempotency_key)"
                         " VALUES (%s, 'cam_toolpath', 'shared-doc')", (user_id,))
    refused = 'could not create unique index "uq_jobs_idempotency_key"'
    with pytest.raises(RunnerError, match=refused):
        commands.rollback(empty_db, to="0032_jobs_idempotency_key_per_user_index", out=quiet)
    with psycopg.connect(empty_db) as conn:
        keys = [r[0] for r in conn.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'jobs'::regclass"
            " AND contype = 'u' ORDER BY 1").fetchall()]
        jobs = conn.execute("SELECT count(*) FROM jobs").fetchone()[0]
    assert "uq_jobs_idempotency_key_user_id" in keys and "uq_jobs_idempotency_key" not in keys
    assert jobs == 2
