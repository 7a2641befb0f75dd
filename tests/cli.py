"""Helpers to run the runner's command line as a deploy would, in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg

from runner import config
from runner.migrate import history


def cli_env(env: dict | None = None, **extra) -> dict:
    """The environment of a runner subprocess: ours, plus the given variables."""
    return {**os.environ, **(env or {}), **{k: str(v) for k, v in extra.items()}}


def run_cli(*args, env: dict | None = None, timeout: float = 120,
            **extra) -> subprocess.CompletedProcess:
    """Run `python -m runner ARGS` to completion; stdout and stderr captured as text."""
    return subprocess.run([sys.executable, "-m", "runner", *map(str, args)], cwd=config.REPO,
                          env=cli_env(env, **extra), capture_output=True, text=True,
                          timeout=timeout)


def start_cli(*args, env: dict | None = None, **extra) -> subprocess.Popen:
    """Start `python -m runner ARGS` in the background."""
    return subprocess.Popen([sys.executable, "-m", "runner", *map(str, args)], cwd=config.REPO,
                            env=cli_env(env, **extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def migrations_copy(directory: Path, extra: dict[str, str] | None = None) -> Path:
    """A copy of migrations/ in `directory`, plus extra files {name: content}."""
    target = directory / "migrations"
    shutil.copytree(config.MIGRATIONS_DIR, target)
    for name, content in (extra or {}).items():
        (target / name).write_text(content)
    return target


MIGRATION_IDS = sorted(p.stem for p in config.MIGRATIONS_DIR.glob("*.sql")
                       if not p.name.endswith(".rollback.sql"))
LAST_MIGRATION = MIGRATION_IDS[-1]
ALL_APPLIED = f"{len(MIGRATION_IDS)} migration(s) applied"


def quiet(_line) -> None:
    """An `out` for runner functions that prints nothing."""


def applied_ids(url: str) -> list[str]:
    """Ids of the migrations yoyo records as applied (none before the first migrate)."""
    with psycopg.connect(url) as conn:
        return sorted(history.applied_migrations(conn))


def extra_migration(body: str, rollback: str | None = None, depends: str = LAST_MIGRATION,
                    transactional: bool = True, name: str = "9001_extra") -> dict[str, str]:
    """Files of one extra migration after the real ones, for a migrations_copy()."""
    head = f"-- {name}: a migration made by a test\n-- depends: {depends}\n"
    if not transactional:
        head += "-- transactional: false\n"
    files = {f"{name}.sql": head + "\n" + body}
    if rollback is not None:
        files[f"{name}.rollback.sql"] = f"-- rollback of {name}\n\n{rollback}"
    return files
