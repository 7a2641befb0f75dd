"""The benchmark's own PostgreSQL 17: a scratch cluster, started for one run and deleted after it.

It is runner.servers.server.Server (which runs PostgreSQL as an unprivileged user
when we are root) with settings for a benchmark. Each setting says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from runner.migrate import commands
from runner.servers.server import Server, free_port, throwaway_server

DBNAME = "cadcam_bench"

SETTINGS = {
    # Enough memory for the whole default-scale data set (about 4 GB) to stay
    # cached, on a 24 GB machine; the 5x growth step reads through the OS cache.
    "shared_buffers": "'4GB'",
    "effective_cache_size": "'16GB'",
    "work_mem": "'16MB'",
    "maintenance_work_mem": "'1GB'",
    # Durability off: the data is scratch, and a commit's flush to this disk
    # would cost the same on both sides of every comparison and hide the
    # difference in CPU work that the benchmark measures.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # No checkpoint in the middle of a measured run.
    "max_wal_size": "'32GB'",
    "checkpoint_timeout": "'1h'",
    # VACUUM and ANALYZE run at fixed points of the run instead, so that a
    # background vacuum never lands in one measurement and not another.
    "autovacuum": "off",
    # Compiling a short query costs more than it saves.
    "jit": "off",
    "max_connections": "50",
}


@contextmanager
def bench_server(parent: Path) -> Iterator[Server]:
    """A new cluster under parent, deleted when the block ends."""
    parent.mkdir(parents=True, exist_ok=True)
    with throwaway_server(parent, "pg-", free_port(), SETTINGS) as server:
        yield server


def migrated_database(server: Server) -> str:
    """URL of a new database with every migration applied by the runner."""
    server.ensure_database(DBNAME)
    url = server.url(DBNAME)
    commands.migrate(url, out=lambda _: None)
    return url


def server_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]
