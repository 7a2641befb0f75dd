"""Expected faults: one clear line for the user and a documented exit code."""

EXIT_OK = 0
EXIT_FAILED = 1  # a migration or a command failed
EXIT_USAGE = 2  # bad command line or configuration
EXIT_SERVER = 3  # the database server could not be reached or started
EXIT_LOCK = 4  # the migration lock, or a table lock a migration needs, was not had in time
EXIT_VERIFY = 5  # verify found a changed or missing file, or schema drift
EXIT_REFUSED = 6  # refused by a guard: environment mismatch, production, old server
EXIT_CONVENTIONS = 7  # `conventions` found objects that break the schema conventions
EXIT_REHEARSE = 8  # `rehearse`: a migration blocked the traffic past the budget, or broke it


class RunnerError(Exception):
    """A fault the user can fix; printed as one line, never as a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED):
        super().__init__(message)
        self.exit_code = exit_code
