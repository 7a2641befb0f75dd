-- The runner's reads of pg_catalog, one named query per kind of object; the
-- only place that knows pg_catalog's layout. runner/catalog/reader.py loads
-- them by name (`-- name: <name>`); a fragment (`-- fragment: <name>`) is
-- pasted wherever a query says {{<name>}}. %(yoyo)s is the list of yoyo's
-- bookkeeping tables. Each query returns rows in a stable order, the same
-- in every database: names (type name) sort as C; a text column that is
-- sorted carries COLLATE "C", never the database's collation (an ICU
-- collation puts '_' and '(' apart from C).
--
-- What belongs to the project is decided here, once:
--   * schema public only: the runner keeps its own state in schema_runner;
--   * no member of an extension (pg_depend deptype 'e': btree_gist's and
--     hstore's functions, types and operators);
--   * not yoyo's bookkeeping tables, nor anything that depends on them;
--   * a partition is a relation of the project (it has an owner and
--     grants) but is not described as a table of its own: its columns,
--     keys, indexes and triggers are cloned from its parent, which is;
--   * no function PostgreSQL makes itself for a type (deptype 'i', such as
--     a range type's constructors).

-- fragment: project_relations
SELECT c.oid, c.relname, c.relkind, c.relispartition
FROM pg_class AS c
WHERE c.relnamespace = 'public'::regnamespace
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  AND c.relname <> ALL (%(yoyo)s)
  AND NOT EXISTS (
      SELECT FROM pg_depend AS d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  )
  AND NOT EXISTS (
      SELECT FROM pg_depend AS d
      JOIN pg_class AS y ON y.oid = d.refobjid
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
        AND d.refclassid = 'pg_class'::regclass AND y.relname = ANY (%(yoyo)s)
  )

-- fragment: project_tables
SELECT r.oid, r.relname
FROM ({{project_relations}}) AS r
WHERE r.relkind IN ('r', 'p') AND NOT r.relispartition

-- fragment: project_functions
SELECT p.oid
FROM pg_proc AS p
WHERE p.pronamespace = 'public'::regnamespace
  AND NOT EXISTS (
      SELECT FROM pg_depend AS d
      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype IN ('e', 'i')
  )

-- name: relations
-- Every relation of the project: tables, partitions, sequences, views;
-- with its persistence ('p' permanent, 'u' unlogged), its replica identity
-- ('d' default, 'n' nothing, 'f' full, 'i' an index) and the index that
-- identity uses (the primary key's under 'd'; NULL when there is none),
-- which is what logical replication finds a row by.
SELECT r.relname AS name, r.relkind AS kind, pg_get_userbyid(c.relowner) AS owner,
       (SELECT p.relname FROM pg_inherits AS i JOIN pg_class AS p ON p.oid = i.inhparent
        WHERE i.inhrelid = r.oid AND r.relispartition) AS partition_of,
       c.relpersistence AS persistence, c.relreplident AS replica_identity,
       (SELECT ic.relname FROM pg_index AS x JOIN pg_class AS ic ON ic.oid = x.indexrelid
        WHERE x.indrelid = r.oid
          AND CASE c.relreplident WHEN 'd' THEN x.indisprimary
                                  WHEN 'i' THEN x.indisreplident ELSE FALSE END
       ) AS identity_index
FROM ({{project_relations}}) AS r
JOIN pg_class AS c ON c.oid = r.oid
ORDER BY r.relname

-- name: relation_grants
-- The privileges on each relation and on its columns (column NULL: the
-- whole relation) of roles other than the owner; PUBLIC is grantee 0. A
-- relation never granted anything has its default privileges.
SELECT r.relname AS relation,
       CASE acl.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(acl.grantee) END AS grantee,
       acl.privilege_type COLLATE "C" AS privilege, NULL::text AS column_name, 0 AS attnum
FROM ({{project_relations}}) AS r
JOIN pg_class AS c ON c.oid = r.oid
CROSS JOIN LATERAL aclexplode(coalesce(
    c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner)
)) AS acl
WHERE acl.grantee <> c.relowner
UNION ALL
SELECT r.relname,
       CASE acl.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(acl.grantee) END,
       acl.privilege_type, a.attname, a.attnum
FROM ({{project_relations}}) AS r
JOIN pg_attribute AS a ON a.attrelid = r.oid
CROSS JOIN LATERAL aclexplode(a.attacl) AS acl
WHERE a.attnum > 0 AND NOT a.attisdropped
ORDER BY 1, 2, 5, 3

-- name: tables
-- Each table with its comment, storage parameters, owner, row-level
-- security and the name of its primary key (NULL when it has none).
SELECT t.relname AS name, obj_description(t.oid, 'pg_class') AS comment,
       coalesce(c.reloptions, '{}') AS options, pg_get_userbyid(c.relowner) AS owner,
       c.relrowsecurity AS row_security, c.relforcerowsecurity AS force_row_security,
       (SELECT con.conname FROM pg_constraint AS con
        WHERE con.conrelid = t.oid AND con.contype = 'p') AS primary_key
FROM ({{project_tables}}) AS t
JOIN pg_class AS c ON c.oid = t.oid
ORDER BY t.relname

-- name: columns
-- Each column in column order, with its type, default and comment; the
-- banned type it is made of (itself, a domain's base type or an array's
-- element type, followed to the end; NULL when none); and whether it is a
-- serial: its default uses a sequence that the column owns (deptype 'a';
-- identity columns own theirs with deptype 'i' and have no default).
WITH RECURSIVE column_types AS (
    SELECT a.attrelid, a.attnum, a.atttypid AS typid
    FROM ({{project_tables}}) AS t
    JOIN pg_attribute AS a ON a.attrelid = t.oid
    WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION
    SELECT ct.attrelid, ct.attnum,
           CASE ty.typtype WHEN 'd' THEN ty.typbasetype ELSE ty.typelem END
    FROM column_types AS ct
    JOIN pg_type AS ty ON ty.oid = ct.typid
    WHERE ty.typtype = 'd' OR (ty.typcategory = 'A' AND ty.typelem <> 0)
)
SELECT t.relname AS table_name, a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       pg_get_expr(ad.adbin, ad.adrelid) AS default, a.attidentity AS identity,
       a.attgenerated AS generated, col_description(t.oid, a.attnum) AS comment,
       (SELECT min(ty.typname) FROM column_types AS ct
        JOIN pg_type AS ty ON ty.oid = ct.typid
        WHERE ct.attrelid = a.attrelid AND ct.attnum = a.attnum
          AND ty.oid = ANY ('{varchar,bpchar,timestamp,json,money}'::regtype[]::oid[])
       ) AS banned_type,
       EXISTS (
           SELECT FROM pg_depend AS uses
           JOIN pg_class AS seq ON seq.oid = uses.refobjid AND seq.relkind = 'S'
           JOIN pg_depend AS owns
             ON owns.classid = 'pg_class'::regclass AND owns.objid = seq.oid
            AND owns.refclassid = 'pg_class'::regclass AND owns.refobjid = ad.adrelid
            AND owns.refobjsubid = ad.adnum AND owns.deptype = 'a'
           WHERE uses.classid = 'pg_attrdef'::regclass AND uses.objid = ad.oid
             AND uses.refclassid = 'pg_class'::regclass
       ) AS serial
FROM ({{project_tables}}) AS t
JOIN pg_attribute AS a ON a.attrelid = t.oid
LEFT JOIN pg_attrdef AS ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
ORDER BY t.relname, a.attnum

-- name: constraints
-- The constraints declared on each table (not inherited, not cloned for a
-- partition), with their columns in key order; for a foreign key also the
-- referenced table and columns, its actions, whether a row may reference
-- nothing (a nullable column) and whether at most one row may reference a
-- row (its columns hold a unique key).
SELECT con.conname AS name, t.relname AS table_name, con.contype AS kind,
       pg_get_constraintdef(con.oid) AS definition,
       array(SELECT a.attname
             FROM unnest(con.conkey) WITH ORDINALITY AS k (attnum, i)
             JOIN pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.i) AS columns,
       obj_description(con.oid, 'pg_constraint') AS comment,
       f.relname AS ref_table,
       array(SELECT a.attname
             FROM unnest(con.confkey) WITH ORDINALITY AS k (attnum, i)
             JOIN pg_attribute AS a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
             ORDER BY k.i) AS ref_columns,
       con.confdeltype AS on_delete, con.confupdtype AS on_update,
       EXISTS (SELECT FROM pg_attribute AS a
               WHERE a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey)
                 AND NOT a.attnotnull) AS nullable,
       EXISTS (SELECT FROM pg_index AS ix
               WHERE ix.indrelid = con.conrelid AND ix.indisunique
                 AND ix.indpred IS NULL AND ix.indexprs IS NULL
                 AND (SELECT array_agg(k.n)
                      FROM unnest(ix.indkey) WITH ORDINALITY AS k (n, i)
                      WHERE k.i <= ix.indnkeyatts) <@ con.conkey) AS unique_columns
FROM ({{project_tables}}) AS t
JOIN pg_constraint AS con ON con.conrelid = t.oid
LEFT JOIN pg_class AS f ON f.oid = con.confrelid
-- From PostgreSQL 18 on NOT NULL is also a row here (contype 'n', named
-- <table>_<column>_not_null); it is the columns' nullability, which the
-- columns query reads on every major, so the model is the same on each.
WHERE con.conparentid = 0 AND con.conislocal AND con.contype <> 'n'
ORDER BY t.relname, con.conname

-- name: indexes
-- Every index of each table: method, whether it enforces uniqueness
-- (unique, primary key or exclusion), validity, key columns (NULL for an
-- expression), each key as PostgreSQL prints it, a comparable signature of
-- each key (definition, operator class, collation, ordering options), the
-- predicate and the constraint it backs, if any.
SELECT i.relname AS name, t.relname AS table_name, am.amname AS method,
       ix.indisunique AS is_unique, ix.indisunique OR ix.indisexclusion AS enforces,
       ix.indisvalid AS valid, ix.indnatts AS natts,
       array(SELECT a.attname
             FROM generate_series(0, ix.indnkeyatts - 1) AS k
             LEFT JOIN pg_attribute AS a
               ON a.attrelid = ix.indrelid AND a.attnum = ix.indkey[k]
             ORDER BY k) AS columns,
       array(SELECT pg_get_indexdef(ix.indexrelid, k, true)
             FROM generate_series(1, ix.indnkeyatts) AS k ORDER BY k) AS keys,
       array(SELECT concat_ws(' ', pg_get_indexdef(ix.indexrelid, k + 1, true),
                              ix.indclass[k], ix.indcollation[k], ix.indoption[k])
             FROM generate_series(0, ix.indnkeyatts - 1) AS k
             ORDER BY k) AS signature,
       pg_get_expr(ix.indpred, ix.indrelid, true) AS predicate,
       (SELECT con.conname FROM pg_constraint AS con
        WHERE con.conindid = ix.indexrelid AND con.conrelid = ix.indrelid
          AND con.contype IN ('p', 'u', 'x')) AS constraint_name
FROM ({{project_tables}}) AS t
JOIN pg_index AS ix ON ix.indrelid = t.oid
JOIN pg_class AS i ON i.oid = ix.indexrelid
JOIN pg_am AS am ON am.oid = i.relam
ORDER BY i.relname

-- name: triggers
-- The triggers written for each table (not the internal ones behind
-- foreign keys, not the clones on partitions).
SELECT tg.tgname AS name, t.relname AS table_name, pg_get_triggerdef(tg.oid) AS definition,
       tg.tgfoid::regproc::text AS function,
       tg.tgtype & 28 AS events  -- 4 INSERT, 8 DELETE, 16 UPDATE
FROM ({{project_tables}}) AS t
JOIN pg_trigger AS tg ON tg.tgrelid = t.oid
WHERE NOT tg.tgisinternal AND tg.tgparentid = 0
ORDER BY t.relname, tg.tgname

-- name: policies
-- The row-level security policies of each table, as pg_policies prints them.
SELECT p.tablename AS table_name, p.policyname AS name,
       array_to_string(p.roles, ', ') AS roles, p.cmd AS command,
       p.qual AS using, p.with_check
FROM pg_policies AS p
JOIN ({{project_tables}}) AS t ON t.relname = p.tablename
WHERE p.schemaname = 'public'
ORDER BY p.tablename, p.policyname

-- name: types
-- The types the project made: enums (with their values in sort order),
-- domains, ranges and composite types that are not a table's row type.
SELECT t.typname AS name, t.typtype AS kind,
       array(SELECT e.enumlabel FROM pg_enum AS e WHERE e.enumtypid = t.oid
             ORDER BY e.enumsortorder) AS values,
       obj_description(t.oid, 'pg_type') AS comment, pg_get_userbyid(t.typowner) AS owner
FROM pg_type AS t
LEFT JOIN pg_class AS c ON c.oid = t.typrelid
WHERE t.typnamespace = 'public'::regnamespace
  AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND c.relkind = 'c'))
  AND NOT EXISTS (
      SELECT FROM pg_depend AS d
      WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
  )
ORDER BY t.typname

-- name: functions
-- The functions, procedures and aggregates the project wrote.
SELECT p.oid::regprocedure::text COLLATE "C" AS identity, p.proname AS name,
       pg_get_function_identity_arguments(p.oid) AS arguments,
       coalesce(pg_get_function_result(p.oid), '') AS returns, l.lanname AS language,
       p.prokind AS kind, p.provolatile AS volatility, p.proisstrict AS strict,
       p.prosecdef AS security_definer, p.proparallel AS parallel,
       coalesce(p.proconfig, '{}') AS config, obj_description(p.oid, 'pg_proc') AS comment,
       pg_get_userbyid(p.proowner) AS owner
FROM ({{project_functions}}) AS f
JOIN pg_proc AS p ON p.oid = f.oid
JOIN pg_language AS l ON l.oid = p.prolang
ORDER BY 1

-- name: function_grants
-- Who may execute each function besides its owner; PUBLIC is grantee 0. A
-- function never granted anything has its default: PUBLIC may execute it.
SELECT p.oid::regprocedure::text COLLATE "C" AS identity,
       CASE acl.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(acl.grantee) END AS grantee,
       acl.privilege_type AS privilege
FROM ({{project_functions}}) AS f
JOIN pg_proc AS p ON p.oid = f.oid
CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS acl
WHERE acl.grantee <> p.proowner
ORDER BY 1, 2, 3

-- name: extensions
SELECT e.extname AS name FROM pg_extension AS e WHERE e.extname <> 'plpgsql' ORDER BY 1

-- name: sequences
-- Each sequence of the project with the column it serves (an identity or
-- serial column: owned by it, deptype 'i' or 'a'; NULL when none) and its
-- current value (NULL before its first nextval), read from pg_sequences.
-- Logical replication does not carry these values.
SELECT r.relname AS name, t.relname AS table_name, a.attname AS column_name,
       s.last_value
FROM ({{project_relations}}) AS r
JOIN pg_sequences AS s ON s.schemaname = 'public' AND s.sequencename = r.relname
LEFT JOIN pg_depend AS d
       ON d.classid = 'pg_class'::regclass AND d.objid = r.oid
      AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('i', 'a')
LEFT JOIN pg_class AS t ON t.oid = d.refobjid
LEFT JOIN pg_attribute AS a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE r.relkind = 'S'
ORDER BY r.relname

-- name: large_objects
-- Large objects live outside every table; logical replication does not
-- carry them.
SELECT count(*) AS count FROM pg_largeobject_metadata
