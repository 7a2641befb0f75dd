"""Migration lint gates: squawk catches unsafe DDL, every rule switched off
says why, and landed migrations cannot change (migrations/manifest.sha256)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from runner import config
from runner.checks import lint
from runner.migrate import manifest


def write_migration(folder, name: str, body: str, transactional: bool = True):
    head = f"-- {name}: a sample\n-- depends: 0008_jobs\n"
    if not transactional:
        head += "-- transactional: false\n"
    (folder / f"{name}.sql").write_text(head + "\n" + body)


def test_the_repository_migrations_pass_squawk(capfd):
    assert lint.lint() == 0, capfd.readouterr().out


@pytest.mark.parametrize("body, rule", [
    pytest.param("CREATE INDEX idx_users_last_login_at ON users (last_login_at);\n",
                 "require-concurrent-index-creation", id="index on an existing table"),
    pytest.param("ALTER TABLE users ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();\n",
                 "adding-field-with-default", id="NOT NULL column with a volatile default"),
    pytest.param("ALTER TABLE jobs ALTER COLUMN priority TYPE integer;\n",
                 "changing-column-type", id="column type change rewrites the table"),
    pytest.param("ALTER TABLE users ADD CONSTRAINT ck_users_x CHECK (id > 0);\n",
                 "constraint-missing-not-valid", id="validating constraint under lock"),
])
def test_squawk_flags_unsafe_migrations(tmp_path, capfd, body, rule):
    write_migration(tmp_path, "9001_bad", body)
    assert lint.lint(tmp_path) != 0
    assert rule in capfd.readouterr().out


@pytest.mark.parametrize("body, transactional", [
    pytest.param("CREATE INDEX CONCURRENTLY idx_users_last_login_at ON users (last_login_at);\n",
                 False, id="concurrent index, non-transactional"),
    pytest.param("CREATE TABLE things (id bigint);\nCREATE INDEX idx_things_id ON things (id);\n",
                 True, id="index on a table made in the same migration"),
    pytest.param("ALTER TABLE users ADD COLUMN nickname text;\n", True, id="nullable column"),
])
def test_squawk_accepts_safe_migrations(tmp_path, capfd, body, transactional):
    write_migration(tmp_path, "9001_good", body, transactional)
    assert lint.lint(tmp_path) == 0, capfd.readouterr().out


def test_rollback_files_are_not_squawked(tmp_path):
    write_migration(tmp_path, "9001_good", "CREATE TABLE things (id bigint);\n")
    (tmp_path / "9001_good.rollback.sql").write_text("DROP TABLE things;\n")
    assert [p.name for p in lint.forward_migrations(tmp_path)] == ["9001_good.sql"]


def switched_off_without_reason(text: str, list_pattern: str) -> list[str]:
    """Rules of a list that no comment explains: each group of rules (groups are
    separated by blank lines) must start with a comment."""
    bad, commented = [], False
    block = re.search(list_pattern, text, re.S)
    for line in block.group(1).splitlines() if block else []:
        stripped = line.strip()
        if not stripped:
            commented = False
        elif stripped.startswith("#"):
            commented = True
        elif not commented:
            bad += re.findall(r'"([a-z0-9.-]+)"', stripped)
    return bad


def test_every_squawk_rule_switched_off_says_why():
    text = (config.REPO / ".squawk.toml").read_text()
    assert "excluded_rules" in text
    assert switched_off_without_reason(text, r"excluded_rules = \[(.*?)\]") == []


def test_the_reason_check_is_not_blind():
    assert switched_off_without_reason(
        'excluded_rules = [\n    # why\n    "a-rule",\n\n    "b-rule",\n]',
        r"excluded_rules = \[(.*?)\]") == ["b-rule"]


def test_no_sqlfluff_rule_is_switched_off_silently():
    text = (config.REPO / ".sqlfluff").read_text()
    for line in text.splitlines():
        if re.match(r"\s*(exclude_rules|ignore)\s*=", line):
            index = text.splitlines().index(line)
            assert text.splitlines()[index - 1].lstrip().startswith("#"), line
    for sql_file in [*config.SQL_DIR.glob("*.sql"), *config.MIGRATIONS_DIR.glob("*.sql")]:
        for number, line in enumerate(sql_file.read_text().splitlines(), 1):
            if "noqa" in line:
                assert re.search(r"noqa: LT05\s*$", line), f"{sql_file.name}:{number}"


# -- landed migrations are immutable ----------------------------------------------------
@pytest.fixture
def migrations(tmp_path):
    target = tmp_path / "migrations"
    shutil.copytree(config.MIGRATIONS_DIR, target)
    return target


def test_the_manifest_lists_every_migration_file_unchanged():
    assert manifest.problems(config.MIGRATIONS_DIR) == []
    listed = manifest.read(config.MIGRATIONS_DIR)
    assert sorted(listed) == sorted(p.name for p in config.MIGRATIONS_DIR.glob("*.sql"))


def test_editing_a_landed_migration_fails_and_says_to_add_a_new_one(migrations):
    path = migrations / "0004_users.sql"
    path.write_text(path.read_text().replace("254", "320"))
    assert manifest.problems(migrations) == [
        "migrations/0004_users.sql was edited after it landed: revert the edit and add a new "
        "migration instead (landed migrations are immutable)"]


def test_even_a_whitespace_edit_of_a_landed_rollback_fails(migrations):
    path = migrations / "0008_jobs.rollback.sql"
    path.write_text(path.read_text() + "\n")
    assert len(manifest.problems(migrations)) == 1


def test_deleting_a_landed_migration_fails(migrations):
    (migrations / "0008_jobs.rollback.sql").unlink()
    assert "was deleted after it landed" in manifest.problems(migrations)[0]


def test_a_new_migration_needs_only_its_line_appended(migrations):
    before = (migrations / manifest.NAME).read_text()
    write_migration(migrations, "0009_new", "ALTER TABLE users ADD COLUMN nickname text;\n")
    (migrations / "0009_new.rollback.sql").write_text("ALTER TABLE users DROP COLUMN nickname;\n")
    assert [p.split()[0] for p in manifest.problems(migrations)] == [
        "migrations/0009_new.rollback.sql", "migrations/0009_new.sql"]
    assert "run `make manifest`" in manifest.problems(migrations)[0]
    assert [p.name for p in manifest.unlanded(migrations)] == [
        "0009_new.rollback.sql", "0009_new.sql"]

    assert manifest.update(migrations) == ["0009_new.rollback.sql", "0009_new.sql"]
    after = (migrations / manifest.NAME).read_text()
    assert after.startswith(before) and len(after.splitlines()) == len(before.splitlines()) + 2
    assert manifest.problems(migrations) == [] and manifest.unlanded(migrations) == []
    assert manifest.update(migrations) == []


def test_make_fix_formats_only_migrations_that_have_not_landed(migrations):
    assert manifest.unlanded(migrations) == []
    makefile = (config.REPO / "Makefile").read_text()
    fix = makefile[makefile.index("\nfix:"):].split("\n\n")[0]
    assert "runner manifest unlanded" in fix and "migrations/" not in fix.replace(
        "migrations/*", "")


# -- ... and the manifest cannot be rewritten to agree with an edit ----------------------

def git(folder, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(folder), "-c", "user.name=test",
                           "-c", "user.email=test@example.com", *args],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def clone(tmp_path):
    """A clone of this repository (its committed history), with the working
    tree's migrations and manifest committed on top, as CI would check them."""
    if manifest.committed_manifests(config.MIGRATIONS_DIR) is None:
        pytest.skip("not a git checkout: the manifest's history cannot be read")
    target = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(config.REPO), str(target)], check=True)
    shutil.rmtree(target / "migrations")
    shutil.copytree(config.MIGRATIONS_DIR, target / "migrations")
    git(target, "add", "-A", "migrations")
    git(target, "commit", "-q", "--allow-empty", "-m", "the working tree's migrations")
    return target


def repin(folder, name: str) -> None:
    """Edit a landed migration and rewrite its manifest line to agree."""
    path = folder / "migrations" / name
    old = manifest.sha256(path)
    path.write_text(path.read_text() + "-- edited after it landed\n")
    listing = folder / "migrations" / manifest.NAME
    listing.write_text(listing.read_text().replace(old, manifest.sha256(path)))


def test_the_manifest_history_has_no_rewritten_line():
    found = manifest.history_problems(config.MIGRATIONS_DIR)
    if found is None:
        pytest.skip("not a git checkout: the manifest's history cannot be read")
    assert found == []


def test_an_edit_and_its_rewritten_line_in_one_commit_fail(clone):
    repin(clone, "0004_users.sql")
    git(clone, "commit", "-q", "-am", "edit 0004 and re-pin it")
    migrations = clone / "migrations"
    assert manifest.problems(migrations) == []  # the manifest alone is fooled
    found = manifest.history_problems(migrations)
    assert len(found) == 1 and found[0].startswith("migrations/0004_users.sql: its manifest line")
    assert "was rewritten in" in found[0] and "add a new migration instead" in found[0]


def test_an_uncommitted_rewrite_fails_too(clone):
    repin(clone, "0021_app_user_id_plpgsql.sql")
    found = manifest.history_problems(clone / "migrations")
    assert len(found) == 1 and "rewritten in the working tree" in found[0]


def test_a_removed_line_fails(clone):
    listing = clone / "migrations" / manifest.NAME
    listing.write_text("".join(line for line in listing.read_text().splitlines(True)
                               if "0008_jobs.sql" not in line))
    git(clone, "commit", "-q", "-am", "forget 0008")
    found = manifest.history_problems(clone / "migrations")
    assert any("0008_jobs.sql: its manifest line" in f and "is gone" in f for f in found)


def test_a_recorded_repin_cannot_be_repinned_again(clone):
    repin(clone, "0022_audit_diff_hstore.sql")
    git(clone, "commit", "-q", "-am", "edit 0022 once more")
    assert len(manifest.history_problems(clone / "migrations")) == 1


def test_every_recorded_repin_is_what_history_shows():
    """REPINNED holds the re-pins that happened before the gate read history,
    exactly: no chain of digests that the history does not show."""
    versions = manifest.committed_manifests(config.MIGRATIONS_DIR)
    if versions is None:
        pytest.skip("not a git checkout: the manifest's history cannot be read")
    chains: dict[str, list[str]] = {}
    for _, entries in versions:
        for name, digest in entries.items():
            chain = chains.setdefault(name, [])
            if not chain or chain[-1] != digest:
                chain.append(digest)
    assert {n: tuple(c) for n, c in chains.items() if len(c) > 1} == manifest.REPINNED


def test_make_test_runs_the_manifest_check():
    makefile = (config.REPO / "Makefile").read_text()
    lint_target = makefile[makefile.index("\nlint:"):].split("\n\n")[0]
    assert "runner manifest check" in lint_target
