"""A real PgBouncer in transaction mode in front of a server: the tests' and
the benchmark's pooler.

Most deployments put PgBouncer (pool_mode = transaction) between the
application and PostgreSQL: consecutive transactions of one server
connection belong to different clients. PgBouncer comes from Debian's
package `pgbouncer` (there is no pip build); `make pgbouncer` installs it
when it is missing and runs as root. Like the server, it runs as the
unprivileged server user when we are root, on a free port, with its files
in a temporary folder, and trusts the logins it is told of.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from runner.servers.server import free_port, server_user

BINARY_PATHS = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")
INSTALL_HINT = ("pgbouncer is not installed: run `sudo apt-get install pgbouncer` "
                "(make test installs it by itself when run as root)")


def binary() -> str | None:
    """Path of the pgbouncer program, or None when it is not installed."""
    found = shutil.which("pgbouncer")
    return found or next((p for p in BINARY_PATHS if os.access(p, os.X_OK)), None)


@dataclass(frozen=True)
class Setup:
    """What the pooler serves: its logins (each a LOGIN role, member of a
    group role), the server connections per database and login, and logins
    held to fewer server connections than that."""

    logins: dict[str, str]  # login -> group role
    pool_size: int = 4
    limits: dict[str, int] = field(default_factory=dict)  # login -> max server connections


def create_logins(superuser_url: str, logins: dict[str, str]) -> None:
    """Each LOGIN role, a member of its group role, unless it exists (cluster-wide)."""
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        for login, group in logins.items():
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(
                    sql.Identifier(login), sql.Identifier(group)))


def _config(folder: Path, server_port: int, port: int, setup: Setup) -> Path:
    users = "\n".join(f'"{login}" ""' for login in setup.logins)
    (folder / "userlist.txt").write_text(users + "\n")
    limits = "\n".join(f"{login} = max_user_connections={n}" for login, n in setup.limits.items())
    ini = folder / "pgbouncer.ini"
    ini.write_text(f"""\
[databases]
* = host=127.0.0.1 port={server_port}

[users]
{limits}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "userlist.txt"}
pool_mode = transaction
default_pool_size = {setup.pool_size}
max_client_conn = 500
logfile = {folder / "pgbouncer.log"}
pidfile = {folder / "pgbouncer.pid"}
""")
    return ini


def _wait_until_listening(proc: subprocess.Popen, port: int, login: str, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text().strip().splitlines()[-1:] if log.exists() else []
            raise RuntimeError(f"pgbouncer exited with {proc.returncode}: {' '.join(tail)}")
        try:
            with psycopg.connect(f"postgresql://{login}@127.0.0.1:{port}/postgres",
                                 connect_timeout=2, prepare_threshold=None):
                return
        except psycopg.OperationalError:
            time.sleep(0.05)
    raise RuntimeError(f"pgbouncer did not accept connections on port {port} within 20 s")


@contextmanager
def running(server_port: int, setup: Setup) -> Iterator[int]:
    """PgBouncer in transaction mode on a free port in front of the server;
    its port. Stopped and its folder removed when the block ends."""
    program = binary()
    if program is None:
        raise FileNotFoundError(INSTALL_HINT)
    user = server_user()
    folder = Path(tempfile.mkdtemp(prefix="schema-pgbouncer-"))
    port = free_port()
    ini = _config(folder, server_port, port, setup)
    command = [program, str(ini)]
    if user:
        shutil.chown(folder, user, user)
        for path in folder.iterdir():
            shutil.chown(path, user, user)
        command = ["runuser", "-u", user, "--", *command]
    proc = subprocess.Popen(command, cwd="/", stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait_until_listening(proc, port, next(iter(setup.logins)), folder / "pgbouncer.log")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
