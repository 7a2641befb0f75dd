"""The schema's migration runner: a thin CLI around yoyo and an embedded PostgreSQL (15 to 18).

Where things are:

- cli.py: the one entry point, `schema COMMAND` (the console script) and
  `python -m runner COMMAND` (__main__.py); each command calls one package.
- the foundation every package uses: errors.py (exit codes, RunnerError),
  config.py (the repository, DATABASE_URL and the environment), settings.py
  (the runner's settings), connection.py (connecting), scratch.py (a scratch
  database), locales.py (the locale of the databases it makes).
- migrate/: migrate, rollback, status, plan, verify, and what they rest on
  (the engine, guards, the migration lock, the runner's history, the
  migration files, the manifest, verify's pg_dump diff).
- servers/: the embedded and throw-away servers, the majors, what the
  server user can reach.
- catalog/: the one reader of pg_catalog, and its model.
- checks/: the checks over the live catalog and the SQL: conventions,
  replication, Citus, lint.
- docs/: docs/schema.md. rehearse/: `schema rehearse`.

What may import what (tests/test_layout.py holds every package to it):

- the foundation imports only itself; servers/ imports the foundation;
- catalog/ imports migrate.history (the migrations a schema holds);
- migrate/ imports the foundation, catalog/ and servers.majors;
- checks/ imports the foundation and catalog/;
- docs/ imports the foundation, catalog/, migrate/ and servers/ (it builds
  the schema in a scratch database and renders its catalog);
- rehearse/ imports the foundation, migrate/, servers/ and the workload
  package (workload/: the catalog, the generator, the mix, the clients);
- cli.py imports every package, and nothing in runner/ imports cli.py;
- nothing in runner/ imports bench/ or tests/.
"""
