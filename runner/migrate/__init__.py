"""Migrating: `schema migrate`, `rollback`, `status`, `plan` and `verify`
(commands.py), and what they rest on: running one migration with its record
(engine.py), the guards that refuse a run (guards.py), the migration lock
(lock.py), the runner's records beside yoyo's (history.py), reading the
migration files (files.py), the manifest of landed files (manifest.py) and
verify's pg_dump comparison (dump.py).

Imports the foundation (runner.errors, config, settings, connection,
scratch), runner.catalog (the tables the dump leaves out) and
runner.servers.majors (the client tools, the majors supported).
"""
