"""Running one migration, forward or back, with its record.

* A transactional migration runs in ONE transaction together with its yoyo
  record and its file checksum, under lock_timeout and statement_timeout,
  retried with backoff when a table lock is not had in time (yoyo applies on
  one connection and records on another, so a crash in between would leave a
  migration applied but unrecorded).
* A non-transactional one (`-- transactional: false`, for CREATE INDEX
  CONCURRENTLY) runs statement by statement; an INVALID index left by a
  failed statement is reported and dropped, and one left by an interrupted
  build (a killed runner, a crashed server) is dropped before the build runs
  again.
* When the server goes away mid-migration, one line says what state it left.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import psycopg
from psycopg import errors as pgerrors
from yoyo.backends import DatabaseBackend

from runner.connection import first_line
from runner.errors import EXIT_FAILED, EXIT_LOCK, EXIT_SERVER, RunnerError
from runner.migrate import history
from runner.migrate.files import line_of, statements_of
from runner.settings import Settings

FINISHED_WORDS = {"apply": "applied", "rollback": "rolled back"}
DOING_WORDS = {"apply": "applying", "rollback": "rolling back"}


class Observer:
    """Told what the engine does, for `schema rehearse`; does nothing itself.
    statement_done runs on the work connection, inside the migration's
    transaction when it has one, so it can read the locks taken so far."""

    def migration_started(self, run: Run) -> None: ...

    def statement_started(self, run: Run, statement: str) -> None: ...

    def statement_done(self, run: Run, statement: str) -> None: ...

    def migration_done(self, run: Run) -> None: ...


@dataclass(frozen=True, kw_only=True)
class Run:
    """A migration being run: which one, which way, from which file, how."""

    db: DatabaseBackend  # the work connection
    migration: object  # a loaded yoyo migration
    direction: str  # "apply" or "rollback"
    source: Path  # the file whose statements run
    statements: tuple[str, ...]
    settings: Settings
    out: Callable[[str], None]
    observer: Observer

    @property
    def conn(self) -> psycopg.Connection:
        return self.db.connection

    @property
    def doing(self) -> str:
        return f"{DOING_WORDS[self.direction]} {self.migration.id}"


# -- statements ------------------------------------------------------------------

def _set_timeouts(conn: psycopg.Connection, settings: Settings, local: bool) -> None:
    scope = "LOCAL " if local else ""
    conn.execute(f"SET {scope}lock_timeout = {int(settings.lock_timeout * 1000)}")
    conn.execute(f"SET {scope}statement_timeout = {int(settings.statement_timeout * 1000)}")


def _run_statement(run: Run, statement: str) -> None:
    run.observer.statement_started(run, statement)
    try:
        run.conn.execute(statement)
        run.observer.statement_done(run, statement)
    except (pgerrors.LockNotAvailable, pgerrors.QueryCanceled):
        raise
    except psycopg.Error as exc:
        if run.conn.broken or run.conn.closed:
            raise  # the server is gone: run_one says so
        first = statement.strip().splitlines()[0]
        raise RunnerError(
            f"{run.doing} failed at {run.source.name} line {line_of(run.source, statement)} "
            f"({first[:60]}): {first_line(exc)}",
            EXIT_FAILED,
        ) from None


# -- one transaction --------------------------------------------------------------

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


def _record(run: Run) -> None:
    db, migration = run.db, run.migration
    if run.direction == "apply":
        db.mark_one(migration, log=False)
        history.record_file(db.connection, migration.id, Path(migration.path))
    else:
        db.unmark_one(migration, log=False)
        history.forget_file(db.connection, migration.id)
    db.log_migration(migration, run.direction)


def _in_one_transaction(run: Run, statements: tuple[str, ...]) -> None:
    run.db.ensure_internal_schema_updated()  # yoyo's tables; it refuses to inside a transaction
    with run.db.transaction():
        _set_timeouts(run.conn, run.settings, local=True)
        _claim_yoyo_lock(run.db)
        for statement in statements:
            _run_statement(run, statement)
        _record(run)
        run.conn.execute("DELETE FROM yoyo_lock WHERE pid = pg_backend_pid()")


# -- statement by statement -------------------------------------------------------

# Every INVALID index, and whether a session is building it right now.
INVALID_INDEXES_SQL = """
SELECT format('%I.%I', n.nspname, c.relname) COLLATE "C",
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


def _drop_interrupted_build(run: Run, statement: str) -> None:
    """Before building an index CONCURRENTLY, drop the INVALID one of the same
    name that an interrupted build left (a killed runner, a server crash):
    IF NOT EXISTS would skip the build and record a broken index as done."""
    match = CONCURRENT_INDEX.match(statement)
    if not match:
        return
    row = run.conn.execute(INTERRUPTED_BUILD_SQL, {"name": match["name"].lower(),
                                                   "table": match["table"]}).fetchone()
    if row:
        run.out(f"  dropping INVALID index {row[0]} left by an interrupted build")
        run.conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {row[0]}")


def _drop_new_invalid(run: Run, before: set[str]) -> None:
    for index in sorted(_invalid_indexes(run.conn) - before):
        run.out(f"  dropping INVALID index {index} left by the failed statement")
        run.conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index}")


def _statement_by_statement(run: Run) -> None:
    conn = run.conn  # autocommit: each statement commits on its own
    _set_timeouts(conn, run.settings, local=False)
    try:
        for statement in run.statements:
            _drop_interrupted_build(run, statement)
            cleanup = partial(_drop_new_invalid, run, _invalid_indexes(conn))
            try:
                _with_retries(run, partial(_run_statement, run, statement), cleanup=cleanup)
            except RunnerError:
                cleanup()
                raise
        _in_one_transaction(run, ())
    finally:
        conn.execute("RESET lock_timeout")
        conn.execute("RESET statement_timeout")


# -- retries and the whole -----------------------------------------------------------

def _with_retries(run: Run, attempt, cleanup=lambda: None) -> None:
    """Run attempt(); on a lock or statement timeout, retry with backoff a bounded
    number of times."""
    settings, migration = run.settings, run.migration
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
            run.out(f"  {migration.id}: lock not available, retry {number + 1}/{settings.retries} "
                    f"in {wait:g} s")
            time.sleep(wait)
        except pgerrors.QueryCanceled as exc:
            cleanup()
            raise RunnerError(
                f"{migration.id}: a statement ran past statement_timeout "
                f"{settings.statement_timeout:g} s: {first_line(exc)}", EXIT_FAILED,
            ) from None


def _lost_connection(run: Run, exc: BaseException) -> RunnerError:
    """The server went away mid-migration (a crash, a restart, a failover)."""
    done = FINISHED_WORDS[run.direction]
    if run.migration.use_transactions:
        state = f"its transaction was rolled back and it is not recorded as {done}"
    else:
        state = (f"it is not recorded as {done}; statements that finished stay, and an "
                 "INVALID index it left is dropped when it runs again")
    return RunnerError(
        f"lost the connection to the server while {run.doing} "
        f"({first_line(exc, 'connection lost')}): {state}; once the server is back, "
        "`schema status` shows where it stopped and `schema migrate` goes on from there",
        EXIT_SERVER)


def run_one(db, migration, settings: Settings, direction: str, out=print,
            observer: Observer | None = None) -> None:
    """Apply or roll back one migration, with its record, and report its time."""
    migration.load()  # its directives (transactional or not); read once, when first run
    path = Path(migration.path)
    source = path if direction == "apply" else history.rollback_path(path)
    if not source.exists():
        raise RunnerError(f"{migration.id} has no rollback file {source.name}: "
                          "write one, or roll back by hand", EXIT_FAILED)
    run = Run(db=db, migration=migration, direction=direction, source=source,
              statements=tuple(statements_of(source)), settings=settings, out=out,
              observer=observer or Observer())
    started = time.monotonic()
    run.observer.migration_started(run)
    try:
        if migration.use_transactions:
            _with_retries(run, lambda: _in_one_transaction(run, run.statements))
        else:
            _statement_by_statement(run)
    except psycopg.OperationalError as exc:
        if not (run.conn.broken or run.conn.closed):
            raise
        while isinstance(exc.__context__, psycopg.OperationalError):
            exc = exc.__context__  # the first error says what happened; the rollback's does not
        raise _lost_connection(run, exc) from None
    run.observer.migration_done(run)
    elapsed_ms = (time.monotonic() - started) * 1000
    out(f"{FINISHED_WORDS[direction]}  {migration.id}  ({elapsed_ms:.0f} ms)")
