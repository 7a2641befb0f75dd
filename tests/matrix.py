"""`make test-matrix`: the whole suite on every supported major, and once more
in a Turkish database, two suites at a time.

Each run is the suite `make test` runs, with SCHEMA_PG_MAJOR (and
SCHEMA_PG_LOCALE) set: 15, 16, 17 and 18 in C.UTF-8, then 17 in libc's
tr_TR.UTF-8 and 15 (a build with ICU) in ICU's tr-TR (docs/locale.md). Each
run's output goes to .matrix/<major>[-<locale>].log and one line per run ends
the matrix. A run that cannot start (a major not installed, as for a normal
user without Debian's postgresql-15; the Turkish locale not made) is reported
as skipped, with how to fix it: never as passed. As root (CI) a skipped run
fails the matrix, since `make test-matrix` installs everything.

    python -m tests.matrix [MAJOR[@LOCALE] ...]   (MATRIX_JOBS=2 suites at a time)
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
from runner.errors import RunnerError
from runner.locales import DEFAULT, Locale
from runner.servers import majors

# Besides each major in C.UTF-8: the Turkish runs.
TURKISH_RUNS = ("17@tr_TR.UTF-8", "15@icu:tr-TR")

LOGS = config.REPO / ".matrix"
SUMMARY = re.compile(r"^=+ (.+) in ([\d.]+)s")


@dataclass(frozen=True, kw_only=True)
class Run:
    """One suite of the matrix: a major, in a locale."""

    major: int
    locale: str = DEFAULT

    @classmethod
    def parse(cls, text: str) -> Run:
        major, _, locale = text.partition("@")
        return cls(major=int(major), locale=locale or DEFAULT)

    @property
    def name(self) -> str:
        return (f"PostgreSQL {self.major}" if self.locale == DEFAULT
                else f"PostgreSQL {self.major} in {self.locale}")

    @property
    def log(self) -> Path:
        suffix = "" if self.locale == DEFAULT else "-" + self.locale.replace(":", "-")
        return LOGS / f"{self.major}{suffix}.log"


@dataclass(frozen=True, kw_only=True)
class Result:
    run: Run
    state: str  # passed, failed or skipped
    detail: str
    seconds: float

    def line(self) -> str:
        return (f"{self.run.name}: {self.state.upper()}, {self.detail}"
                f"{f' ({self.seconds:.0f} s)' if self.seconds else ''}")


def summary(log: Path) -> str:
    """pytest's last line ("2170 passed, 2 skipped in 321.5s"), without the time."""
    for line in reversed(log.read_text(errors="replace").splitlines()):
        match = SUMMARY.match(line)
        if match:
            return match.group(1)
    return "no pytest summary (see the log)"


def cannot_run(run: Run) -> str | None:
    """Why a run cannot start on this machine, or None."""
    found = majors.install(run.major)
    if not found.installed:
        return f"{found.source} is not installed: {found.hint}"
    try:
        Locale.parse(run.locale).check(run.major, found.bin_dir)
    except RunnerError as exc:
        return str(exc)
    return None


def run_suite(run: Run) -> Result:
    why = cannot_run(run)
    if why:
        return Result(run=run, state="skipped", seconds=0, detail=why)
    log = run.log
    env = {**os.environ, "SCHEMA_PG_MAJOR": str(run.major), "SCHEMA_PG_LOCALE": run.locale}
    started = time.monotonic()
    with log.open("w") as out:
        code = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
                              cwd=config.REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL).returncode
    seconds = time.monotonic() - started
    state = "passed" if code == 0 else "failed"
    return Result(run=run, state=state, seconds=seconds,
                  detail=f"{summary(log)}, log in {os.path.relpath(log, config.REPO)}")


def main(argv: list[str]) -> int:
    wanted = [Run.parse(a) for a in argv or [*map(str, majors.TESTED_MAJORS), *TURKISH_RUNS]]
    jobs = int(os.environ.get("MATRIX_JOBS", "2"))
    LOGS.mkdir(exist_ok=True)
    started = time.monotonic()
    print(f"test-matrix: {', '.join(r.name for r in wanted)}, {jobs} at a time; "
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
        print("test-matrix: as root make test-matrix installs every major and the Turkish "
              "locale; a skipped run is a failure")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
