"""What a rehearsal sees of the migrations: the statements the runner runs
(told by the engine), the table locks each one holds, and which traffic
queries wait on them.

Two sources, because neither sees everything. The engine's observer runs
after each statement on the runner's own connection: inside a transactional
migration the locks it reads are exactly those taken so far, however brief
the migration. A sampler on a connection of its own reads pg_locks and
pg_stat_activity every 10 ms or so: the locks of statements that commit on
their own (CREATE INDEX CONCURRENTLY) and the traffic queries that wait.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psycopg

from runner.connection import APPLICATION_NAME as RUNNER_NAME
from runner.migrate.engine import Observer
from runner.rehearse.traffic import APPLICATION_NAME as TRAFFIC_NAME

# Relation locks of the runner's and the traffic's backends; for a waiting
# traffic backend also who blocks it.
SAMPLE_SQL = """
SELECT a.pid, a.application_name = %(runner)s AS is_runner, c.relname, l.mode, l.granted,
       CASE WHEN NOT l.granted THEN pg_blocking_pids(a.pid) END AS blockers,
       a.query
FROM pg_stat_activity AS a
JOIN pg_locks AS l ON l.pid = a.pid AND l.locktype = 'relation'
JOIN pg_class AS c ON c.oid = l.relation
WHERE a.application_name IN (%(runner)s, %(traffic)s)
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
"""

OWN_LOCKS_SQL = """
SELECT c.relname, l.mode
FROM pg_locks AS l JOIN pg_class AS c ON c.oid = l.relation
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
  AND c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
"""


@dataclass(frozen=True, kw_only=True)
class Statement:
    """One statement the runner ran: when (monotonic seconds), and the table
    locks its transaction held when it was done (transactional migrations)."""

    migration: str
    index: int
    text: str
    started: float
    ended: float
    locks: frozenset[tuple[str, str]]
    in_transaction: bool


@dataclass(frozen=True, kw_only=True)
class Sample:
    at: float
    runner_locks: frozenset[tuple[int, str, str]]  # (pid, table, mode) granted
    runner_waiting: frozenset[tuple[int, str, str]]  # (pid, table, mode) asked, not had yet
    waiting: tuple[tuple[int, str, str, tuple[int, ...], str], ...]  # pid, table, mode, by, query


@dataclass
class Journal(Observer):
    """The engine's account of the migrations, statement by statement."""

    statements: list[Statement] = field(default_factory=list)
    migrations: dict[str, tuple[float, float]] = field(default_factory=dict)
    runner_pids: set[int] = field(default_factory=set)
    _current: dict = field(default_factory=dict)

    def migration_started(self, run) -> None:
        self.runner_pids.add(run.conn.info.backend_pid)
        self._current = {"migration": run.migration.id, "started": time.monotonic(), "index": 0}

    def statement_started(self, run, statement: str) -> None:
        self._current["statement"] = (statement, time.monotonic())

    def statement_done(self, run, statement: str) -> None:
        text, started = self._current["statement"]
        in_transaction = run.migration.use_transactions
        locks = (frozenset(run.conn.execute(OWN_LOCKS_SQL).fetchall())
                 if in_transaction else frozenset())
        self._current["index"] += 1
        self.statements.append(Statement(
            migration=run.migration.id, index=self._current["index"], text=text.strip(),
            started=started, ended=time.monotonic(), locks=locks,
            in_transaction=in_transaction))

    def migration_done(self, run) -> None:
        self.migrations[run.migration.id] = (self._current["started"], time.monotonic())


@dataclass
class Sampler:
    """Reads the locks every `interval` seconds on a connection of its own."""

    url: str
    interval: float = 0.01
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        conn = psycopg.connect(self.url, autocommit=True, application_name="schema-rehearse")
        self._thread = threading.Thread(target=self._loop, args=(conn,), daemon=True)
        self._thread.start()

    def stop(self) -> list[Sample]:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
        return self.samples

    def _loop(self, conn: psycopg.Connection) -> None:
        params = {"runner": RUNNER_NAME, "traffic": TRAFFIC_NAME}
        try:
            while not self._stop.is_set():
                at = time.monotonic()
                rows = conn.execute(SAMPLE_SQL, params).fetchall()
                self.samples.append(Sample(
                    at=at,
                    runner_locks=frozenset((pid, table, mode) for pid, runner, table, mode,
                                           granted, _, _ in rows if runner and granted),
                    runner_waiting=frozenset((pid, table, mode) for pid, runner, table, mode,
                                             granted, _, _ in rows if runner and not granted),
                    waiting=tuple((pid, table, mode, tuple(by or ()), query or "")
                                  for pid, runner, table, mode, granted, by, query in rows
                                  if not runner and not granted)))
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - at)))
        finally:
            conn.close()
