"""The runner's own cost against plain yoyo, measured as whole processes.

`schema migrate` does more than `yoyo apply`: the migration lock, the server
and environment guards, each migration in one transaction with its record
and file checksum, lock and statement timeouts. What that costs a deploy is
the time of the whole command, so both run as the deploy runs them (a new
Python process each, DATABASE_URL, the repository's yoyo.ini), alternated,
RUNS times each, and the medians are compared:

* every migration on an empty database (a new one for each run);
* a no-op: the same command again on the database it has just migrated.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from runner import config

RUNS = 9
YOYO = Path(sys.executable).with_name("yoyo")


@dataclass(frozen=True, kw_only=True)
class Timing:
    runner_s: float
    yoyo_s: float

    @property
    def ratio(self) -> float:
        return self.runner_s / self.yoyo_s


def _command(tool: str, url: str) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "DATABASE_URL": config.yoyo_url(url) if tool == "yoyo" else url}
    if tool == "yoyo":
        return [str(YOYO), "apply"], env
    return [sys.executable, "-m", "runner", "migrate"], env


def _timed(tool: str, url: str) -> float:
    command, env = _command(tool, url)
    started = time.perf_counter()
    subprocess.run(command, cwd=config.REPO, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def measure(admin_url: str, runs: int = RUNS) -> dict[str, Timing]:
    """{"migrate": ..., "noop": ...}: medians of `runs` alternated runs."""
    times: dict[str, dict[str, list[float]]] = {"migrate": {}, "noop": {}}
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for number in range(runs):
            for tool in ("runner", "yoyo") if number % 2 == 0 else ("yoyo", "runner"):
                name = f"overhead_{tool}_{number}"
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                url = config.with_database(admin_url, name)
                try:
                    times["migrate"].setdefault(tool, []).append(_timed(tool, url))
                    times["noop"].setdefault(tool, []).append(_timed(tool, url))
                finally:
                    conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(
                        sql.Identifier(name)))
    return {kind: Timing(runner_s=statistics.median(by["runner"]),
                         yoyo_s=statistics.median(by["yoyo"]))
            for kind, by in times.items()}
