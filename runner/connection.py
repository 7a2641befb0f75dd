"""Connections of the runner: its work connection (a yoyo backend) and plain
ones, with the parameters every one of them carries."""

from __future__ import annotations

import psycopg
from yoyo import get_backend
from yoyo.backends import DatabaseBackend

from runner import config
from runner.errors import EXIT_SERVER, RunnerError

APPLICATION_NAME = "schema-runner"

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
