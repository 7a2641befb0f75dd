"""python -m bench [--scale 1]: the benchmark of the schema (what `make bench` runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import report, run
from runner.errors import RunnerError

OUT = Path(__file__).resolve().parent / "out"


def progress_bar(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="row", unit_scale=True, dynamic_ncols=True)


def positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 (got {text})")
    return value


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", type=positive, default=1.0,
                        help="data size; 1 = 100k users, 1M sessions, 300k models, 2M jobs")
    parser.add_argument("--out", type=Path, default=OUT,
                        help="report, plots, pgbench scripts and (while it runs) the server")
    parser.add_argument("--seconds", type=positive,
                        help="length of each timed pgbench run (default 5, 2 below scale 0.5)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="claim runs per table and client count; the median counts")
    parser.add_argument("--apply", type=Path, action="append", default=[], metavar="FILE",
                        help="SQL run after the migrations, e.g. a proposed migration to measure")
    parser.add_argument("--budget", type=positive, default=14.0,
                        help="minutes the run may take; the 500%% growth step runs if it fits")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    seconds = args.seconds or (5.0 if args.scale >= 0.5 else 2.0)
    for path in args.apply:
        if not path.is_file():
            print(f"bench: --apply {path}: no such file", file=sys.stderr)
            return 2
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        results = run.execute(args.scale, args.out.resolve(), seconds, args.repeats,
                              args.budget * 60, progress=progress_bar, extra_sql=args.apply)
    except RunnerError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return exc.exit_code
    found = report.write(results, args.out)
    print(f"report: {args.out / 'report.md'} ({results.elapsed / 60:.1f} min)")
    for target in found:
        print(target.line())
    passed = sum(t.ok for t in found)
    print(f"{passed} of {len(found)} targets pass")
    # Figures are not a test: a FAIL is reported, and the run itself succeeded.
    return 0


if __name__ == "__main__":
    sys.exit(main())
