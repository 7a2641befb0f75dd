"""The schema in a Turkish database: it means what it means in C.UTF-8.

The platform is sold in Turkey, and a Turkish DBA creates its database in a
Turkish locale so that names sort as Turkish readers expect (docs/locale.md).
Case mapping then follows Turkish rules: lower('I') is 'ı' (dotless) and
upper('i') is 'İ'. Each test here builds a database of its own on the
session's server in a Turkish locale, whatever the suite's own (libc
tr_TR.UTF-8 on every build, ICU tr-TR on the builds with ICU), migrates it
and runs the platform's flows there as the real roles. `make test-matrix`
also runs the whole suite once more in a Turkish server (SCHEMA_PG_LOCALE).
"""

from __future__ import annotations

import os
import uuid
from collections import Counter

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from runner import docs
from runner.config import REPO
from runner.locales import INSTALL_HINT, Locale, has_icu, installed_libc_locales
from runner.migrate import commands
from tests import rows
from tests.roles import acting
from workload import catalog

TURKISH = {
    "libc": Locale.parse("tr_TR.UTF-8"),
    "icu": Locale.parse("icu:tr-TR"),
}

# Real Turkish place names, and the order a Turkish reader expects them in
# (Ç after C, I (dotless) before İ, Ş after S, Ü after U); code-point order
# (C.UTF-8) would put Ç, İ, Ş and Ü after Z.
PLACES_IN_TURKISH_ORDER = ["Ankara", "Cide", "Çorlu", "Iğdır", "İzmir", "Sinop", "Şişli",
                           "Uşak", "Ümraniye", "Zonguldak"]


def _unavailable(locale: Locale, pg_server) -> str | None:
    """Why this machine cannot make a database in the locale, or None."""
    if locale.provider == "libc" and "tr_TR.utf8" not in installed_libc_locales():
        return f"the libc locale tr_TR.UTF-8 is not installed: {INSTALL_HINT}"
    if locale.provider == "icu" and not has_icu(pg_server.bin_dir):
        return f"this build of PostgreSQL {pg_server.major} has no ICU (15 and 16 have)"
    return None


def _create(pg_server, name: str, options: str) -> str:
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} {}").format(sql.Identifier(name),
                                                             sql.SQL(options)))
    return pg_server.url(name)


def _drop(pg_server, names: list[str]) -> None:
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


@pytest.fixture(scope="session")
def turkish_templates(pg_server):
    """One migrated Turkish database per locale, made on first use and
    cloned by each test (a clone keeps its template's locale)."""
    made: dict[str, str] = {}
    yield pg_server, made
    _drop(pg_server, list(made.values()))


@pytest.fixture(params=sorted(TURKISH))
def turkish(request, pg_server):
    """A function that makes a new, empty database in a Turkish locale and
    returns its URL; the databases are dropped afterwards."""
    locale = TURKISH[request.param]
    why = _unavailable(locale, pg_server)
    if why and locale.provider == "libc" and os.geteuid() == 0:
        pytest.fail(why + " (as root make test installs it)", pytrace=False)
    if why:
        pytest.skip(why)
    made = []

    def make(template: str | None = None) -> str:
        name = f"turkish_{request.param}_{uuid.uuid4().hex[:8]}"
        made.append(name)
        if template:
            return _create(pg_server, name, sql.SQL("TEMPLATE {}").format(
                sql.Identifier(template)).as_string())
        return _create(pg_server, name, "TEMPLATE template0 " + locale.create_database_options())

    make.variant = request.param
    yield make
    _drop(pg_server, made)


@pytest.fixture
def tr_url(turkish, turkish_templates) -> str:
    """URL of a new migrated Turkish database."""
    server, templates = turkish_templates
    if turkish.variant not in templates:
        name = f"turkish_{turkish.variant}_template_{os.getpid()}"
        _drop(server, [name])
        url = _create(server, name, "TEMPLATE template0 " +
                      TURKISH[turkish.variant].create_database_options())
        commands.migrate(url, out=lambda _: None)
        templates[turkish.variant] = name
    return turkish(template=templates[turkish.variant])


@pytest.fixture
def tr_db(tr_url):
    """An autocommit connection to a migrated Turkish database."""
    with psycopg.connect(tr_url, autocommit=True) as conn:
        yield conn


def test_the_suite_runs_in_the_locale_selected(db):
    """So that make test-matrix's Turkish run is really Turkish."""
    assert Locale.of_database(db) == Locale.from_env()


def test_a_turkish_database_maps_case_the_turkish_way(tr_db):
    """What the rest of this module relies on: the database is Turkish."""
    assert tr_db.execute("SELECT lower('I'), upper('i')").fetchone() == ("ı", "İ")


def test_before_0029_a_turkish_database_refused_every_sign_up(turkish):
    """The fault 0029 fixes: audit_row_change() cast lower(TG_OP), 'ınsert'."""
    url = turkish()
    commands.migrate(url, to="0028_audit_jobs_update", out=lambda _: None)
    with psycopg.connect(url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InvalidTextRepresentation, match="ınsert"):
            conn.execute("SELECT register_user('once@example.com.tr', %s)", (rows.ARGON2ID_HASH,))
    commands.migrate(url, out=lambda _: None)
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT register_user('once@example.com.tr', %s)",
                            (rows.ARGON2ID_HASH,)).fetchone()[0] > 0


def test_the_platform_flows_in_a_turkish_database(tr_db):
    """Sign-up, a licence, a model and its next version, a job claimed,
    reported and finished by a worker, an erasure: each as the role that does
    it, and each leaves the audit entries it leaves in C.UTF-8."""
    with acting(tr_db, "cadcam_app"):
        user_id = tr_db.execute("SELECT register_user(%s, %s, %s)", (
            "ilker.isik@example.com.tr", rows.ARGON2ID_HASH, "+905321112233")).fetchone()[0]
    with acting(tr_db, "cadcam_app", user_id):
        tr_db.execute("UPDATE users SET company_name = 'Işık Makina', tax_office = 'Iğdır'"
                      " WHERE id = %s", (user_id,))
        tr_db.execute("INSERT INTO licenses (user_id, plan, status, starts_at, ends_at)"
                      " VALUES (%s, 'professional', 'active', now(), now() + interval '30 days')",
                      (user_id,))
        root = rows.model(tr_db, user_id, name="İzmir flanşı")
        rows.model(tr_db, user_id, name="İzmir flanşı", version=2, parent_model_id=root)
        job_id = rows.job(tr_db, user_id, model_id=root, status="queued",
                          idempotency_key="iş-1", input_params=Jsonb({"takım": "T1"}))
    with acting(tr_db, "cadcam_worker"):
        claimed = tr_db.execute(catalog.query("05_claim_next_job").statement).fetchone()
        assert claimed[0] == job_id
        tr_db.execute("UPDATE jobs SET progress = 50 WHERE id = %s", (job_id,))
        tr_db.execute("UPDATE jobs SET status = 'succeeded', progress = 100,"
                      " finished_at = now() WHERE id = %s", (job_id,))
    with acting(tr_db, "cadcam_admin"):
        assert tr_db.execute("SELECT erase_user(%s)", (user_id,)).fetchone()[0] is True
    actions = Counter(tr_db.execute(
        "SELECT table_name, action::text FROM audit_log WHERE subject_user_id = %s",
        (user_id,)).fetchall())
    assert {key for key in actions} >= {
        ("users", "insert"), ("users", "update"), ("licenses", "insert"),
        ("models", "insert"), ("jobs", "insert"), ("jobs", "update"), ("users", "erase")}
    company = tr_db.execute("SELECT company_name, email FROM users WHERE id = %s",
                            (user_id,)).fetchone()
    assert company[0] is None and "ilker" not in company[1]


def test_redacted_columns_are_in_c_order_in_every_locale(tr_db):
    """Column names sorted by the database's collation would differ under ICU
    ('_' sorts apart); the audit trigger and the erasure sort them COLLATE "C"."""
    user_id = rows.user(tr_db, password_hash=rows.ARGON2ID_HASH, phone="+905329998877")
    tr_db.execute("UPDATE users SET password_hash = %s, phone = '+905329998878',"
                  " tax_no = %s WHERE id = %s", (rows.BCRYPT_HASH, rows.VALID_TCKN, user_id))
    tr_db.execute("SELECT erase_user(%s)", (user_id,))
    for (columns,) in tr_db.execute(
            "SELECT redacted_columns FROM audit_log WHERE subject_user_id = %s"
            " AND cardinality(redacted_columns) > 1", (user_id,)):
        assert columns == sorted(columns)  # Python compares code points, as C does


@pytest.mark.parametrize("table, column", [
    ("users", "company_name"), ("users", "tax_office"), ("models", "name"),
])
def test_names_a_person_reads_sort_in_turkish_order(tr_db, table, column):
    """The columns people read in lists use the database's collation: in a
    Turkish database, Turkish order."""
    for place in reversed(PLACES_IN_TURKISH_ORDER):
        if table == "users":
            rows.user(tr_db, **{column: place})
        else:
            rows.model(tr_db, name=place)
    found = [r[0] for r in tr_db.execute(sql.SQL(
        "SELECT {c} FROM {t} WHERE {c} = ANY(%s) ORDER BY {c}").format(
        c=sql.Identifier(column), t=sql.Identifier(table)), (PLACES_IN_TURKISH_ORDER,))]
    assert found == PLACES_IN_TURKISH_ORDER


@pytest.mark.parametrize("table, column, limit, rule", [
    ("users", "company_name", 255, "ck_users_company_name_length"),
    ("users", "tax_office", 100, "ck_users_tax_office_length"),
    ("models", "name", 255, "ck_models_name_length"),
])
@pytest.mark.parametrize("letter", ["Ş", "İ", "ı", "ğ", "Ü"])
def test_turkish_letters_count_as_one_letter_each(tr_db, table, column, limit, rule, letter):
    """The length rules trim white space only and count characters: a name of
    Turkish letters up to the limit is taken, one more is refused by the rule,
    and no Turkish letter is trimmed."""
    def make(value):
        return rows.user(tr_db, **{column: value}) if table == "users" else rows.model(
            tr_db, name=value)
    row_id = make(f" {letter * limit}\t")
    stored = tr_db.execute(sql.SQL("SELECT char_length(btrim({c}, E' \\t')) FROM {t}"
                                   " WHERE id = %s").format(
        c=sql.Identifier(column), t=sql.Identifier(table)), (row_id,)).fetchone()[0]
    assert stored == limit
    with rows.violates(rule):
        make(letter * (limit + 1))


@pytest.mark.parametrize("email, rule", [
    ("ismail@example.com.tr", None),
    ("ISMAIL@EXAMPLE.COM.TR", "ck_users_email_lowercase"),
    ("İsmail@example.com.tr", "ck_users_email_lowercase"),
    ("ısmail@example.com.tr", "ck_users_email_format"),
    ("şule@example.com.tr", "ck_users_email_format"),
])
def test_email_rules_name_the_same_rule_as_in_c(tr_db, email, rule):
    with rows.outcome(rule):
        rows.user(tr_db, email=email)


def test_the_catalog_reads_the_same_in_a_turkish_database(tr_db):
    """The generated reference is byte-identical when read from a Turkish
    database: every ordering of names is locale-free."""
    assert docs.render(tr_db) == (REPO / "docs" / "schema.md").read_text()


def test_verify_passes_in_a_turkish_database(tr_url):
    """verify builds its scratch copy in the target's locale and finds no drift."""
    commands.verify(tr_url, out=lambda _: None)
