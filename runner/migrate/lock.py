"""The migration lock: a session-level PostgreSQL advisory lock on its own connection.

Why not yoyo's lock: yoyo's is a committed row in yoyo_lock, which outlives a
killed process and blocks every later run until `yoyo break-lock`. An
advisory lock belongs to its connection: when the runner dies, the server
drops the connection and the lock with it.

The waiting connection is in autocommit mode and polls pg_try_advisory_lock,
so a waiting runner holds no transaction open (an open transaction would
block the CREATE INDEX CONCURRENTLY of the runner that holds the lock).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from runner.errors import EXIT_LOCK, RunnerError

# One fixed 64-bit key for "this schema is being migrated": 'schemamg' in ASCII.
LOCK_KEY = int.from_bytes(b"schemamg", "big") & 0x7FFF_FFFF_FFFF_FFFF

# Who holds the lock: a bigint key shows in pg_locks as classid (high 32 bits),
# objid (low 32 bits) and objsubid 1.
HOLDER_SQL = """
SELECT a.pid, coalesce(nullif(a.application_name, ''), '?'), a.backend_start
FROM pg_locks AS l
JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.classid = ((%(key)s >> 32) & 4294967295)::oid
  AND l.objid = (%(key)s & 4294967295)::oid
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def holder(conn: psycopg.Connection) -> tuple | None:
    """(pid, application_name, since) of the session holding the lock, or None."""
    return conn.execute(HOLDER_SQL, {"key": LOCK_KEY}).fetchone()


@contextmanager
def migration_lock(conninfo: str, wait_seconds: float, out=print,
                   poll_seconds: float = 0.2) -> Iterator[psycopg.Connection]:
    """Hold the migration lock for the duration of the block, waiting at most wait_seconds."""
    conn = psycopg.connect(conninfo, autocommit=True)
    try:
        deadline = time.monotonic() + wait_seconds
        reported = None
        while not conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
            who = holder(conn)
            if who and who[0] != reported:
                pid, app, since = who
                out(f"waiting for the migration lock, held by pid {pid} ({app}) since "
                    f"{since:%Y-%m-%d %H:%M:%S %Z}")
                reported = pid
            if time.monotonic() >= deadline:
                detail = f" by pid {who[0]} ({who[1]})" if who else ""
                raise RunnerError(
                    f"the migration lock is still held{detail} after {wait_seconds:g} s: "
                    "another runner is migrating; wait for it or raise --lock-wait",
                    EXIT_LOCK,
                )
            time.sleep(poll_seconds)
        yield conn
    finally:
        conn.close()  # the server releases the lock with the session
