"""Schema conventions (runner.checks.conventions): the migrated schema keeps every
rule; for each rule a bad object built in a scratch database is reported with
the rule's id, and its correct twin is not; a table added later is checked too.
"""

from __future__ import annotations

import psycopg
import pytest

from runner import config
from runner.catalog import read_schema
from runner.checks import conventions

# A well-formed parent table the cases refer to.
BASE = """
CREATE TABLE parents (
    id bigint GENERATED ALWAYS AS IDENTITY,
    code text NOT NULL,
    CONSTRAINT pk_parents PRIMARY KEY (id),
    CONSTRAINT uq_parents_code UNIQUE (code),
    CONSTRAINT uq_parents_id_code UNIQUE (id, code)
);
COMMENT ON TABLE parents IS 'Rows the test tables refer to.';
COMMENT ON COLUMN parents.id IS 'Surrogate key.';
COMMENT ON COLUMN parents.code IS 'Unique code.';
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$ BEGIN RETURN NEW; END; $$;
COMMENT ON FUNCTION touch() IS 'Trigger function that changes nothing.';
"""


def table(name: str, *columns: str) -> str:
    """CREATE TABLE name: an identity key pk_<name>, the given columns and
    constraints, and a comment on the table and on every column given."""
    body = ",\n    ".join(["id bigint GENERATED ALWAYS AS IDENTITY", *columns,
                           f"CONSTRAINT pk_{name} PRIMARY KEY (id)"])
    comments = [f"COMMENT ON TABLE {name} IS 'Test table.';",
                f"COMMENT ON COLUMN {name}.id IS 'Key.';"]
    comments += [f"COMMENT ON COLUMN {name}.{c.split()[0]} IS 'Column.';"
                 for c in columns if c.split()[0].islower()]
    return f"CREATE TABLE {name} (\n    {body}\n);\n" + "\n".join(comments) + "\n"


def fk_table(name: str, on_delete: str = "RESTRICT", fk_name: str | None = None) -> str:
    """A table with a foreign key parent_id to parents (no index); fk_name ""
    leaves the name to PostgreSQL."""
    constraint = f"CONSTRAINT {fk_name or f'fk_{name}_parent_id'} " if fk_name != "" else ""
    return table(name, "parent_id bigint NOT NULL",
                 f"{constraint}FOREIGN KEY (parent_id) REFERENCES parents (id) "
                 f"ON DELETE {on_delete}")


def pair_fk_table(name: str) -> str:
    """A table with a two-column foreign key (parent_id, parent_code) to parents."""
    return table(name, "parent_id bigint NOT NULL", "parent_code text NOT NULL",
                 f"CONSTRAINT fk_{name}_parent_id FOREIGN KEY (parent_id, parent_code) "
                 "REFERENCES parents (id, code) ON DELETE RESTRICT")


def function(name: str, *clauses: str, comment: str | None = "Returns one.") -> str:
    sql = f"CREATE FUNCTION {name}() RETURNS integer LANGUAGE sql {' '.join(clauses)} RETURN 1;\n"
    if comment is not None:
        sql += f"COMMENT ON FUNCTION {name}() IS '{comment}';\n"
    return sql


PIN = "SET search_path = pg_catalog, pg_temp"
# Column names long enough that idx_<table>_<columns> exceeds 63 bytes.
LONG_A = "first_column_with_a_long_name"
LONG_B = "second_column_with_a_long_name"


def case(case_id: str, ddl: str, rule: str, bad: str, *good: str):
    """One rule case: after ddl, `bad` is reported under `rule`, and no object
    in `good` is reported at all."""
    return pytest.param(ddl, rule, bad, good, id=case_id)


CASES = [
    # 1. Primary keys
    case("table without primary key",
         "CREATE TABLE bad (id bigint); COMMENT ON TABLE bad IS 'No key.';" + table("good"),
         "pk-missing", "table bad", "table good", "constraint pk_good on good"),
    case("primary key named by PostgreSQL",
         "CREATE TABLE bad (id bigint PRIMARY KEY); COMMENT ON TABLE bad IS 'Key.';"
         + table("good"),
         "pk-name", "constraint bad_pkey on bad", "table good", "constraint pk_good on good"),

    # 2. Foreign keys: an index leading with the columns, ON DELETE RESTRICT
    case("foreign key without index",
         fk_table("bad") + fk_table("good")
         + "CREATE INDEX idx_good_parent_id ON good (parent_id);",
         "fk-index", "constraint fk_bad_parent_id on bad", "constraint fk_good_parent_id on good"),
    case("foreign key with only a partial index",
         fk_table("bad") + "CREATE INDEX idx_bad_parent_id ON bad (parent_id) WHERE id > 10;"
         + fk_table("good") + "CREATE INDEX idx_good_parent_id_id ON good (parent_id, id);",
         "fk-index", "constraint fk_bad_parent_id on bad", "constraint fk_good_parent_id on good"),
    case("foreign key index with the columns in the wrong order",
         pair_fk_table("bad")
         + "CREATE INDEX idx_bad_parent_code_parent_id ON bad (parent_code, parent_id);"
         + pair_fk_table("good")
         + "CREATE INDEX idx_good_parent_id_parent_code ON good (parent_id, parent_code);",
         "fk-index", "constraint fk_bad_parent_id on bad", "constraint fk_good_parent_id on good"),
    case("two-column foreign key: an index on its first column alone is not enough, "
         "even a unique one",
         pair_fk_table("bad")
         + "ALTER TABLE bad ADD CONSTRAINT uq_bad_parent_id UNIQUE (parent_id);"
         + pair_fk_table("good")
         + "ALTER TABLE good ADD CONSTRAINT uq_good_parent_id_parent_code "
           "UNIQUE (parent_id, parent_code);",
         "fk-index", "constraint fk_bad_parent_id on bad", "constraint fk_good_parent_id on good"),
    case("foreign key without index, but a comment says why",
         fk_table("bad") + fk_table("good")
         + "COMMENT ON CONSTRAINT fk_good_parent_id ON good IS "
           "'Unindexed: parents are never deleted, good stays under 100 rows.';",
         "fk-index", "constraint fk_bad_parent_id on bad", "constraint fk_good_parent_id on good"),
    case("ON DELETE CASCADE without a comment",
         fk_table("bad", "CASCADE") + "CREATE INDEX idx_bad_parent_id ON bad (parent_id);"
         + fk_table("good", "CASCADE") + "CREATE INDEX idx_good_parent_id ON good (parent_id);"
         + "COMMENT ON CONSTRAINT fk_good_parent_id ON good IS "
           "'CASCADE: a good row is meaningless without its parent.';",
         "fk-on-delete", "constraint fk_bad_parent_id on bad",
         "constraint fk_good_parent_id on good"),
    case("ON DELETE NO ACTION (the default)",
         fk_table("bad", "NO ACTION") + "CREATE INDEX idx_bad_parent_id ON bad (parent_id);"
         + fk_table("good") + "CREATE INDEX idx_good_parent_id ON good (parent_id);",
         "fk-on-delete", "constraint fk_bad_parent_id on bad",
         "constraint fk_good_parent_id on good"),

    # 3. Names
    case("foreign key named by PostgreSQL",
         fk_table("bad", fk_name="") + "CREATE INDEX idx_bad_parent_id ON bad (parent_id);"
         + fk_table("good") + "CREATE INDEX idx_good_parent_id ON good (parent_id);",
         "fk-name", "constraint bad_parent_id_fkey on bad", "constraint fk_good_parent_id on good"),
    case("foreign key named for another column",
         fk_table("bad", fk_name="fk_bad_parent")
         + "CREATE INDEX idx_bad_parent_id ON bad (parent_id);"
         + fk_table("good", fk_name="fk_good_parent_id_restrict")
         + "CREATE INDEX idx_good_parent_id ON good (parent_id);",
         "fk-name", "constraint fk_bad_parent on bad",
         "constraint fk_good_parent_id_restrict on good"),
    case("unique constraint not named for all its columns",
         table("bad", "a text", "b text", "CONSTRAINT uq_bad_a UNIQUE (a, b)")
         + table("good", "a text", "b text", "CONSTRAINT uq_good_a_b UNIQUE (a, b)"),
         "uq-name", "constraint uq_bad_a on bad", "constraint uq_good_a_b on good",
         "index uq_good_a_b"),
    case("check constraint named by PostgreSQL",
         table("bad", "n integer CHECK (n > 0)")
         + table("good", "n integer", "CONSTRAINT ck_good_n_positive CHECK (n > 0)"),
         "ck-name", "constraint bad_n_check on bad", "constraint ck_good_n_positive on good"),
    case("check constraint named for another table",
         table("bad", "n integer", "CONSTRAINT ck_other_n_positive CHECK (n > 0)")
         + table("good", "n integer", "CONSTRAINT ck_good_n_positive CHECK (n > 0)"),
         "ck-name", "constraint ck_other_n_positive on bad",
         "constraint ck_good_n_positive on good"),
    case("exclusion constraint named by PostgreSQL",
         table("bad", "during tstzrange NOT NULL", "EXCLUDE USING gist (during WITH &&)")
         + table("good", "during tstzrange NOT NULL",
                 "CONSTRAINT ex_good_no_overlap EXCLUDE USING gist (during WITH &&)"),
         "ex-name", "constraint bad_during_excl on bad", "constraint ex_good_no_overlap on good",
         "index ex_good_no_overlap"),
    case("btree index named by PostgreSQL",
         table("bad", "n integer") + "CREATE INDEX ON bad (n);"
         + table("good", "n integer") + "CREATE INDEX idx_good_n ON good (n);",
         "index-name", "index bad_n_idx", "index idx_good_n"),
    case("btree index not named for all its columns",
         table("bad", "a text", "b text") + "CREATE INDEX idx_bad_a ON bad (a, b);"
         + table("good", "a text", "b text") + "CREATE INDEX idx_good_a_b ON good (a, b);",
         "index-name", "index idx_bad_a", "index idx_good_a_b"),
    case("btree index with a suffix but no predicate",
         table("bad", "n integer") + "CREATE INDEX idx_bad_n_positive ON bad (n);"
         + table("good", "n integer")
         + "CREATE INDEX idx_good_n_positive ON good (n) WHERE n > 0;",
         "index-name", "index idx_bad_n_positive", "index idx_good_n_positive"),
    case("long btree index name, cut to 63 bytes by PostgreSQL",
         table("bad", f"{LONG_A} text", f"{LONG_B} text")
         + f"CREATE INDEX idx_bad_{LONG_A} ON bad ({LONG_A}, {LONG_B});"
         + table("good", f"{LONG_A} text", f"{LONG_B} text",
                 f"CONSTRAINT uq_good_{LONG_A}_{LONG_B} UNIQUE ({LONG_A}, {LONG_B})")
         + f"CREATE INDEX idx_good_{LONG_A}_{LONG_B} ON good ({LONG_A}, {LONG_B}, id);",
         "index-name", f"index idx_bad_{LONG_A}", f"index idx_good_{LONG_A}_{LONG_B}"[:69],
         f"constraint uq_good_{LONG_A}_{LONG_B}"[:74] + " on good"),
    case("gin index named idx_",
         table("bad", "doc jsonb") + "CREATE INDEX idx_bad_doc ON bad USING gin (doc);"
         + table("good", "doc jsonb") + "CREATE INDEX gin_good_doc ON good USING gin (doc);",
         "index-name", "index idx_bad_doc", "index gin_good_doc"),
    case("expression index named by PostgreSQL",
         table("bad", "s text") + "CREATE INDEX ON bad (lower(s));"
         + table("good", "s text") + "CREATE INDEX idx_good_lower_s ON good (lower(s));",
         "index-name", "index bad_lower_idx", "index idx_good_lower_s"),
    case("hash index named idx_",
         table("bad", "s text") + "CREATE INDEX idx_bad_s ON bad USING hash (s);"
         + table("good", "s text") + "CREATE INDEX hash_good_s ON good USING hash (s);",
         "index-name", "index idx_bad_s", "index hash_good_s"),
    case("uq_ name on an index that is not unique",
         table("bad", "s text") + "CREATE INDEX uq_bad_s ON bad (s);"
         + table("good", "s text")
         + "CREATE UNIQUE INDEX uq_good_s ON good (s) WHERE s IS NOT NULL;",
         "index-name", "index uq_bad_s", "index uq_good_s"),
    case("trigger not named trg_<table>_<purpose>",
         table("bad", "n integer")
         + "CREATE TRIGGER bad_touch BEFORE UPDATE ON bad FOR EACH ROW EXECUTE FUNCTION touch();"
         + table("good", "n integer")
         + "CREATE TRIGGER trg_good_touch BEFORE UPDATE ON good "
           "FOR EACH ROW EXECUTE FUNCTION touch();",
         "trigger-name", "trigger bad_touch on bad", "trigger trg_good_touch on good"),

    # 4. Column types
    case("varchar(20)", table("bad", "v varchar(20)") + table("good", "v text"),
         "column-varchar", "column bad.v", "column good.v"),
    case("varchar without length", table("bad", "v character varying") + table("good", "v text"),
         "column-varchar", "column bad.v", "column good.v"),
    case("array of varchar", table("bad", "v varchar(5)[]") + table("good", "v text[]"),
         "column-varchar", "column bad.v", "column good.v"),
    case("domain over varchar",
         "CREATE DOMAIN short_code AS varchar(8); COMMENT ON DOMAIN short_code IS 'Code.';"
         "CREATE DOMAIN good_code AS text CHECK (char_length(VALUE) <= 8);"
         "COMMENT ON DOMAIN good_code IS 'Code.';"
         + table("bad", "v short_code") + table("good", "v good_code"),
         "column-varchar", "column bad.v", "column good.v"),
    case("char(2)", table("bad", "c char(2)") + table("good", "c text"),
         "column-char", "column bad.c", "column good.c"),
    case("timestamp", table("bad", "t timestamp") + table("good", "t timestamptz"),
         "column-timestamp", "column bad.t", "column good.t"),
    case("json", table("bad", "j json") + table("good", "j jsonb"),
         "column-json", "column bad.j", "column good.j"),
    case("money", table("bad", "m money") + table("good", "m numeric(12, 2)"),
         "column-money", "column bad.m", "column good.m"),
    case("serial",
         "CREATE TABLE bad (id serial CONSTRAINT pk_bad PRIMARY KEY);"
         "COMMENT ON COLUMN bad.id IS 'Key.';" + table("good"),
         "column-serial", "column bad.id", "column good.id"),
    case("bigserial",
         "CREATE TABLE bad (id bigserial CONSTRAINT pk_bad PRIMARY KEY);"
         "COMMENT ON COLUMN bad.id IS 'Key.';"
         "CREATE TABLE good (id bigint GENERATED BY DEFAULT AS IDENTITY "
         "CONSTRAINT pk_good PRIMARY KEY); COMMENT ON COLUMN good.id IS 'Key.';",
         "column-serial", "column bad.id", "column good.id"),

    # 5. Comments
    case("table without comment",
         "CREATE TABLE bad (id bigint CONSTRAINT pk_bad PRIMARY KEY);" + table("good"),
         "table-comment", "table bad", "table good"),
    case("table with a blank comment",
         table("bad") + "COMMENT ON TABLE bad IS '   ';" + table("good"),
         "table-comment", "table bad", "table good"),
    case("column without comment",
         table("bad") + "ALTER TABLE bad ADD COLUMN n integer;" + table("good", "n integer"),
         "column-comment", "column bad.n", "column good.n"),
    case("enum type without comment",
         "CREATE TYPE bad_kind AS ENUM ('a', 'b'); CREATE TYPE good_kind AS ENUM ('a', 'b');"
         "COMMENT ON TYPE good_kind IS 'Kinds.';",
         "type-comment", "type bad_kind", "type good_kind"),
    case("domain without comment",
         "CREATE DOMAIN bad_code AS text; CREATE DOMAIN good_code AS text;"
         "COMMENT ON DOMAIN good_code IS 'Code.';",
         "type-comment", "type bad_code", "type good_code"),
    case("composite type without comment",
         "CREATE TYPE bad_pair AS (a integer, b integer);"
         "CREATE TYPE good_pair AS (a integer, b integer); COMMENT ON TYPE good_pair IS 'Pair.';",
         "type-comment", "type bad_pair", "type good_pair"),
    case("range type without comment",
         "CREATE TYPE bad_range AS RANGE (subtype = integer);"
         "CREATE TYPE good_range AS RANGE (subtype = integer);"
         "COMMENT ON TYPE good_range IS 'Range.';",
         "type-comment", "type bad_range", "type good_range",
         "function good_range(integer,integer)", "function good_multirange()"),
    case("function without comment",
         function("bad", PIN, comment=None) + function("good", PIN),
         "function-comment", "function bad()", "function good()"),
    case("aggregate without comment (an aggregate takes no SET search_path)",
         "CREATE AGGREGATE bad_sum(integer) (sfunc = int4pl, stype = integer);"
         "CREATE AGGREGATE good_sum(integer) (sfunc = int4pl, stype = integer);"
         "COMMENT ON AGGREGATE good_sum(integer) IS 'Sum.';",
         "function-comment", "aggregate bad_sum(integer)", "aggregate good_sum(integer)"),

    # 6. Functions
    case("function without pinned search_path",
         function("bad") + function("good", PIN),
         "function-search-path", "function bad()", "function good()"),
    case("function pinning another setting only",
         function("bad", "SET work_mem = '64MB'")
         + function("good", "SET work_mem = '64MB'", "SET search_path = ''"),
         "function-search-path", "function bad()", "function good()"),
    case("procedure without pinned search_path",
         "CREATE PROCEDURE bad() LANGUAGE sql BEGIN ATOMIC SELECT 1; END;"
         "COMMENT ON PROCEDURE bad() IS 'Does nothing.';"
         f"CREATE PROCEDURE good() LANGUAGE sql {PIN} BEGIN ATOMIC SELECT 1; END;"
         "COMMENT ON PROCEDURE good() IS 'Does nothing.';",
         "function-search-path", "procedure bad()", "procedure good()"),
    case("SECURITY DEFINER function whose comment does not say so",
         function("bad", "SECURITY DEFINER", PIN, comment="Counts the parents.")
         + function("good", "SECURITY DEFINER", PIN,
                    comment="Counts the parents. SECURITY DEFINER because the caller "
                            "may not read table parents."),
         "function-security-definer", "function bad()", "function good()"),
    case("SECURITY DEFINER function whose comment does not say why",
         function("bad", "SECURITY DEFINER", PIN, comment="SECURITY DEFINER.")
         + function("good", "SECURITY DEFINER", PIN,
                    comment="Security definer: the app role has no grant on parents."),
         "function-security-definer", "function bad()", "function good()"),

    # 7. Duplicate and redundant indexes
    case("duplicate index",
         table("bad", "n integer") + "CREATE INDEX idx_bad_n ON bad (n);"
         "CREATE INDEX idx_bad_n_again ON bad (n);",
         "index-duplicate", "index idx_bad_n_again", "index idx_bad_n"),
    case("duplicate unique index",
         table("bad", "n integer", "CONSTRAINT uq_bad_n UNIQUE (n)")
         + "CREATE UNIQUE INDEX uq_bad_n_again ON bad (n);",
         "index-duplicate", "index uq_bad_n_again", "index uq_bad_n"),
    case("plain index duplicating a unique constraint",
         table("bad", "n integer", "CONSTRAINT uq_bad_n UNIQUE (n)")
         + "CREATE INDEX idx_bad_n ON bad (n);",
         "index-duplicate", "index idx_bad_n", "index uq_bad_n"),
    case("redundant prefix index; a unique prefix is not redundant",
         table("bad", "a text", "b text") + "CREATE INDEX idx_bad_a ON bad (a);"
         "CREATE INDEX idx_bad_a_b ON bad (a, b);"
         + table("good", "a text", "b text", "CONSTRAINT uq_good_a UNIQUE (a)")
         + "CREATE INDEX idx_good_a_b ON good (a, b);",
         "index-redundant", "index idx_bad_a", "index idx_bad_a_b", "index uq_good_a",
         "index idx_good_a_b"),
    case("redundant expression prefix",
         table("bad", "s text", "n integer")
         + "CREATE INDEX idx_bad_lower_s ON bad (lower(s));"
         "CREATE INDEX idx_bad_lower_s_n ON bad (lower(s), n);"
         + table("good", "s text", "n integer")
         + "CREATE INDEX idx_good_s ON good (s); CREATE INDEX idx_good_lower_s_n ON good "
           "(lower(s), n);",
         "index-redundant", "index idx_bad_lower_s", "index idx_bad_lower_s_n",
         "index idx_good_s", "index idx_good_lower_s_n"),
    case("same predicate is a duplicate; same columns, another predicate is not",
         table("bad", "n integer") + "CREATE INDEX idx_bad_n_positive ON bad (n) WHERE n > 0;"
         "CREATE INDEX idx_bad_n_above_zero ON bad (n) WHERE n > 0;"
         + table("good", "n integer") + "CREATE INDEX idx_good_n ON good (n);"
         "CREATE INDEX idx_good_n_positive ON good (n) WHERE n > 0;",
         "index-duplicate", "index idx_bad_n_positive", "index idx_bad_n_above_zero",
         "index idx_good_n", "index idx_good_n_positive"),
    case("same columns, another method is not a duplicate",
         table("bad", "s text") + "CREATE INDEX idx_bad_s ON bad (s);"
         "CREATE INDEX idx_bad_s_copy ON bad (s);"
         + table("good", "s text") + "CREATE INDEX idx_good_s ON good (s);"
         "CREATE INDEX hash_good_s ON good USING hash (s);",
         "index-duplicate", "index idx_bad_s_copy", "index idx_good_s", "index hash_good_s"),
]


def violations_after(url: str, ddl: str) -> list[conventions.Violation]:
    """The violations in a scratch database after BASE and ddl."""
    with psycopg.connect(config.libpq_url(url), autocommit=True) as conn:
        conn.execute(BASE)
        conn.execute(ddl)
        return conventions.check(read_schema(conn))


def test_the_migrated_schema_keeps_every_convention(migrated_proc):
    with psycopg.connect(host=migrated_proc.host, port=migrated_proc.port,
                         user=migrated_proc.user, dbname=migrated_proc.template_dbname) as conn:
        violations = conventions.check(read_schema(conn))
    assert violations == [], "convention violations:\n" + conventions.report(violations)


def test_the_base_of_the_cases_keeps_every_convention(empty_db):
    assert violations_after(empty_db, "SELECT 1") == []


@pytest.mark.parametrize(("ddl", "rule", "bad", "good"), CASES)
def test_rule_reports_the_bad_object_not_its_twin(empty_db, ddl, rule, bad, good):
    violations = violations_after(empty_db, ddl)
    listing = conventions.report(violations)
    hits = [v for v in violations if (v.object, v.rule) == (bad, rule)]
    assert hits, f"{bad} not reported as {rule}; found:\n{listing}"
    assert all(bad in v.message and f"({rule})" in v.message for v in hits)
    for obj in good:
        assert [v for v in violations if v.object == obj] == [], listing


def test_extension_members_yoyo_tables_runner_schema_and_partitions_are_left_out(empty_db):
    ddl = """
    CREATE EXTENSION btree_gist;
    CREATE TABLE _yoyo_log (id varchar(36), created_at_utc timestamp);
    CREATE TABLE yoyo_lock (locked integer DEFAULT 1);
    CREATE SCHEMA schema_runner;
    CREATE TABLE schema_runner.applied_files (name varchar(255), applied_at timestamp);
    CREATE TABLE events (
        id bigint GENERATED ALWAYS AS IDENTITY,
        at timestamptz NOT NULL,
        CONSTRAINT pk_events PRIMARY KEY (id, at)
    ) PARTITION BY RANGE (at);
    COMMENT ON TABLE events IS 'Partitioned: its partitions are checked through it.';
    COMMENT ON COLUMN events.id IS 'Key.';
    COMMENT ON COLUMN events.at IS 'When.';
    CREATE INDEX idx_events_at ON events (at);
    CREATE TABLE events_2025 PARTITION OF events
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    """
    assert violations_after(empty_db, ddl) == []


def test_violations_are_sorted_and_reported_one_per_line(empty_db):
    violations = violations_after(empty_db, "CREATE TABLE b (id serial); CREATE TABLE a (v json);")
    assert violations == sorted(violations)
    lines = conventions.report(violations).splitlines()
    assert lines == [v.message for v in violations]
    assert {(v.object, v.rule) for v in violations} >= {
        ("table a", "pk-missing"), ("table b", "pk-missing"), ("column a.v", "column-json"),
        ("column b.id", "column-serial"), ("table a", "table-comment")}


WIDGETS = """
CREATE TABLE widgets (
    id bigint GENERATED ALWAYS AS IDENTITY,
    user_id bigint NOT NULL,
    label text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_widgets PRIMARY KEY (id),
    CONSTRAINT fk_widgets_user_id FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE RESTRICT,
    CONSTRAINT ck_widgets_label_length CHECK (char_length(label) BETWEEN 1 AND 100)
);
CREATE INDEX idx_widgets_user_id ON widgets (user_id);
COMMENT ON TABLE widgets IS 'Widgets a user made.';
COMMENT ON COLUMN widgets.id IS 'Surrogate key.';
COMMENT ON COLUMN widgets.user_id IS 'Owner.';
COMMENT ON COLUMN widgets.label IS 'Display label, 1 to 100 characters.';
COMMENT ON COLUMN widgets.created_at IS 'When the widget was made.';
ALTER TABLE widgets ENABLE ROW LEVEL SECURITY;
ALTER TABLE widgets FORCE ROW LEVEL SECURITY;
CREATE TRIGGER trg_widgets_audit AFTER INSERT OR UPDATE OR DELETE ON widgets
FOR EACH ROW EXECUTE FUNCTION audit_row_change('{}', '{updated_at}');
"""


def test_a_table_added_later_is_held_to_the_same_rules(db):
    db.execute(WIDGETS)
    assert conventions.check(read_schema(db)) == []

    db.execute("COMMENT ON TABLE widgets IS NULL")
    assert [(v.object, v.rule) for v in conventions.check(read_schema(db))] == [
        ("table widgets", "table-comment")]

    db.execute("DROP INDEX idx_widgets_user_id")
    assert [(v.object, v.rule) for v in conventions.check(read_schema(db))] == [
        ("constraint fk_widgets_user_id on widgets", "fk-index"),
        ("table widgets", "table-comment")]


@pytest.mark.parametrize(("ddl", "rule"), [
    ("ALTER TABLE widgets NO FORCE ROW LEVEL SECURITY", "table-row-security"),
    ("ALTER TABLE widgets DISABLE ROW LEVEL SECURITY", "table-row-security"),
    ("DROP TRIGGER trg_widgets_audit ON widgets", "table-audited"),
    ("ALTER TABLE users NO FORCE ROW LEVEL SECURITY", "table-row-security"),
    ("DROP TRIGGER trg_jobs_audit ON jobs", "table-audited"),
    ("DROP TRIGGER trg_jobs_audit_update ON jobs", "table-audited"),
])
def test_a_users_rows_stay_behind_row_security_and_audit(db, ddl, rule):
    db.execute(WIDGETS)
    db.execute(ddl)
    table = ddl.split(" ON ")[-1] if " ON " in ddl else ddl.split()[2]
    found = [(v.object, v.rule) for v in conventions.check(read_schema(db))]
    assert found == [(f"table {table}", rule)]


def test_a_table_without_user_rows_needs_neither(db):
    db.execute("""
    CREATE TABLE machine_types (
        id bigint GENERATED ALWAYS AS IDENTITY,
        label text NOT NULL,
        CONSTRAINT pk_machine_types PRIMARY KEY (id)
    );
    COMMENT ON TABLE machine_types IS 'CNC machine models, shared by every user.';
    COMMENT ON COLUMN machine_types.id IS 'Surrogate key.';
    COMMENT ON COLUMN machine_types.label IS 'Display name.';
    """)
    assert conventions.check(read_schema(db)) == []
