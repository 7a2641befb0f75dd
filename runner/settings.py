"""How the runner behaves: Settings, from the environment and the command line."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from runner import config
from runner.errors import EXIT_USAGE, RunnerError

# The same rule as schema_runner.environment's CHECK.
ENVIRONMENT_NAME = re.compile(r"[a-z][a-z0-9_-]*")

# PostgreSQL's lock_timeout and statement_timeout are int milliseconds.
MAX_SECONDS = 2147483


def parse_number(name: str, raw: str, kind=float, maximum: float = MAX_SECONDS):
    """A finite, non-negative number from text, or a usage error naming its setting."""
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or not 0 <= value <= maximum:
        raise RunnerError(f"{name} must be a number from 0 to {maximum} (got {raw!r})",
                          EXIT_USAGE)
    return value


def _env_number(name: str, default: float, kind=float):
    raw = os.environ.get(name)
    return default if raw in (None, "") else parse_number(name, raw, kind)


@dataclass(frozen=True)
class Settings:
    """How the runner behaves; from the environment, overridden by command-line options."""

    migrations_dir: Path = config.MIGRATIONS_DIR
    environment: str = "development"
    lock_wait: float = 60.0  # s to wait for the migration lock
    lock_timeout: float = 5.0  # s one statement may wait for a table lock
    statement_timeout: float = 900.0  # s one statement may run; 0: no limit
    retries: int = 3  # further attempts after a lock timeout
    backoff: float = 1.0  # s before the first retry, doubled each time

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        values = {
            "migrations_dir": Path(os.environ.get("SCHEMA_MIGRATIONS_DIR")
                                   or config.MIGRATIONS_DIR),
            "environment": os.environ.get("SCHEMA_ENV") or "development",
            "lock_wait": _env_number("SCHEMA_LOCK_WAIT", 60.0),
            "lock_timeout": _env_number("SCHEMA_LOCK_TIMEOUT", 5.0),
            "statement_timeout": _env_number("SCHEMA_STATEMENT_TIMEOUT", 900.0),
            "retries": _env_number("SCHEMA_LOCK_RETRIES", 3, int),
            "backoff": _env_number("SCHEMA_LOCK_BACKOFF", 1.0),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not ENVIRONMENT_NAME.fullmatch(values["environment"]):
            raise RunnerError(
                f"SCHEMA_ENV must be a lower-case name such as development, staging or "
                f"production (got {values['environment']!r})", EXIT_USAGE)
        return cls(**values)
