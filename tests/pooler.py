"""A real PgBouncer in transaction mode in front of the test server.

Most deployments put PgBouncer (pool_mode = transaction) between the
application and PostgreSQL: consecutive transactions of one server
connection belong to different clients. The pooler tests and the soak
connect through this one, as LOGIN roles that are members of the project's
group roles, the way a deploy creates them.

PgBouncer comes from Debian's package `pgbouncer` (there is no pip build);
`make test` installs it when it is missing and runs as root. Like the
server, it refuses nothing as root, but it runs as the same unprivileged
user as the server, on a free port, with its files in a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import port_for
import psycopg
from psycopg import sql

from runner.servers.server import server_user

BINARY_PATHS = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")
INSTALL_HINT = ("pgbouncer is not installed: run `sudo apt-get install pgbouncer` "
                "(make test installs it by itself when run as root)")

# LOGIN roles of the pooled clients, one per group role, made once per test
# session on the throw-away cluster. SINGLE is the application's login held
# to one server connection (max_user_connections), so that a test knows
# its clients take turns on the same backend, as a busy pool makes them.
LOGINS = {"app": "pooled_app", "worker": "pooled_worker", "admin": "pooled_admin",
          "single": "pooled_app_single"}
GROUPS = {"app": "cadcam_app", "worker": "cadcam_worker", "admin": "cadcam_admin",
          "single": "cadcam_app"}


def binary() -> str | None:
    """Path of the pgbouncer program, or None when it is not installed."""
    found = shutil.which("pgbouncer")
    return found or next((p for p in BINARY_PATHS if os.access(p, os.X_OK)), None)


@dataclass(frozen=True)
class Pooler:
    port: int
    pool_size: int

    def url(self, dbname: str, login: str = "app") -> str:
        """A libpq URL of dbname through the pooler, as one of LOGINS."""
        return f"postgresql://{LOGINS[login]}@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str, login: str = "app", **kwargs) -> psycopg.Connection:
        """A client connection through the pooler. No server-side prepared
        statements: PgBouncer 1.18 in transaction mode cannot route them."""
        return psycopg.connect(self.url(dbname, login), prepare_threshold=None, **kwargs)


def create_logins(superuser_url: str) -> None:
    """The LOGIN roles of LOGINS, members of their group roles (cluster-wide)."""
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        for key, login in LOGINS.items():
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(
                    sql.Identifier(login), sql.Identifier(GROUPS[key])))


def _config(folder: Path, server_port: int, port: int, pool_size: int) -> Path:
    users = "\n".join(f'"{login}" ""' for login in LOGINS.values())
    (folder / "userlist.txt").write_text(users + "\n")
    ini = folder / "pgbouncer.ini"
    ini.write_text(f"""\
[databases]
* = host=127.0.0.1 port={server_port}

[users]
{LOGINS["single"]} = max_user_connections=1

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "userlist.txt"}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 500
logfile = {folder / "pgbouncer.log"}
pidfile = {folder / "pgbouncer.pid"}
""")
    return ini


def _wait_until_listening(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text().strip().splitlines()[-1:] if log.exists() else []
            raise RuntimeError(f"pgbouncer exited with {proc.returncode}: {' '.join(tail)}")
        try:
            with psycopg.connect(f"postgresql://{LOGINS['admin']}@127.0.0.1:{port}/postgres",
                                 connect_timeout=2, prepare_threshold=None):
                return
        except psycopg.OperationalError:
            time.sleep(0.05)
    raise RuntimeError(f"pgbouncer did not accept connections on port {port} within 20 s")


@contextmanager
def running_pooler(server_port: int, pool_size: int = 4) -> Iterator[Pooler]:
    """PgBouncer in transaction mode on a free port in front of the server,
    as the server's unprivileged user when we are root; stopped afterwards."""
    program = binary()
    if program is None:
        raise FileNotFoundError(INSTALL_HINT)
    user = server_user()
    folder = Path(tempfile.mkdtemp(prefix="schema-pgbouncer-"))
    port = port_for.select_random()
    ini = _config(folder, server_port, port, pool_size)
    command = [program, str(ini)]
    if user:
        shutil.chown(folder, user, user)
        for path in folder.iterdir():
            shutil.chown(path, user, user)
        command = ["runuser", "-u", user, "--", *command]
    proc = subprocess.Popen(command, cwd="/", stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait_until_listening(proc, port, folder / "pgbouncer.log")
        yield Pooler(port, pool_size)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
