"""Landed migrations are immutable: migrations/manifest.sha256 pins each file.

The manifest is in `sha256sum` format (`sha256sum -c manifest.sha256` works
from migrations/). A listed file that changed or vanished fails CI; a file
not yet listed is a new migration, added with `make manifest`, which only
ever appends lines. `make fix` formats only files the manifest does not list.

    python -m runner.manifest check     # what the tests check
    python -m runner.manifest update    # make manifest: append new files
    python -m runner.manifest unlanded  # make fix: files not yet landed
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from runner import config

NAME = "manifest.sha256"


def manifest_path(directory: Path) -> Path:
    return directory / NAME


def migration_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.sql"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read(directory: Path) -> dict[str, str]:
    """file name -> SHA-256 as listed in the manifest."""
    path = manifest_path(directory)
    if not path.exists():
        return {}
    entries = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            entries[name.strip()] = digest
    return entries


def problems(directory: Path) -> list[str]:
    """One line per landed file that changed or vanished, and per file not listed."""
    listed = read(directory)
    found = []
    for name, digest in sorted(listed.items()):
        path = directory / name
        if not path.exists():
            found.append(f"migrations/{name} was deleted after it landed: restore it "
                         "(landed migrations are immutable; undo a change with a new migration)")
        elif sha256(path) != digest:
            found.append(f"migrations/{name} was edited after it landed: revert the edit and "
                         "add a new migration instead (landed migrations are immutable)")
    for path in migration_files(directory):
        if path.name not in listed:
            found.append(f"migrations/{path.name} is not in {NAME}: run `make manifest` "
                         "to add it when it is ready to land")
    return found


def unlanded(directory: Path) -> list[Path]:
    listed = read(directory)
    return [p for p in migration_files(directory) if p.name not in listed]


def update(directory: Path) -> list[str]:
    """Append a line for every file not yet listed; existing lines stay as they are."""
    new = unlanded(directory)
    if new:
        with manifest_path(directory).open("a") as f:
            for path in new:
                f.write(f"{sha256(path)}  {path.name}\n")
    return [p.name for p in new]


def main(argv: list[str]) -> int:
    directory = config.MIGRATIONS_DIR
    action = argv[0] if argv else "check"
    if action == "update":
        added = update(directory)
        print(f"{NAME}: added {', '.join(added)}" if added else f"{NAME}: nothing to add")
        left = problems(directory)
    elif action == "unlanded":
        print(" ".join(str(p) for p in unlanded(directory)))
        return 0
    elif action == "check":
        left = problems(directory)
    else:
        print("usage: python -m runner.manifest [check|update|unlanded]", file=sys.stderr)
        return 2
    for line in left:
        print(line, file=sys.stderr)
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
