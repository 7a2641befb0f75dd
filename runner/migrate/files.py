"""The migrations on disk, as yoyo reads them."""

from __future__ import annotations

from pathlib import Path

from yoyo import read_migrations
from yoyo.exceptions import BadMigration
from yoyo.migrations import read_sql_migration

from runner.errors import EXIT_USAGE, RunnerError
from runner.settings import Settings


def load_migrations(settings: Settings):
    directory = settings.migrations_dir
    if not directory.is_dir():
        raise RunnerError(f"no migrations folder at {directory}", EXIT_USAGE)
    migrations = read_migrations(str(directory))
    for migration in migrations:
        if not migration.path.endswith(".sql"):
            raise RunnerError(f"{migration.path}: the runner runs SQL migrations only", EXIT_USAGE)
    # Not loaded here: yoyo reads (and splits) a file when it is first needed,
    # its `depends` or its steps, so a no-op migrate reads none of them.
    return migrations


def bad_migration(exc: BadMigration) -> RunnerError:
    """yoyo could not read a migration (e.g. a `depends:` naming no file)."""
    return RunnerError(f"{exc}: check its `-- depends:` line against the folder", EXIT_USAGE)


def statements_of(path: Path) -> list[str]:
    return read_sql_migration(str(path))[2]


def line_of(path: Path, statement: str) -> int:
    text = path.read_text(encoding="utf-8")
    offset = text.find(statement.strip())
    return text.count("\n", 0, offset) + 1 if offset >= 0 else 0


def check_known(migrations, target: str | None) -> None:
    if target is not None and target not in {m.id for m in migrations}:
        folder = migrations and Path(migrations[0].path).parent
        raise RunnerError(f"no migration {target!r} in {folder} (see `status`)", EXIT_USAGE)


def up_to(pending: list, target: str | None) -> list:
    """The pending migrations up to and including target (none when target is applied)."""
    if target is None:
        return pending
    ids = [m.id for m in pending]
    return pending[:ids.index(target) + 1] if target in ids else []
