"""The platform's traffic for a rehearsal: the query catalog of
workload/queries, weighted as the mixed workload (workload.mix), sent at a
fixed rate by several clients, each query as the role its header names.

Every query runs in a transaction of its own that is rolled back (sent with
its role and acting user in one round trip): it takes
the locks the real one takes (a claim its row locks, a progress report its
row-exclusive lock), and the data stays as generated, so the rehearsal can
run as long as it needs. A query's latency counts from when it was due, so a
client held up behind a lock shows the whole wait.
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass, field

import psycopg

from workload import catalog, clients
from workload.mix import MIX

APPLICATION_NAME = "schema-rehearse-traffic"

# The table locks a statement takes: every table it names is read (ACCESS
# SHARE); UPDATE's target is written (ROW EXCLUSIVE); FOR UPDATE locks rows
# of what it reads (ROW SHARE).
_NAMED = r"\b(?:FROM|JOIN|UPDATE)\s+({table})\b"


def needed_locks(statement: str, tables: list[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for table in tables:
        if not re.search(_NAMED.format(table=re.escape(table)), statement, re.IGNORECASE):
            continue
        modes = {"AccessShareLock"}
        if re.search(rf"\bUPDATE\s+{re.escape(table)}\b", statement, re.IGNORECASE):
            modes.add("RowExclusiveLock")
        if re.search(r"\bFOR\s+UPDATE\b", statement, re.IGNORECASE):
            modes.add("RowShareLock")
        found[table] = modes
    return found


@dataclass(frozen=True, kw_only=True)
class Op:
    """One traffic query as sent: when it was due, started, ended (monotonic
    seconds), on which backend, and the error, if any."""

    query: str
    due: float
    started: float
    ended: float
    pid: int
    error: str | None

    @property
    def latency_ms(self) -> float:
        return (self.ended - self.due) * 1000


@dataclass
class Traffic:
    """Clients sending the catalog at `rate` queries a second in all."""

    url: str
    variables: dict[str, int]
    rate: float
    clients: int = 4
    seed: int = 1
    ops: list[Op] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        self.queries = self._sendable({q.name: q for q in catalog.load() if q.name in MIX})
        names = sorted(self.queries)
        self.names, self.weights = names, [MIX[n] for n in names]
        self.roles = sorted({q.role for q in self.queries.values()})
        self.as_roles, self.acting_sql = self._release()

    def _sendable(self, queries: dict) -> dict:
        """The queries the release before the pending migrations could send:
        those its schema plans (a query through a function that a pending
        migration makes, such as session_for_refresh() before 0012, is left
        out)."""
        rng = random.Random(self.seed)
        found = {}
        with psycopg.connect(self.url, autocommit=True) as conn:
            for name, query in queries.items():
                text = query.bound(query.sample(self.variables, rng), conn)
                try:
                    with conn.transaction(force_rollback=True):
                        conn.execute(f"EXPLAIN {text}")
                    found[name] = query
                except psycopg.errors.UndefinedFunction:
                    pass
        return found

    def _release(self) -> tuple[bool, str]:
        """How the release before the pending migrations sends its queries: as
        the project's roles once they exist (before 0009 the application
        connected as the owner), naming the acting user with set_acting_user()
        once it exists (before 0024, SET LOCAL app.user_id)."""
        with psycopg.connect(self.url) as conn:
            roles = conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s)",
                                 (self.roles,)).fetchone()[0]
            function = conn.execute("SELECT to_regproc('set_acting_user')").fetchone()[0]
        acting = clients.SET_ACTING_USER if function else clients.SET_APP_USER_ID
        return roles == len(self.roles), acting

    def start(self) -> None:
        for number in range(self.clients):
            conn = psycopg.connect(self.url, application_name=APPLICATION_NAME,
                                   autocommit=True)
            thread = threading.Thread(target=self._client, args=(conn, number), daemon=True)
            self._threads.append(thread)
        for thread in self._threads:
            thread.start()

    def failures(self) -> list[Op]:
        """The queries that have failed so far."""
        with self._lock:
            return [op for op in self.ops if op.error]

    def stop(self) -> list[Op]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)
        return sorted(self.ops, key=lambda op: op.due)

    def _client(self, conn: psycopg.Connection, number: int) -> None:
        rng = random.Random(self.seed * 1000 + number)
        interval = self.clients / self.rate
        due = time.monotonic() + rng.random() * interval
        pid = conn.info.backend_pid
        try:
            while not self._stop.is_set():
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                name = rng.choices(self.names, self.weights)[0]
                started = time.monotonic()
                error = self._send(conn, name, rng)
                op = Op(query=name, due=due, started=started, ended=time.monotonic(),
                        pid=pid, error=error)
                with self._lock:
                    self.ops.append(op)
                due += interval
        finally:
            conn.close()

    def _send(self, conn: psycopg.Connection, name: str, rng: random.Random) -> str | None:
        """One round trip (workload.clients.send): the transaction, its acting
        user and role, the query and the rollback."""
        query = self.queries[name]
        values = query.sample(self.variables, rng)
        role = query.role if self.as_roles else None
        user_id = values[query.acting_user] if self.as_roles and query.acting_user else None
        statement = f"/* rehearse:{name} */ " + query.bound(values, conn)
        try:
            clients.send(conn, statement, role, user_id, self.acting_sql)
            return None
        except psycopg.Error as exc:
            return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
