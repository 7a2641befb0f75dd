"""The layout of the code: what each package may import (runner/__init__.py
and workload/__init__.py say it), read from the source, lazy imports too."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from runner import config

FOUNDATION = {f"runner.{name}" for name in ("errors", "config", "settings", "connection",
                                              "scratch", "locales")}
# Each unit (a foundation module, a package of runner/, a top-level folder):
# the units and modules it may import besides its own.
ALLOWED = {
    **{name: FOUNDATION for name in FOUNDATION},
    "runner.servers": FOUNDATION,
    "runner.catalog": {"runner.migrate.history"},
    "runner.migrate": FOUNDATION | {"runner.catalog", "runner.servers.majors"},
    "runner.checks": FOUNDATION | {"runner.catalog"},
    "runner.docs": FOUNDATION | {"runner.catalog", "runner.migrate", "runner.servers"},
    "runner.rehearse": FOUNDATION | {"runner.migrate", "runner.servers", "workload"},
    "runner": set(),
    "runner.cli": {"runner"},
    "runner.__main__": {"runner.cli"},
    "workload": set(),
    "bench": FOUNDATION | {"runner.migrate", "runner.servers", "workload"},
}
TOPS = ("runner", "workload", "bench", "tests")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(config.REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = config.REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported(path: Path) -> set[str]:
    """The modules the file imports: `from a import b` is a.b when b is a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if is_module(name) else node.module)
    return found


def unit(module: str) -> str:
    """A foundation module or a package of runner/ (runner.X), or the top folder."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "runner" and len(parts) > 1 else parts[0]


def within(module: str, allowed: set[str]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


SOURCES = [p for top in TOPS[:3] for p in sorted((config.REPO / top).rglob("*.py"))]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(config.REPO)))
def test_each_module_imports_only_what_its_package_may(path):
    own = unit(module_name(path))
    assert own in ALLOWED, f"{own}: add it to ALLOWED and to its package's docstring"
    ours = {m for m in imported(path) if m.split(".")[0] in TOPS and unit(m) != own}
    assert {m for m in ours if not within(m, ALLOWED[own])} == set()


@pytest.mark.parametrize("path", sorted((config.REPO / "workload").rglob("*.py")),
                         ids=lambda p: p.name)
def test_the_workload_imports_psycopg_and_the_standard_library_only(path):
    tops = {m.split(".")[0] for m in imported(path)}
    assert tops - set(sys.stdlib_module_names) - {"__future__", "psycopg", "workload"} == set()


def test_nothing_imports_the_cli_but_its_entry_points():
    importers = {module_name(p) for p in SOURCES if "runner.cli" in imported(p)}
    assert importers == {"runner.__main__"}
