"""The tests' PgBouncer (transaction mode, runner/servers/pooler.py) in front
of the test server, and the logins its clients connect as.

The pooler tests and the soak connect through it as LOGIN roles that are
members of the project's group roles, the way a deploy creates them;
`make test` installs PgBouncer when it is missing and runs as root.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from runner.servers import pooler

INSTALL_HINT = pooler.INSTALL_HINT
binary = pooler.binary

# LOGIN roles of the pooled clients, one per group role, made once per test
# session on the throw-away cluster. SINGLE is the application's login held
# to one server connection (max_user_connections), so that a test knows
# its clients take turns on the same backend, as a busy pool makes them.
LOGINS = {"app": "pooled_app", "worker": "pooled_worker", "admin": "pooled_admin",
          "single": "pooled_app_single"}
GROUPS = {"app": "cadcam_app", "worker": "cadcam_worker", "admin": "cadcam_admin",
          "single": "cadcam_app"}


def setup(pool_size: int) -> pooler.Setup:
    return pooler.Setup(logins={LOGINS[key]: GROUPS[key] for key in LOGINS},
                        pool_size=pool_size, limits={LOGINS["single"]: 1})


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
    pooler.create_logins(superuser_url, setup(1).logins)


@contextmanager
def running_pooler(server_port: int, pool_size: int = 4) -> Iterator[Pooler]:
    """PgBouncer in transaction mode on a free port in front of the server,
    as the server's unprivileged user when we are root; stopped afterwards."""
    with pooler.running(server_port, setup(pool_size)) as port:
        yield Pooler(port, pool_size)
