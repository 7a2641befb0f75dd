"""`make test-matrix`: the whole suite on every supported major, two at a time.

Each major's suite is the one `make test` runs, with SCHEMA_PG_MAJOR set; its
output goes to .matrix/<major>.log and one line per major ends the run. A
major that is not installed (a normal user without Debian's postgresql-15)
is reported as skipped, with how to install it: never as passed. As root (CI)
a missing major fails the run, since `make test-matrix` installs every one.

    python -m tests.matrix [MAJOR ...]      (MATRIX_JOBS=2 suites at a time)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from runner import config
from runner.servers import majors

LOGS = config.REPO / ".matrix"
SUMMARY = re.compile(r"^=+ (.+) in ([\d.]+)s")


@dataclass(frozen=True, kw_only=True)
class Result:
    major: int
    state: str  # passed, failed or skipped
    detail: str
    seconds: float

    def line(self) -> str:
        return (f"PostgreSQL {self.major}: {self.state.upper()}, {self.detail}"
                f"{f' ({self.seconds:.0f} s)' if self.seconds else ''}")


def summary(log: Path) -> str:
    """pytest's last line ("2170 passed, 2 skipped in 321.5s"), without the time."""
    for line in reversed(log.read_text(errors="replace").splitlines()):
        match = SUMMARY.match(line)
        if match:
            return match.group(1)
    return "no pytest summary (see the log)"


def run_suite(major: int) -> Result:
    found = majors.install(major)
    if not found.installed:
        return Result(major=major, state="skipped", seconds=0,
                      detail=f"{found.source} is not installed: {found.hint}")
    log = LOGS / f"{major}.log"
    env = {**os.environ, "SCHEMA_PG_MAJOR": str(major)}
    started = time.monotonic()
    with log.open("w") as out:
        code = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
                              cwd=config.REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL).returncode
    seconds = time.monotonic() - started
    state = "passed" if code == 0 else "failed"
    return Result(major=major, state=state, seconds=seconds,
                  detail=f"{summary(log)}, log in {os.path.relpath(log, config.REPO)}")


def main(argv: list[str]) -> int:
    wanted = [int(a) for a in argv] or list(majors.TESTED_MAJORS)
    jobs = int(os.environ.get("MATRIX_JOBS", "2"))
    LOGS.mkdir(exist_ok=True)
    started = time.monotonic()
    print(f"test-matrix: PostgreSQL {', '.join(map(str, wanted))}, {jobs} at a time; "
          f"logs in {os.path.relpath(LOGS, config.REPO)}/", flush=True)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = []
        for result in pool.map(run_suite, wanted):
            print(f"  {result.line()}", flush=True)
            results.append(result)
    print(f"== test-matrix took {time.monotonic() - started:.0f} s:")
    for result in results:
        print(result.line())
    failed = [r for r in results if r.state == "failed"]
    skipped = [r for r in results if r.state == "skipped"]
    if skipped and os.geteuid() == 0:
        print("test-matrix: as root every major is installed by make test-matrix; "
              "a skipped one is a failure")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
