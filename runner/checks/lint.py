"""squawk over the migrations, each linted the way the runner applies it.

Transactional migrations run in one transaction, so squawk is told so
(--assume-in-transaction) and knows that an index on a table created in the
same migration needs no CONCURRENTLY; `-- transactional: false` migrations
are linted as they run, statement by statement. Rollback files are skipped.
Configuration, and the reason for every rule switched off: .squawk.toml.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from yoyo.migrations import read_sql_migration

from runner import config

SQUAWK = Path(sys.executable).with_name("squawk")
CONFIG = config.REPO / ".squawk.toml"


def forward_migrations(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.sql") if not p.name.endswith(".rollback.sql"))


def is_transactional(path: Path) -> bool:
    directives = read_sql_migration(str(path))[0]
    return directives.get("transactional", "true").strip().lower() not in ("false", "no", "off")


def squawk(paths: list[Path], in_transaction: bool) -> int:
    if not paths:
        return 0
    args = [str(SQUAWK), "--config", str(CONFIG), "--reporter", "gcc"]
    if in_transaction:
        args.append("--assume-in-transaction")
    return subprocess.run([*args, *map(str, paths)]).returncode


def lint(directory: Path = config.MIGRATIONS_DIR) -> int:
    """Exit status: 0 when squawk finds nothing in any migration."""
    files = forward_migrations(directory)
    transactional = [p for p in files if is_transactional(p)]
    others = [p for p in files if p not in transactional]
    codes = [squawk(transactional, True), squawk(others, False)]
    if not any(codes):
        print(f"squawk: {len(files)} migration(s) checked, no problems")
    return max(codes)

