"""The runner's own records beside yoyo's: file checksums and the environment.

yoyo's _yoyo_migration hashes only a migration's id, so an edited file goes
unnoticed. The runner records a SHA-256 of each migration file (and of its
rollback) in the same transaction that applies it, as Flyway's validate
does, and the environment (SCHEMA_ENV) the database belongs to.

Kept in schema schema_runner, apart from the declared schema in public, so
that schema comparisons and "nothing left after rollback" never see it.
Readers never create anything: they treat a missing table as empty.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg

SCHEMA = "schema_runner"

BOOTSTRAP_SQL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
COMMENT ON SCHEMA {SCHEMA} IS
'Bookkeeping of the schema runner (python -m runner): migration file checksums and the environment of this database. Not part of the application schema.';
CREATE TABLE IF NOT EXISTS {SCHEMA}.applied_files (
    migration_id text PRIMARY KEY,
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{{64}}$'),
    rollback_sha256 text CHECK (rollback_sha256 ~ '^[0-9a-f]{{64}}$'),
    applied_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE {SCHEMA}.applied_files IS
'SHA-256 of each applied migration file and of its rollback file, recorded in the transaction that applied it; verify compares them with the files on disk.';
CREATE TABLE IF NOT EXISTS {SCHEMA}.environment (
    singleton boolean PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]*$'),
    recorded_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE {SCHEMA}.environment IS
'The environment (SCHEMA_ENV) this database belongs to, recorded at the first migrate; a runner configured for another environment refuses to run.';
"""


def file_sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def rollback_path(path: Path) -> Path:
    return path.with_name(path.stem + ".rollback.sql")


def _exists(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()[0]


def ensure(conn: psycopg.Connection) -> None:
    """Create the runner's tables if missing (called under the migration lock)."""
    conn.execute(BOOTSTRAP_SQL)


def recorded_environment(conn: psycopg.Connection) -> str | None:
    if not _exists(conn, f"{SCHEMA}.environment"):
        return None
    row = conn.execute(f"SELECT name FROM {SCHEMA}.environment").fetchone()
    return row[0] if row else None


def record_environment(conn: psycopg.Connection, name: str) -> None:
    conn.execute(f"INSERT INTO {SCHEMA}.environment (name) VALUES (%s) "
                 "ON CONFLICT (singleton) DO NOTHING", (name,))


def recorded_files(conn: psycopg.Connection) -> dict[str, tuple[str, str | None]]:
    """migration id -> (sha256, rollback sha256) as recorded at apply time."""
    if not _exists(conn, f"{SCHEMA}.applied_files"):
        return {}
    rows = conn.execute(f"SELECT migration_id, sha256, rollback_sha256 FROM {SCHEMA}.applied_files")
    return {mid: (sha, rsha) for mid, sha, rsha in rows}


def record_file(conn: psycopg.Connection, migration_id: str, path: Path) -> None:
    conn.execute(
        f"INSERT INTO {SCHEMA}.applied_files (migration_id, sha256, rollback_sha256) "
        "VALUES (%s, %s, %s) ON CONFLICT (migration_id) DO UPDATE "
        "SET sha256 = EXCLUDED.sha256, rollback_sha256 = EXCLUDED.rollback_sha256, "
        "applied_at = now()",
        (migration_id, file_sha256(path), file_sha256(rollback_path(path))),
    )


def forget_file(conn: psycopg.Connection, migration_id: str) -> None:
    conn.execute(f"DELETE FROM {SCHEMA}.applied_files WHERE migration_id = %s", (migration_id,))


def applied_migrations(conn: psycopg.Connection) -> dict[str, object]:
    """migration id -> applied_at, read from yoyo's table without creating it."""
    if not _exists(conn, "_yoyo_migration"):
        return {}
    rows = conn.execute("SELECT migration_id, applied_at_utc FROM _yoyo_migration")
    return dict(rows.fetchall())
