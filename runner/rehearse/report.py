"""What a rehearsal found, per migration: its locks on the traffic's tables,
the traffic's latency and throughput against the baseline, the longest time a
traffic query was blocked by it, and the traffic's errors during and after
it; as a Markdown table, a JSON document and a PNG timeline."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from runner.rehearse.traffic import Op
from runner.rehearse.watch import Sample, Statement

# Which lock modes conflict (PostgreSQL's table-level lock conflict table).
_ORDER = ["AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock",
          "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"]
_CONFLICTS = {
    "AccessShareLock": {"AccessExclusiveLock"},
    "RowShareLock": {"ExclusiveLock", "AccessExclusiveLock"},
    "RowExclusiveLock": {"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock",
                         "AccessExclusiveLock"},
    "ShareUpdateExclusiveLock": {"ShareUpdateExclusiveLock", "ShareLock",
                                 "ShareRowExclusiveLock", "ExclusiveLock",
                                 "AccessExclusiveLock"},
    "ShareLock": {"RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareRowExclusiveLock",
                  "ExclusiveLock", "AccessExclusiveLock"},
    "ShareRowExclusiveLock": set(_ORDER[2:]),
    "ExclusiveLock": set(_ORDER[1:]),
    "AccessExclusiveLock": set(_ORDER),
}


def conflicts(held: str, wanted: str) -> bool:
    return wanted in _CONFLICTS.get(held, set())


def mode_name(mode: str) -> str:
    """AccessExclusiveLock -> ACCESS EXCLUSIVE, as the documentation writes it."""
    words, word = [], ""
    for char in mode.removesuffix("Lock"):
        if char.isupper() and word:
            words.append(word)
            word = ""
        word += char
    return " ".join([*words, word]).upper()


@dataclass(frozen=True, kw_only=True)
class Stats:
    queries: int
    per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, ops: list[Op], seconds: float) -> Stats:
        latencies = sorted(op.latency_ms for op in ops)
        if not latencies:
            return cls(queries=0, per_second=0.0, p50_ms=0.0, p99_ms=0.0, max_ms=0.0)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        return cls(queries=len(ops), per_second=round(len(ops) / max(seconds, 1e-3), 1),
                   p50_ms=round(statistics.median(latencies), 1), p99_ms=round(p99, 1),
                   max_ms=round(latencies[-1], 1))


@dataclass(frozen=True, kw_only=True)
class Lock:
    table: str
    mode: str
    held_ms: float
    statement: int  # 1-based index in the migration; 0 when seen outside any statement
    conflicts_with: tuple[str, ...]  # the traffic queries whose locks it conflicts with


@dataclass(frozen=True, kw_only=True)
class Block:
    """A traffic query that waited on the migration. queued: when it began to
    wait, the migration was itself still waiting for its lock (behind traffic
    ahead of it) and the query queued behind that request; else the migration
    held the lock."""

    query: str
    ms: float
    table: str
    mode: str  # the mode the traffic query waited for
    statement: int
    queued: bool


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One migration under traffic."""

    migration: str
    wall_ms: float
    statements: tuple[str, ...]  # first line of each
    locks: tuple[Lock, ...]
    traffic: Stats
    blocks: tuple[Block, ...]  # the longest 20, longest first
    errors_during: tuple[str, ...]
    errors_after: tuple[str, ...]
    offences: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.offences

    @property
    def longest_block(self) -> Block | None:
        return self.blocks[0] if self.blocks else None


@dataclass(frozen=True, kw_only=True)
class Report:
    scale: float
    rate: float
    budget_ms: float
    baseline: Stats
    findings: tuple[Finding, ...]

    @property
    def passed(self) -> bool:
        return all(f.passed for f in self.findings)

    def offences(self) -> list[str]:
        return [line for f in self.findings for line in f.offences]

    def notes(self) -> list[str]:
        return [line for f in self.findings for line in f.notes]


# -- analysis -------------------------------------------------------------------------

def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("--")]
    return (lines[0] if lines else text).strip()[:80]


def _statement_at(statements: list[Statement], at: float) -> int:
    for s in statements:
        if s.started <= at <= s.ended:
            return s.index
    return 0


def _locks(window: tuple[float, float], statements: list[Statement], samples: list[Sample],
           pids: set[int], interval: float,
           needs: dict[str, dict[str, set[str]]]) -> list[Lock]:
    """Every lock the migration held on a table the traffic uses, and for how
    long: from when it was granted (the first sample that saw it granted, else
    the end of the statement that took it: a catalog-only change) until the
    migration's last statement ended. Time spent waiting for the lock is not
    holding it (the traffic that queued meanwhile shows as blocked), and the
    runner's own bookkeeping after the last statement is left out."""
    start, end = window
    last = max((s.ended for s in statements), default=end)
    granted: dict[tuple[str, str], list[float]] = {}
    for sample in samples:
        if start <= sample.at <= end:
            for pid, table, mode in sample.runner_locks:
                if pid in pids:
                    granted.setdefault((table, mode), []).append(sample.at)
    held: dict[tuple[str, str], tuple[float, int]] = {}
    for s in statements:  # transactional: held from the statement that took it to commit
        for key in s.locks:
            if key not in held:
                seen = [t for t in granted.get(key, ()) if t >= s.started]
                since = min(seen[0], s.ended) if seen else s.ended
                held[key] = (max(0.0, last - since) * 1000, s.index)
    for key, times in granted.items():  # statements that commit on their own
        if key not in held:
            held[key] = ((max(times) - min(times) + interval) * 1000,
                         _statement_at(statements, min(times)))
    traffic_tables = {t for tables in needs.values() for t in tables}
    found = []
    for (table, mode), (ms, index) in sorted(held.items()):
        if table not in traffic_tables:
            continue
        wanted_by = sorted({query for query, tables in needs.items()
                            for want in tables.get(table, ()) if conflicts(mode, want)})
        found.append(Lock(table=table, mode=mode, held_ms=round(ms, 1), statement=index,
                          conflicts_with=tuple(wanted_by)))
    return found


def _blocks(window: tuple[float, float], statements: list[Statement], samples: list[Sample],
            ops: list[Op], pids: set[int]) -> list[Block]:
    """Traffic queries seen waiting on the migration's backend while they ran."""
    start, end = window
    waits: dict[int, list[tuple[float, str, str, bool]]] = {}
    for sample in samples:
        if start <= sample.at <= end:
            queued = any(pid in pids for pid, _, _ in sample.runner_waiting)
            for pid, table, mode, by, _ in sample.waiting:
                if pids & set(by):
                    waits.setdefault(pid, []).append((sample.at, table, mode, queued))
    found = []
    for op in ops:
        hits = [w for w in waits.get(op.pid, ()) if op.started <= w[0] <= op.ended]
        if hits:
            at, table, mode, _ = hits[0]
            found.append(Block(query=op.query, ms=round((op.ended - op.started) * 1000, 1),
                               table=table, mode=mode, statement=_statement_at(statements, at),
                               queued=hits[0][3]))
    return found


def _errors(ops: list[Op]) -> tuple[str, ...]:
    counts = Counter(f"{op.query}: {op.error}" for op in ops)
    return tuple(f"{line} (x{n})" for line, n in counts.items())


@dataclass(frozen=True, kw_only=True)
class Observed:
    """Everything a rehearsal recorded, in monotonic seconds."""

    baseline: tuple[float, float]
    end: float
    migrations: dict[str, tuple[float, float]]
    statements: list[Statement]
    samples: list[Sample]
    ops: list[Op]
    runner_pids: set[int]
    interval: float
    needs: dict[str, dict[str, set[str]]]  # query -> table -> lock modes it takes


def analyse(seen: Observed, *, scale: float, rate: float, budget_ms: float,
            queued_budget_ms: float | None = None) -> Report:
    base_ops = [op for op in seen.ops if seen.baseline[0] <= op.due < seen.baseline[1]]
    findings = []
    order = sorted(seen.migrations.items(), key=lambda item: item[1][0])
    for number, (migration, window) in enumerate(order):
        statements = [s for s in seen.statements if s.migration == migration]
        until = order[number + 1][1][0] if number + 1 < len(order) else seen.end
        during = [op for op in seen.ops if window[0] <= op.due <= window[1]]
        after = [op for op in seen.ops if window[1] < op.due <= until and op.error]
        locks = _locks(window, statements, seen.samples, seen.runner_pids, seen.interval,
                       seen.needs)
        blocks = _blocks(window, statements, seen.samples, seen.ops, seen.runner_pids)
        blocks.sort(key=lambda b: -b.ms)
        finding = Finding(
            migration=migration, wall_ms=round((window[1] - window[0]) * 1000, 1),
            statements=tuple(_first_line(s.text) for s in statements), locks=tuple(locks),
            traffic=Stats.of(during, window[1] - window[0]), blocks=tuple(blocks[:20]),
            errors_during=_errors([op for op in during if op.error]),
            errors_after=_errors(after))
        findings.append(_judge(finding, budget_ms, queued_budget_ms))
    return Report(scale=scale, rate=rate, budget_ms=budget_ms,
                  baseline=Stats.of(base_ops, seen.baseline[1] - seen.baseline[0]),
                  findings=tuple(findings))


def _judge(finding: Finding, budget_ms: float, queued_budget_ms: float | None) -> Finding:
    """The offences: a traffic query blocked longer than the budget while the
    migration held its lock; a lock that the traffic needs held longer than
    the budget (whether or not a query happened to arrive meanwhile); a
    traffic query that failed. A query that queued behind the migration's own
    wait for its lock is a note: that wait is the slowest traffic query's in
    flight, and the runner's lock_timeout is what bounds it; with
    queued_budget_ms it is an offence past that."""
    lines, notes = [], []
    statement = {i + 1: text for i, text in enumerate(finding.statements)}
    for queued in (False, True):
        block = next((b for b in finding.blocks if b.queued == queued), None)
        limit = budget_ms if not queued or queued_budget_ms is None else queued_budget_ms
        if block and block.ms > limit:
            why = ("queued behind the migration's own wait for its lock; lock_timeout bounds "
                   "that wait" if queued else "while the migration held its lock")
            strict = not queued or queued_budget_ms is not None
            (lines if strict else notes).append(
                f"{finding.migration}: statement {block.statement} "
                f"({statement.get(block.statement, '?')}) blocked {block.query} for "
                f"{block.ms:.0f} ms ({mode_name(block.mode)} on {block.table}, {why}; "
                f"budget {limit:g} ms)")
    for lock in finding.locks:
        if lock.conflicts_with and lock.held_ms > budget_ms:
            lines.append(f"{finding.migration}: statement {lock.statement} "
                         f"({statement.get(lock.statement, '?')}) held {mode_name(lock.mode)} "
                         f"on {lock.table} for {lock.held_ms:.0f} ms, which blocks "
                         f"{', '.join(lock.conflicts_with)} (budget {budget_ms:g} ms)")
    for when, errors in (("during", finding.errors_during), ("after", finding.errors_after)):
        for error in errors:
            lines.append(f"{finding.migration}: traffic failed {when} it: {error}")
    return replace(finding, offences=tuple(lines), notes=tuple(notes))


# -- output ---------------------------------------------------------------------------

def markdown(report: Report) -> str:
    b = report.baseline
    lines = [
        f"Rehearsal at scale {report.scale:g}, traffic {report.rate:g} queries/s, "
        f"budget {report.budget_ms:g} ms. Baseline: {b.per_second:g} queries/s, "
        f"p50 {b.p50_ms:g} ms, p99 {b.p99_ms:g} ms, max {b.max_ms:g} ms.",
        "",
        "| migration | wall ms | locks on the traffic's tables (ms held; * blocks traffic) "
        "| traffic p50 / p99 / max ms | queries/s | longest block | errors | verdict |",
        "| --- | ---: | --- | --- | ---: | --- | --- | --- |",
    ]
    for f in report.findings:
        locks = ", ".join(f"{mode_name(lk.mode)} {lk.table} {lk.held_ms:.0f}"
                          f"{'*' if lk.conflicts_with else ''}" for lk in f.locks) or "none"
        t = f.traffic
        block = (f"{f.longest_block.ms:.0f} ms ({f.longest_block.query}"
                 f"{', queued' if f.longest_block.queued else ''})"
                 if f.longest_block else "none")
        errors = len(f.errors_during) + len(f.errors_after)
        lines.append(f"| `{f.migration}` | {f.wall_ms:.0f} | {locks} | {t.p50_ms:g} / "
                     f"{t.p99_ms:g} / {t.max_ms:g} | {t.per_second:g} | {block} | "
                     f"{errors or 'none'} | {'pass' if f.passed else 'FAIL'} |")
    offences = report.offences()
    if offences:
        lines += ["", "Offences:", "", *[f"- {line}" for line in offences]]
    notes = report.notes()
    if notes:
        lines += ["", "Notes:", "", *[f"- {line}" for line in notes]]
    return "\n".join(lines) + "\n"


def as_json(report: Report) -> str:
    data = asdict(report)
    data["passed"] = report.passed
    for finding, raw in zip(report.findings, data["findings"], strict=True):
        raw["passed"] = finding.passed
        raw["longest_block"] = raw["blocks"][0] if raw["blocks"] else None
    return json.dumps(data, indent=2) + "\n"


def plot(seen: Observed, path: Path) -> bool:
    """Traffic latency over time with the migrations as spans; False without
    matplotlib (the bench extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    zero = seen.baseline[0]
    fig, ax = plt.subplots(figsize=(10, 4))
    ok = [op for op in seen.ops if not op.error]
    failed = [op for op in seen.ops if op.error]
    ax.scatter([op.due - zero for op in ok], [op.latency_ms for op in ok], s=3, label="query")
    ax.scatter([op.due - zero for op in failed], [op.latency_ms for op in failed], s=12,
               color="red", marker="x", label="failed query")
    for number, (migration, (start, end)) in enumerate(sorted(seen.migrations.items())):
        ax.axvspan(start - zero, max(end, start + 0.005) - zero, alpha=0.25,
                   color=f"C{1 + number % 8}", label=migration)
    ax.set_yscale("symlog", linthresh=1)
    ax.set_xlabel("seconds since the baseline began")
    ax.set_ylabel("latency, ms")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
