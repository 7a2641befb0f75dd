"""The runner's commands: migrate, rollback, status, plan, verify. yoyo keeps
the bookkeeping (_yoyo_migration, _yoyo_log) so that plain `yoyo apply` and
the runner share one history; the runner adds what yoyo lacks:

* the migration lock (lock.py) is taken first, and the pending
  migrations are worked out only after it is held;
* each migration runs with its record, as engine.py says;
* guards (guards.py): server version, the environment recorded in the
  database, and a confirmation before rolling back production.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from yoyo.backends import DatabaseBackend

from runner import config
from runner.connection import connect, conninfo, open_backend
from runner.errors import EXIT_USAGE, EXIT_VERIFY, RunnerError
from runner.migrate import dump, history
from runner.migrate.engine import invalid_indexes, run_one
from runner.migrate.files import check_known, load_migrations, statements_of, up_to
from runner.migrate.guards import check_environment, check_production_rollback, check_server_version
from runner.migrate.lock import migration_lock
from runner.scratch import scratch_database
from runner.servers import majors
from runner.settings import Settings


@contextmanager
def locked_backend(url: str, settings: Settings, out) -> Iterator[DatabaseBackend]:
    """The work connection, after checking the server and taking the migration lock."""
    db = open_backend(url)
    try:
        check_server_version(db.connection.info.server_version)
        with migration_lock(conninfo(url), settings.lock_wait, out):
            yield db
    finally:
        db.connection.close()


def migrate(url: str, settings: Settings | None = None, to: str | None = None,
            out=print, observer=None) -> list[str]:
    """Apply pending migrations in order (up to and including `to`); returns their ids.
    observer (engine.Observer) is told each migration and statement."""
    settings = settings or Settings.from_env()
    migrations = load_migrations(settings)
    check_known(migrations, to)
    done = []
    with locked_backend(url, settings, out) as db:
        history.ensure(db.connection)
        check_environment(db.connection, settings, record=True)
        for migration in up_to(list(db.to_apply(migrations)), to):  # worked out under the lock
            run_one(db, migration, settings, "apply", out, observer)
            done.append(migration.id)
    out(f"{len(done)} migration(s) applied" if done else "nothing to apply: up to date")
    return done


def rollback(url: str, settings: Settings | None = None, steps: int | None = 1,
             to: str | None = None, allow_production: bool = False,
             confirm: str | None = None, out=print) -> list[str]:
    """Roll back the newest `steps` migrations (all when None), or every one after `to`."""
    settings = settings or Settings.from_env()
    migrations = load_migrations(settings)
    done = []
    with locked_backend(url, settings, out) as db:
        check_environment(db.connection, settings, record=False)
        check_production_rollback(db.connection, settings, allow_production, confirm)
        newest_first = list(db.to_rollback(migrations))
        if to is not None:
            ids = [m.id for m in newest_first]
            if to not in ids:
                raise RunnerError(f"{to!r} is not an applied migration (see `status`)", EXIT_USAGE)
            chosen = newest_first[:ids.index(to)]
        else:
            chosen = newest_first if steps is None else newest_first[:steps]
        for migration in chosen:
            run_one(db, migration, settings, "rollback", out)
            done.append(migration.id)
    out(f"{len(done)} migration(s) rolled back" if done else "nothing to roll back")
    return done


def describe(url: str, settings: Settings | None = None) -> dict:
    """The state of every migration, read without changing anything."""
    settings = settings or Settings.from_env()
    migrations = load_migrations(settings)
    with connect(url) as conn:
        check_environment(conn, settings, record=False)
        applied = history.applied_migrations(conn)
        recorded = history.recorded_files(conn)
        environment = history.recorded_environment(conn)
        server = conn.info.server_version
    entries = []
    for migration in migrations:
        path = Path(migration.path)
        now = (history.file_sha256(path), history.file_sha256(history.rollback_path(path)))
        then = recorded.get(migration.id)
        if migration.id not in applied:
            state = "pending"
        elif then is not None and then != now:
            state = "changed"
        else:
            state = "applied"
        entries.append({
            "id": migration.id,
            "state": state,
            "applied_at": _iso(applied.get(migration.id)),
            "sha256_file": now[0],
            "sha256_applied": then[0] if then else None,
        })
    known = {m.id for m in migrations}
    for migration_id in sorted(set(applied) - known):
        entries.append({"id": migration_id, "state": "missing",
                        "applied_at": _iso(applied[migration_id]),
                        "sha256_file": None,
                        "sha256_applied": (recorded.get(migration_id) or (None,))[0]})
    return {
        "database": config.redact(config.libpq_url(url)),
        "environment": environment,
        "server_version": f"{server // 10000}.{server % 10000}",
        "migrations": entries,
    }


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="seconds") + ("" if value.tzinfo else "Z")


STATE_NOTES = {
    "changed": "the file differs from the one applied",
    "missing": "applied, but its file is gone",
}


def status(url: str, settings: Settings | None = None, as_json: bool = False,
           out=print) -> dict:
    report = describe(url, settings)
    if as_json:
        out(json.dumps(report, indent=2))
        return report
    for entry in report["migrations"]:
        when = entry["applied_at"] or ""
        note = STATE_NOTES.get(entry["state"], "")
        out(f"{entry['state']:8} {entry['id']:32} {when:20} {note}".rstrip())
    return report


def plan(url: str, settings: Settings | None = None, to: str | None = None,
         out=print) -> list[str]:
    """Print the SQL that migrate would run, in order; change nothing."""
    settings = settings or Settings.from_env()
    migrations = load_migrations(settings)
    check_known(migrations, to)
    with connect(url) as conn:
        check_environment(conn, settings, record=False)
        applied = history.applied_migrations(conn)
    chosen = []
    for migration in up_to([m for m in migrations if m.id not in applied], to):
        chosen.append(migration.id)
        migration.load()
        mode = "one transaction" if migration.use_transactions else "no transaction"
        out(f"-- {migration.id} ({Path(migration.path).name}, {mode})")
        for statement in statements_of(Path(migration.path)):
            out(statement.strip() + "\n")
    if not chosen:
        out("-- nothing to apply: up to date")
    return chosen


def verify(url: str, settings: Settings | None = None, out=print) -> None:
    """Fail (EXIT_VERIFY) when an applied file changed or is missing, or when the
    live schema differs from the one its applied migrations build."""
    settings = settings or Settings.from_env()
    report = describe(url, settings)
    file_problems = [f"{e['state'].upper()}: {e['id']}: {STATE_NOTES[e['state']]}"
                     for e in report["migrations"] if e["state"] in STATE_NOTES]
    applied = [e["id"] for e in report["migrations"] if e["state"] in ("applied", "changed")]
    with connect(url) as conn:  # pg_dump leaves INVALID indexes out, so the diff cannot see them
        file_problems += [f"INVALID: index {name}: {note}" for name, note in invalid_indexes(conn)]
        server_major = majors.server_major_of(conn.info.server_version)
    pg_dump = majors.client_tool("pg_dump", server_major, "verify")
    diff = _diff_against_scratch(url, settings, applied, pg_dump)
    for line in file_problems:
        out(line)
    if diff:
        out("SCHEMA: the live schema differs from what its applied migrations build:")
        for line in diff:
            out("  " + line)
    if file_problems or diff:
        raise RunnerError(f"verify failed: {len(file_problems)} file or index problem(s)"
                          f"{', and schema drift' if diff else ''}; details above", EXIT_VERIFY)
    out(f"verified: {len(applied)} applied migration(s) match their files and the live schema")


def _diff_against_scratch(url: str, settings: Settings, applied_ids: list[str],
                          pg_dump: str) -> list[str]:
    """Build the applied migrations in a scratch database on the same server and diff."""
    with scratch_database(url, "verify") as scratch_url:
        db = open_backend(scratch_url)
        try:
            history.ensure(db.connection)
            wanted = set(applied_ids)
            for migration in load_migrations(settings):
                if migration.id in wanted:
                    run_one(db, migration, settings, "apply", out=lambda _: None)
        finally:
            db.connection.close()
        return dump.schema_diff(scratch_url, url, pg_dump)
