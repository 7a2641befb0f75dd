"""Running pgbench (from the embedded server's binaries) and reading its summary."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from runner.config import SUPERUSER
from runner.servers.server import Server

# The machine has two cores: two pgbench threads share the clients.
MAX_THREADS = 2


@dataclass(frozen=True)
class Client:
    """How pgbench connects: as which login, to which port (None: the server's;
    or a pooler's), with which protocol. Prepared statements are what a
    direct client uses; through PgBouncer 1.18 in transaction mode a client
    cannot keep them, and sends each statement with the extended protocol,
    parsed and planned again every time."""

    user: str = SUPERUSER
    port: int | None = None
    protocol: str = "prepared"


SUPERUSER_CLIENT = Client()


@dataclass
class Script:
    name: str
    transactions: int = 0
    tps: float = 0.0
    latency_ms: float = 0.0


@dataclass
class Run:
    clients: int
    transactions: int
    failed: int
    tps: float
    latency_ms: float
    scripts: dict[str, Script] = field(default_factory=dict)


def number(pattern: str, text: str) -> float:
    match = re.search(pattern, text, re.MULTILINE)
    if not match:
        raise RuntimeError(f"pgbench printed no {pattern!r}; its output:\n{text}")
    return float(match.group(1))


def per_script(output: str) -> dict[str, Script]:
    """The per-script block pgbench prints when it runs several scripts."""
    scripts = {}
    for block in re.split(r"^SQL script \d+: ", output, flags=re.MULTILINE)[1:]:
        name = Path(block.splitlines()[0].strip()).stem
        scripts[name] = Script(
            name=name,
            transactions=int(number(r"^ - (\d+) transactions", block)),
            tps=number(r"tps = ([\d.]+)\)", block),
            # A script that ran no transaction (a small weight, a short run) has no latency.
            latency_ms=(number(r"^ - latency average = ([\d.]+) ms", block)
                        if re.search(r"^ - latency average", block, re.MULTILINE) else 0.0),
        )
    return scripts


def run(server: Server, dbname: str, scripts: list[tuple[Path, int]], clients: int,
        variables: dict[str, int], seconds: float, client: Client = SUPERUSER_CLIENT) -> Run:
    """pgbench for a number of seconds, connected as the client says (by
    default the superuser, straight to the server, prepared statements);
    raises when a transaction failed or pgbench did."""
    port = client.port or server.port
    cmd = [server.client("pgbench", "the benchmark"), "-h", "127.0.0.1", "-p", str(port),
           "-U", client.user, "--no-vacuum", f"--protocol={client.protocol}",
           f"--client={clients}",
           f"--jobs={min(clients, MAX_THREADS)}", f"--time={max(1, round(seconds))}"]
    cmd += [f"--define={k}={v}" for k, v in variables.items()]
    cmd += [f"--file={path}@{weight}" for path, weight in scripts]
    proc = subprocess.run([*cmd, dbname], capture_output=True, text=True, cwd="/")
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"pgbench failed: {' / '.join(detail)}")
    out = proc.stdout
    result = Run(
        clients=clients,
        transactions=int(number(r"^number of transactions actually processed: (\d+)", out)),
        failed=int(number(r"^number of failed transactions: (\d+)", out)),
        tps=number(r"^tps = ([\d.]+)", out),
        latency_ms=number(r"^latency average = ([\d.]+) ms", out),
        scripts=per_script(out) if len(scripts) > 1 else {},
    )
    if result.failed:
        raise RuntimeError(f"pgbench: {result.failed} transactions failed; see the server log")
    return result
