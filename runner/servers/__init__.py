"""The PostgreSQL servers the runner starts: the embedded server of `make
migrate` and the throw-away ones of the tests, the benchmark and rehearse
(server.py), the majors 15 to 18, where each comes from and which client
tools read it (majors.py), and what the unprivileged server user can reach
when we are root (reachable.py), and PgBouncer in transaction mode in front
of one (pooler.py).

Imports the foundation (runner.errors, runner.config) only.
"""
