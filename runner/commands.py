"""Migration commands. yoyo keeps the bookkeeping (_yoyo_migration, _yoyo_log)
so that plain `yoyo apply` and the runner share one history; the runner adds
what yoyo lacks:

* the migration lock (runner.lock) is taken first, and the pending
  migrations are worked out only after it is held;
* each transactional migration runs in ONE transaction together with its
  yoyo record and its file checksum, under lock_timeout and
  statement_timeout, retried with backoff when a table lock is not had in
  time (yoyo applies on one connection and records on another, so a crash in
  between leaves a migration applied but unrecorded);
* non-transactional migrations (`-- transactional: false`, for CREATE INDEX
  CONCURRENTLY) run statement by statement; an INVALID index left by a
  failed statement is reported and dropped;
* guards: server version, the environment recorded in the database, and a
  confirmation before rolling back production.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Iterator

import psycopg
from psycopg import errors as pgerrors
from psycopg import sql
from yoyo import get_backend, read_migrations
from yoyo.backends import DatabaseBackend
from yoyo.migrations import read_sql_migration

from runner import config, dump, history
from runner.errors import (
    EXIT_FAILED,
    EXIT_LOCK,
    EXIT_REFUSED,
    EXIT_SERVER,
    EXIT_USAGE,
    EXIT_VERIFY,
    RunnerError,
)
from runner.lock import migration_lock

APPLICATION_NAME = "schema-runner"
# The same rule as schema_runner.environment's CHECK.
ENVIRONMENT_NAME = re.compile(r"[a-z][a-z0-9_-]*")
MIN_SERVER_VERSION = 150000
FINISHED_WORDS = {"apply": "applied", "rollback": "rolled back"}
DOING_WORDS = {"apply": "applying", "rollback": "rolling back"}


# -- settings ------------------------------------------------------------------
# PostgreSQL's lock_timeout and statement_timeout are int milliseconds.
MAX_SECONDS = 2147483


def parse_number(name: str, raw: str, kind=float, maximum: float = MAX_SECONDS):
    """A finite, non-negative number from text, or a usage error naming its setting."""
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or not 0 <= value <= maximum:
        raise RunnerError(f"{name} must be a number from 0 to {maximum} (got {raw!r})",
                          EXIT_USAGE)
    return value


def _env_number(name: str, default: float, kind=float):
    raw = os.environ.get(name)
    return default if raw in (None, "") else parse_number(name, raw, kind)


@dataclass(frozen=True)
class Settings:
    """How the runner behaves; from the environment, overridden by command-line options."""

    migrations_dir: Path = config.MIGRATIONS_DIR
    environment: str = "development"
    lock_wait: float = 60.0  # s to wait for the migration lock
    lock_timeout: float = 5.0  # s one statement may wait for a table lock
    statement_timeout: float = 900.0  # s one statement may run; 0: no limit
    retries: int = 3  # further attempts after a lock timeout
    backoff: float = 1.0  # s before the first retry, doubled each time

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        values = {
            "migrations_dir": Path(os.environ.get("SCHEMA_MIGRATIONS_DIR") or config.MIGRATIONS_DIR),
            "environment": os.environ.get("SCHEMA_ENV") or "development",
            "lock_wait": _env_number("SCHEMA_LOCK_WAIT", 60.0),
            "lock_timeout": _env_number("SCHEMA_LOCK_TIMEOUT", 5.0),
            "statement_timeout": _env_number("SCHEMA_STATEMENT_TIMEOUT", 900.0),
            "retries": _env_number("SCHEMA_LOCK_RETRIES", 3, int),
            "backoff": _env_number("SCHEMA_LOCK_BACKOFF", 1.0),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not ENVIRONMENT_NAME.fullmatch(values["environment"]):
            raise RunnerError(
                f"SCHEMA_ENV must be a lower-case name such as development, staging or "
                f"production (got {values['environment']!r})", EXIT_USAGE)
        return cls(**values)


# -- connections -----------------------------------------------------------------
# The server checks every second whether the runner is still there, so that a
# killed runner's transaction is rolled back (and its locks released) even in
# the middle of a long statement.
CONNECTION_PARAMS = {
    "application_name": APPLICATION_NAME,
    "options": "-c client_connection_check_interval=1000",
}


def first_line(exc: BaseException, empty: str | None = None) -> str:
    """The first line of an error's message (`empty`, or the error's type, if none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else (empty or type(exc).__name__)


def _unreachable(url: str, exc: BaseException) -> RunnerError:
    return RunnerError(
        f"cannot connect to {config.redact(config.libpq_url(url))}: {first_line(exc)} "
        "(is the server running? check DATABASE_URL)",
        EXIT_SERVER,
    )


def conninfo(url: str) -> str:
    return config.with_params(config.libpq_url(url), CONNECTION_PARAMS)


def open_backend(url: str) -> DatabaseBackend:
    """A yoyo backend on the database; its connection is the runner's work connection."""
    try:
        return get_backend(config.with_params(config.yoyo_url(url), CONNECTION_PARAMS))
    except psycopg.OperationalError as exc:
        raise _unreachable(url, exc) from None


def connect(url: str) -> psycopg.Connection:
    try:
        return psycopg.connect(conninfo(url), autocommit=True)
    except psycopg.OperationalError as exc:
        raise _unreachable(url, exc) from None


# -- guards ---------------------------------------------------------------------
def check_server_version(version_num: int) -> None:
    if version_num < MIN_SERVER_VERSION:
        major, minor = divmod(version_num, 10000)
        raise RunnerError(
            f"PostgreSQL {major}.{minor} is too old: this schema needs PostgreSQL 15 or newer "
            "(built and tested on 17)",
            EXIT_REFUSED,
        )


def check_environment(conn: psycopg.Connection, settings: Settings, record: bool) -> None:
    """Refuse to work on a database recorded as another environment."""
    recorded = history.recorded_environment(conn)
    if recorded is None:
        if record:
            history.record_environment(conn, settings.environment)
        return
    if recorded != settings.environment:
        raise RunnerError(
            f"this database is recorded as environment {recorded!r} but SCHEMA_ENV is "
            f"{settings.environment!r}: set SCHEMA_ENV={recorded} if you mean this database",
            EXIT_REFUSED,
        )


def check_production_rollback(conn: psycopg.Connection, settings: Settings,
                              allow: bool, confirm: str | None) -> None:
    if settings.environment != "production":
        return
    dbname = conn.execute("SELECT current_database()").fetchone()[0]
    if not allow or confirm != dbname:
        raise RunnerError(
            f"refusing to roll back the production database {dbname!r}: "
            f"pass --allow-production --confirm {dbname} if you mean it",
            EXIT_REFUSED,
        )


# -- migrations on disk ------------------------------------------------------------
def load_migrations(settings: Settings):
    directory = settings.migrations_dir
    if not directory.is_dir():
        raise RunnerError(f"no migrations folder at {directory}", EXIT_USAGE)
    migrations = read_migrations(str(directory))
    for migration in migrations:
        if not migration.path.endswith(".sql"):
            raise RunnerError(f"{migration.path}: the runner runs SQL migrations only", EXIT_USAGE)
        migration.load()
    return migrations


def _statements(path: Path) -> list[str]:
    return read_sql_migration(str(path))[2]


def _line_of(path: Path, statement: str) -> int:
    text = path.read_text(encoding="utf-8")
    offset = text.find(statement.strip())
    return text.count("\n", 0, offset) + 1 if offset >= 0 else 0


def _check_known(migrations, target: str | None) -> None:
    if target is not None and target not in {m.id for m in migrations}:
        raise RunnerError(f"no migration {target!r} in {migrations and Path(migrations[0].path).parent}"
                          " (see `status`)", EXIT_USAGE)


def _up_to(pending: list, target: str | None) -> list:
    """The pending migrations up to and including target (none when target is applied)."""
    if target is None:
        return pending
    ids = [m.id for m in pending]
    return pending[:ids.index(target) + 1] if target in ids else []


# -- running one migration ------------------------------------------------------------
def _set_timeouts(conn: psycopg.Connection, settings: Settings, local: bool) -> None:
    scope = "LOCAL " if local else ""
    conn.execute(f"SET {scope}lock_timeout = {int(settings.lock_timeout * 1000)}")
    conn.execute(f"SET {scope}statement_timeout = {int(settings.statement_timeout * 1000)}")


def _run_statement(conn, migration, path: Path, statement: str, action: str) -> None:
    try:
        conn.execute(statement)
    except (pgerrors.LockNotAvailable, pgerrors.QueryCanceled):
        raise
    except psycopg.Error as exc:
        if conn.broken or conn.closed:
            raise  # the server is gone: run_one says so
        first = statement.strip().splitlines()[0]
        raise RunnerError(
            f"{DOING_WORDS[action]} {migration.id} failed at {path.name} line {_line_of(path, statement)} "
            f"({first[:60]}): {first_line(exc)}",
            EXIT_FAILED,
        ) from None


def _claim_yoyo_lock(db: DatabaseBackend) -> None:
    """Take yoyo's lock row inside the migration transaction, so that a plain
    `yoyo apply` waits for us; never committed, so never left behind."""
    try:
        with db.transaction():
            db.connection.execute(
                "INSERT INTO yoyo_lock (locked, ctime, pid) "
                "VALUES (1, now() AT TIME ZONE 'UTC', pg_backend_pid())"
            )
    except pgerrors.UniqueViolation:
        pid, since = db.connection.execute("SELECT pid, ctime FROM yoyo_lock").fetchone()
        raise RunnerError(
            f"plain yoyo holds yoyo_lock (pid {pid}, since {since:%Y-%m-%d %H:%M:%S} UTC): "
            "wait for it, or if no yoyo runs, clear it with `yoyo break-lock`",
            EXIT_LOCK,
        ) from None


def _record(db: DatabaseBackend, migration, direction: str) -> None:
    conn = db.connection
    if direction == "apply":
        db.mark_one(migration, log=False)
        history.record_file(conn, migration.id, Path(migration.path))
    else:
        db.unmark_one(migration, log=False)
        history.forget_file(conn, migration.id)
    db.log_migration(migration, direction)


def _in_one_transaction(db, migration, path, statements, settings, direction) -> None:
    db.ensure_internal_schema_updated()  # yoyo's tables; it refuses to inside a transaction
    with db.transaction():
        conn = db.connection
        _set_timeouts(conn, settings, local=True)
        _claim_yoyo_lock(db)
        for statement in statements:
            _run_statement(conn, migration, path, statement, direction)
        _record(db, migration, direction)
        conn.execute("DELETE FROM yoyo_lock WHERE pid = pg_backend_pid()")


# Every INVALID index, and whether a session is building it right now.
INVALID_INDEXES_SQL = """
SELECT format('%I.%I', n.nspname, c.relname),
       EXISTS (SELECT FROM pg_stat_progress_create_index AS p WHERE p.index_relid = c.oid)
FROM pg_index AS i
JOIN pg_class AS c ON c.oid = i.indexrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid
ORDER BY 1
"""


def _invalid_indexes(conn) -> set[str]:
    return {row[0] for row in conn.execute(INVALID_INDEXES_SQL)}


def invalid_indexes(conn) -> list[tuple[str, str]]:
    """(name, what to do) of every INVALID index: one being built now, or one
    an interrupted CREATE INDEX CONCURRENTLY left, which every write still
    maintains and no query uses."""
    return [(name, "being built now; verify again when the build is done" if building else
             "left by a failed or interrupted CREATE INDEX CONCURRENTLY: `schema migrate` drops "
             "and builds it again when a pending migration creates it, else DROP INDEX "
             "CONCURRENTLY it") for name, building in conn.execute(INVALID_INDEXES_SQL)]


# CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name ON [ONLY] table
CONCURRENT_INDEX = re.compile(
    r"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"(?P<name>[A-Za-z_][\w$]*)\s+ON\s+(?:ONLY\s+)?(?P<table>[A-Za-z_][\w$.]*)",
    re.IGNORECASE)

# An INVALID index of that name on that table that no session is building:
# what a CREATE INDEX CONCURRENTLY leaves when its server or its runner dies.
INTERRUPTED_BUILD_SQL = """
SELECT format('%%I.%%I', n.nspname, c.relname)
FROM pg_index AS i
JOIN pg_class AS c ON c.oid = i.indexrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid AND c.relname = %(name)s AND i.indrelid = to_regclass(%(table)s)
  AND NOT EXISTS (SELECT FROM pg_stat_progress_create_index AS p WHERE p.index_relid = c.oid)
"""


def _drop_interrupted_build(conn, statement: str, out) -> None:
    """Before building an index CONCURRENTLY, drop the INVALID one of the same
    name that an interrupted build left (a killed runner, a server crash):
    IF NOT EXISTS would skip the build and record a broken index as done."""
    match = CONCURRENT_INDEX.match(statement)
    if not match:
        return
    row = conn.execute(INTERRUPTED_BUILD_SQL, {"name": match["name"].lower(),
                                               "table": match["table"]}).fetchone()
    if row:
        out(f"  dropping INVALID index {row[0]} left by an interrupted build")
        conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {row[0]}")


def _statement_by_statement(db, migration, path, statements, settings, direction, out) -> None:
    conn = db.connection  # autocommit: each statement commits on its own
    _set_timeouts(conn, settings, local=False)
    try:
        for statement in statements:
            _drop_interrupted_build(conn, statement, out)
            before = _invalid_indexes(conn)
            cleanup = partial(_drop_new_invalid, conn, before, out)
            try:
                _with_retries(partial(_run_statement, conn, migration, path, statement, direction),
                              migration, settings, out, cleanup=cleanup)
            except RunnerError:
                cleanup()
                raise
        _in_one_transaction(db, migration, path, [], settings, direction)
    finally:
        conn.execute("RESET lock_timeout")
        conn.execute("RESET statement_timeout")


def _drop_new_invalid(conn, before: set[str], out) -> None:
    for index in sorted(_invalid_indexes(conn) - before):
        out(f"  dropping INVALID index {index} left by the failed statement")
        conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index}")


def _with_retries(attempt, migration, settings: Settings, out, cleanup=lambda: None) -> None:
    """Run attempt(); on a lock or statement timeout, retry with backoff a bounded number of times."""
    for number in range(settings.retries + 1):
        try:
            return attempt()
        except pgerrors.LockNotAvailable as exc:
            cleanup()
            if number == settings.retries:
                raise RunnerError(
                    f"{migration.id}: a lock it needs was not had within lock_timeout "
                    f"{settings.lock_timeout:g} s, {number + 1} attempt(s): {first_line(exc)}; "
                    "find the blocking session in pg_stat_activity or retry later",
                    EXIT_LOCK,
                ) from None
            wait = settings.backoff * 2**number
            out(f"  {migration.id}: lock not available, retry {number + 1}/{settings.retries} "
                f"in {wait:g} s")
            time.sleep(wait)
        except pgerrors.QueryCanceled as exc:
            cleanup()
            raise RunnerError(
                f"{migration.id}: a statement ran past statement_timeout "
                f"{settings.statement_timeout:g} s: {first_line(exc)}", EXIT_FAILED,
            ) from None


def run_one(db, migration, settings: Settings, direction: str, out=print) -> None:
    """Apply or roll back one migration, with its record, and report its time."""
    path = Path(migration.path)
    source = path if direction == "apply" else history.rollback_path(path)
    if not source.exists():
        raise RunnerError(f"{migration.id} has no rollback file {source.name}: "
                          "write one, or roll back by hand", EXIT_FAILED)
    statements = _statements(source)
    started = time.monotonic()
    try:
        if migration.use_transactions:
            _with_retries(
                lambda: _in_one_transaction(db, migration, source, statements, settings,
                                            direction),
                migration, settings, out)
        else:
            _statement_by_statement(db, migration, source, statements, settings, direction, out)
    except psycopg.OperationalError as exc:
        if not (db.connection.broken or db.connection.closed):
            raise
        while isinstance(exc.__context__, psycopg.OperationalError):
            exc = exc.__context__  # the first error says what happened; the rollback's does not
        raise _lost_connection(migration, direction, exc) from None
    out(f"{FINISHED_WORDS[direction]}  {migration.id}  ({(time.monotonic() - started) * 1000:.0f} ms)")


def _lost_connection(migration, direction: str, exc: BaseException) -> RunnerError:
    """The server went away mid-migration (a crash, a restart, a failover)."""
    if migration.use_transactions:
        state = f"its transaction was rolled back and it is not recorded as {FINISHED_WORDS[direction]}"
    else:
        state = (f"it is not recorded as {FINISHED_WORDS[direction]}; statements that finished "
                 "stay, and an INVALID index it left is dropped when it runs again")
    return RunnerError(
        f"lost the connection to the server while {DOING_WORDS[direction]} {migration.id} "
        f"({first_line(exc, 'connection lost')}): {state}; once the server is back, "
        "`schema status` shows where it stopped and `schema migrate` goes on from there",
        EXIT_SERVER)


# -- commands ---------------------------------------------------------------------------
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
            out=print) -> list[str]:
    """Apply pending migrations in order (up to and including `to`); returns their ids."""
    settings = settings or Settings.from_env()
    migrations = load_migrations(settings)
    _check_known(migrations, to)
    done = []
    with locked_backend(url, settings, out) as db:
        history.ensure(db.connection)
        check_environment(db.connection, settings, record=True)
        for migration in _up_to(list(db.to_apply(migrations)), to):  # worked out under the lock
            run_one(db, migration, settings, "apply", out)
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
    _check_known(migrations, to)
    with connect(url) as conn:
        check_environment(conn, settings, record=False)
        applied = history.applied_migrations(conn)
    chosen = []
    for migration in _up_to([m for m in migrations if m.id not in applied], to):
        chosen.append(migration.id)
        mode = "one transaction" if migration.use_transactions else "no transaction"
        out(f"-- {migration.id} ({Path(migration.path).name}, {mode})")
        for statement in _statements(Path(migration.path)):
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
    diff = _diff_against_scratch(url, settings, applied)
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


@contextmanager
def scratch_database(url: str, purpose: str) -> Iterator[str]:
    """URL of a new empty database on the same server as url, dropped afterwards
    (also on failure); its name says what it is for and who made it."""
    with connect(url) as conn:
        dbname = conn.execute("SELECT current_database()").fetchone()[0]
        scratch = f"{dbname[:40]}_{purpose}_{os.getpid()}"
        try:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
                sql.Identifier(scratch)))
        except psycopg.Error as exc:
            raise RunnerError(f"{purpose} needs to create a scratch database: {first_line(exc)}",
                              EXIT_FAILED) from None
        try:
            yield config.with_database(url, scratch)
        finally:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(scratch)))


def _diff_against_scratch(url: str, settings: Settings, applied_ids: list[str]) -> list[str]:
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
        return dump.schema_diff(scratch_url, url)
