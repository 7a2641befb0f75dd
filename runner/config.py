"""Where things are and which database to use, from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = REPO / "migrations"
SQL_DIR = REPO / "sql"

# The embedded development server: 17 on 55432, another major N on 554N
# (55415, 55416, 55418), so that servers of two majors can run side by side.
DEFAULT_PORT = 55432
DEFAULT_MAJOR = 17
DEFAULT_DBNAME = "cadcam"
SUPERUSER = "postgres"

# Schemes accepted for DATABASE_URL; yoyo needs the +psycopg one to pick psycopg 3.
LIBPQ_SCHEMES = ("postgresql", "postgres")
YOYO_SCHEME = "postgresql+psycopg"


def database_url_from_env() -> str | None:
    """DATABASE_URL when set and not empty, else None (use the embedded server)."""
    return os.environ.get("DATABASE_URL") or None


def embedded_port(major: int = DEFAULT_MAJOR) -> int:
    default = DEFAULT_PORT if major == DEFAULT_MAJOR else 55400 + major
    text = os.environ.get("SCHEMA_PG_PORT", "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1024 <= int(text) <= 65535:
        from runner.errors import EXIT_USAGE, RunnerError

        raise RunnerError(f"SCHEMA_PG_PORT={text} is not a port: set it to a number from "
                          "1024 to 65535", EXIT_USAGE)
    return int(text)


def embedded_dbname() -> str:
    return os.environ.get("SCHEMA_PG_DBNAME", DEFAULT_DBNAME)


def embedded_state_dir(major: int = DEFAULT_MAJOR) -> Path:
    """The git-ignored folder that holds the embedded server's data and log:
    .pgdata for 17, .pgdata-N for another major."""
    default = REPO / (".pgdata" if major == DEFAULT_MAJOR else f".pgdata-{major}")
    return Path(os.environ.get("SCHEMA_PG_STATE_DIR", default)).resolve()


def _with_scheme(url: str, scheme: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in (*LIBPQ_SCHEMES, YOYO_SCHEME):
        from runner.errors import EXIT_USAGE, RunnerError

        raise RunnerError(
            f"DATABASE_URL must start with postgresql:// (got {parts.scheme or 'no'} scheme)",
            EXIT_USAGE,
        )
    return urlunsplit((scheme, *parts[1:]))


def yoyo_url(url: str) -> str:
    """The URL as yoyo wants it: postgresql+psycopg:// selects psycopg 3."""
    return _with_scheme(url, YOYO_SCHEME)


def libpq_url(url: str) -> str:
    """The URL as libpq (psycopg, psql, pg_dump) wants it."""
    return _with_scheme(url, "postgresql")


def redact(url: str) -> str:
    """The URL with any password replaced by ***, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, *parts[2:]))


def with_params(url: str, params: dict[str, str]) -> str:
    """The URL with query parameters added (the URL's own win)."""
    parts = urlsplit(url)
    query = {**params, **dict(parse_qsl(parts.query))}
    return urlunsplit((*parts[:3], urlencode(query, quote_via=quote), parts.fragment))


def with_database(url: str, dbname: str) -> str:
    """The URL pointing at another database on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))
