"""Landed migrations are immutable: migrations/manifest.sha256 pins each file.

The manifest is in `sha256sum` format (`sha256sum -c manifest.sha256` works
from migrations/). A listed file that changed or vanished fails CI; a file
not yet listed is a new migration, added with `make manifest`, which only
ever appends lines. `make fix` formats only files the manifest does not list.

The manifest of one commit cannot prove itself: an edit of a landed file and
of its line, in one commit, would agree with each other. So the check also
reads the manifest's git history: a line, once committed, never changes and
never disappears, and every file must still have the digest its line had
when it was first committed.

    schema manifest check     # what the tests check
    schema manifest update    # make manifest: append new files
    schema manifest unlanded  # make fix: files not yet landed
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

NAME = "manifest.sha256"
WORKING_TREE = "the working tree"

# Lines re-pinned before the gate read history: file -> every digest its line
# had, in order. Each was edited and re-pinned in the session that wrote it,
# before that session's work landed (0001-0010 in the first landing, 0011-0020
# in the second, 0021-0022 in the third), so no deploy ever applied an
# earlier version: every database applied the last one. No line may be
# re-pinned again, and none other ever.
REPINNED = {
    "0007_models.sql": (  # afa936a: one index serves the three-column version key
        "14754e0f77a7a44d3cd7e1faad77ed5555113bd6edc4301517a3c21bdeb436b2",
        "c6f0c855d228b9ccc08a98eb469a4febdce40e35ee4129721a24e988f0cd4562"),
    "0009_roles.sql": (  # bc356f3: the default-privilege comment corrected
        "816a6cf35b41c5600c48f4f2ccb545667cbd6c198ce4be2ca003a807dbb37d84",
        "4d50cce93b72fef7f2313290bdeefc796d7baeb9c8511ac13599e8409f1fd435"),
    "0010_privileges.sql": (  # bc356f3: workers update only the job columns they report
        "305cc2205da29fe72184282e6a26cecae721aefa84ca39539344df0d4c2361ca",
        "9e49b86d1f17f505d7292ccd6b78de3efb62a677151ac4e5f21d1cdce8d2834c"),
    "0010_privileges.rollback.sql": (  # bc356f3
        "9e4e05cebf8fbde41c2996486c4d06e8e1a40b2e910271a375188986e0a63e8d",
        "23f870d1f6722089b82e83216ae5e693b8ebbcc7fba27d59831e40a8fc584654"),
    "0012_row_security.sql": (  # 9d44de1: three holes the row-security tests found
        "16fc621e842f292a961f2f35867238c7e1d4a9ee49780147f26b3cd5131868c0",
        "4e53cf5cca5015a6595d62e83ff6ff0f749e95b2c8f70bb0b8839aea95132bbc"),
    "0012_row_security.rollback.sql": (  # 9d44de1
        "841f9782d8dfcfc0e90caf54c6ae82bc688cf1490a75586d775731819ae61f4f",
        "c968d83692626e0d04415c1e149f95348e4cc95e5fd031140b394616c5fe7d71"),
    "0013_audit_log.sql": (  # 9228a0a, f98c8bb, e6cb8e8, 4c0720b: the audit trigger
        "071e9ba5d86778c4eb1a68a374883671bf9d8c498ee1f0c32b5f21b7f39ae334",
        "83b71178653a769d51c0054f07c699d75c5626f2e2083efbc83afc9a2df3016d",
        "6d93ea865301a9b39a824b66100aa81b6e079dc8a52daf6a828a0984c939749d",
        "854933b115006f3aa4246d6b5277ca5516469a57e98d61716bdc96dd65f645fe",
        "6fa7b9513bd6dd109c3312ba94fbd02b55b1c79943716007b4cfffaee1ebfb68"),
    "0013_audit_log.rollback.sql": (  # f98c8bb
        "c7332edf35aff409fe22a3e7a528466d9ba448fd06f473bf1d00b667f25ff96d",
        "a4c871564d857958e6bd082ddef9b86636eba09f083da9223bd4bfa95683065b"),
    "0014_erasure.sql": (  # 4c0720b: audit entries stamped by the column defaults
        "58bcf00beadff80f0e08cdb7fe57542d8333477dc0c630b14853d11984dea6e5",
        "64bfd4175b9ce52d2e25537e20670330b702f21bda9ccb5e92dc921086d40eb9"),
    "0015_retention.sql": (  # 7e4018b: how long drop_audit_partitions locks audit_log
        "f93bb083fcd6a9a95fb7929402f33d2fe162d8db70f2deef7cf5c4c8ac589213",
        "406eb4621118c9d2ef3787daf1d02649788f0a6365e1666c5f6449504769e7b6"),
    "0022_audit_diff_hstore.sql": (  # 11f333b: redacted columns sorted where built
        "d1fb818cadd8d63f8664e5d3a9f2dab19cd49a4ab9964699e5ec01da506638c6",
        "52907275fd660003873a6afaaed2d5dd2790810e8a18fade06b400196196261e"),
}


def _accepted(name: str, before: str, after: str) -> bool:
    """Whether a line may go from one digest to another: only forward along
    its recorded re-pins."""
    chain = REPINNED.get(name, ())
    return before in chain and after in chain and chain.index(after) > chain.index(before)


def manifest_path(directory: Path) -> Path:
    return directory / NAME


def migration_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.sql"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def parse(text: str) -> dict[str, str]:
    """file name -> SHA-256, from the text of a manifest."""
    entries = {}
    for line in text.splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            entries[name.strip()] = digest
    return entries


def read(directory: Path) -> dict[str, str]:
    """file name -> SHA-256 as listed in the manifest."""
    path = manifest_path(directory)
    return parse(path.read_text()) if path.exists() else {}


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


# -- history ----------------------------------------------------------------------

def _git(directory: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True)


def committed_manifests(directory: Path) -> list[tuple[str, dict[str, str]]] | None:
    """(commit, entries) of every committed version of the manifest, oldest
    first; None when the folder is not in a git checkout."""
    found = _git(directory, "rev-parse", "--show-toplevel")
    if found.returncode != 0:
        return None
    top = Path(found.stdout.strip())
    relative = manifest_path(directory).resolve().relative_to(top.resolve())
    commits = _git(top, "log", "--format=%H", "--reverse", "--", str(relative))
    versions = []
    for commit in commits.stdout.split():
        shown = _git(top, "show", f"{commit}:{relative}")
        if shown.returncode == 0:  # absent where a commit deleted the manifest
            versions.append((commit, parse(shown.stdout)))
        else:
            versions.append((commit, {}))
    return versions


def landed(directory: Path, ref: str = "HEAD") -> dict[str, str]:
    """The entries that have landed: those of the manifest as committed at ref
    (HEAD: a line only in the working tree has not landed yet). Outside a git
    checkout, or in a copy of the folder the repository does not track, the
    manifest as it is."""
    found = _git(directory, "rev-parse", "--show-toplevel")
    if found.returncode != 0:
        return read(directory)
    top = Path(found.stdout.strip())
    relative = manifest_path(directory).resolve().relative_to(top.resolve())
    shown = _git(top, "show", f"{ref}:{relative}")
    return parse(shown.stdout) if shown.returncode == 0 else read(directory)


def history_problems(directory: Path) -> list[str] | None:
    """One line per committed manifest line that later changed or went away,
    and per file whose digest is not the one its line first had; None when
    there is no git history to read."""
    versions = committed_manifests(directory)
    if versions is None:
        return None
    first: dict[str, tuple[str, str]] = {}  # name -> (digest first committed, commit)
    last: dict[str, str] = {}  # name -> digest in the latest version read
    found: dict[str, str] = {}
    listed = read(directory)
    for commit, entries in [*versions, (WORKING_TREE, listed)]:
        at = commit if commit == WORKING_TREE else commit[:12]
        for name, (_, landed) in first.items():
            now = entries.get(name)
            if now is None:
                found.setdefault(name, f"migrations/{name}: its manifest line (committed in "
                                 f"{landed[:12]}) is gone in {at}: restore the line and the file")
            elif now != last[name] and not _accepted(name, last[name], now):
                found.setdefault(name, f"migrations/{name}: its manifest line (committed in "
                                 f"{landed[:12]}) was rewritten in {at}: a landed migration "
                                 "never changes; revert the file and its line, and add a new "
                                 "migration instead")
        for name, digest in entries.items():
            first.setdefault(name, (digest, commit))
            last[name] = digest
    for name, (digest, _) in sorted(first.items()):
        path = directory / name
        if name in found or not path.exists():
            continue
        now = sha256(path)
        if now != listed.get(name):
            continue  # problems() says so
        if now not in {digest, *REPINNED.get(name, ())[-1:]}:
            found[name] = (f"migrations/{name} differs from the version first committed: "
                           "revert the edit and add a new migration instead")
    return [found[name] for name in sorted(found)]


# -- what the commands do ------------------------------------------------------------

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


def check(directory: Path) -> tuple[list[str], str | None]:
    """(problems, a note when the history could not be read) of the folder."""
    history = history_problems(directory)
    note = None if history is not None else (
        "the manifest's git history was not checked: not a git checkout")
    return problems(directory) + (history or []), note
