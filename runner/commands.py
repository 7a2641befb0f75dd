"""Migration commands: yoyo does the bookkeeping, this module the reporting."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

import psycopg
from yoyo import get_backend, read_migrations
from yoyo.backends import DatabaseBackend

from runner import config
from runner.errors import EXIT_FAILED, EXIT_SERVER, RunnerError


@contextmanager
def backend(url: str) -> Iterator[DatabaseBackend]:
    """A yoyo backend on the database, with connection faults as one line."""
    try:
        db = get_backend(config.yoyo_url(url))
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunnerError(
            f"cannot connect to {config.redact(config.libpq_url(url))}: {first} "
            "(is the server running? check DATABASE_URL)",
            EXIT_SERVER,
        ) from None
    try:
        yield db
    finally:
        db.connection.close()


def migrations():
    return read_migrations(str(config.MIGRATIONS_DIR))


def _failed(action: str, migration_id: str, exc: Exception) -> RunnerError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return RunnerError(f"{action} {migration_id} failed: {first}", EXIT_FAILED)


def migrate(url: str, out=print) -> list[str]:
    """Apply every pending migration in order; returns the ids applied."""
    applied = []
    with backend(url) as db, db.lock():
        for migration in db.to_apply(migrations()):
            started = time.monotonic()
            try:
                db.apply_one(migration)
            except psycopg.Error as exc:
                raise _failed("applying", migration.id, exc) from None
            out(f"applied  {migration.id}  ({(time.monotonic() - started) * 1000:.0f} ms)")
            applied.append(migration.id)
    out(f"{len(applied)} migration(s) applied" if applied else "nothing to apply: up to date")
    return applied


def rollback(url: str, steps: int | None = 1, out=print) -> list[str]:
    """Roll back the newest `steps` applied migrations (all when None)."""
    undone = []
    with backend(url) as db, db.lock():
        newest_first = db.to_rollback(migrations())
        for migration in newest_first if steps is None else newest_first[:steps]:
            started = time.monotonic()
            try:
                db.rollback_one(migration)
            except psycopg.Error as exc:
                raise _failed("rolling back", migration.id, exc) from None
            out(f"rolled back  {migration.id}  ({(time.monotonic() - started) * 1000:.0f} ms)")
            undone.append(migration.id)
    out(f"{len(undone)} migration(s) rolled back" if undone else "nothing to roll back")
    return undone


def status(url: str, out=print) -> dict[str, list[str]]:
    """Print applied and pending migrations; returns them by state."""
    with backend(url) as db:
        all_migrations = migrations()
        pending = {m.id for m in db.to_apply(all_migrations)}
    result = {"applied": [], "pending": []}
    for migration in all_migrations:
        state = "pending" if migration.id in pending else "applied"
        result[state].append(migration.id)
        out(f"{state:8} {migration.id}")
    return result
