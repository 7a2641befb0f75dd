"""The README and docs/ pages: every make target and runner command is
documented, every link resolves (files and heading anchors), and nothing
points outside the repository."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from runner import cli, config

README = config.REPO / "README.md"
PAGES = sorted((config.REPO / "docs").glob("*.md"))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (.+?)\s*$", re.MULTILINE)


def make_targets() -> list[str]:
    text = (config.REPO / "Makefile").read_text()
    return sorted(set(re.findall(r"^([a-z][a-z-]*):", text, re.MULTILINE)))


def runner_commands() -> list[str]:
    subparsers = next(a for a in cli.parser()._actions
                      if isinstance(a, argparse._SubParsersAction))
    return sorted(subparsers.choices)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower().replace("`", "")).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    return {slug(h) for h in HEADING.findall(text)}


def links(path: Path) -> list[str]:
    """The targets of the page's Markdown links, outside code blocks and spans."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    text = re.sub(r"(`+).+?\1", "", text)
    return [target for target in LINK.findall(text) if not target.startswith("http")]


def test_the_pages_exist():
    assert {p.name for p in PAGES} >= {"runner.md", "conventions.md", "security.md",
                                       "concurrency.md", "benchmark.md", "schema.md"}


@pytest.mark.parametrize("target", make_targets())
def test_every_make_target_is_in_the_readme(target):
    assert f"`make {target}`" in README.read_text()


@pytest.mark.parametrize("command", runner_commands())
def test_every_runner_command_is_in_the_runner_page(command):
    page = (config.REPO / "docs" / "runner.md").read_text()
    assert re.search(rf"^\| `{command}\b", page, re.MULTILINE), command


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.name)
def test_every_link_resolves(page):
    for target in links(page):
        file, _, anchor = target.partition("#")
        resolved = (page.parent / file).resolve() if file else page
        assert resolved.exists(), f"{page.name}: {target} does not exist"
        assert config.REPO in resolved.parents or resolved == config.REPO, target
        if anchor:
            assert anchor in anchors(resolved), f"{page.name}: no heading #{anchor}"


# Paths in the README that a clone has only once make has run, and names that
# are patterns or packages, not paths.
NOT_PATHS = re.compile(r"^(\.venv/|\.pgdata/|@|.*NNNN)")


def named_paths(text: str) -> list[tuple[str, str]]:
    """(folder, path) for every code span outside code blocks that names a
    path: one with a '/', or in a table row of a folder a file name too. In
    such a row a path may be relative to that folder, else to the repository."""
    found = []
    for line in re.sub(r"```.*?```", "", text, flags=re.DOTALL).splitlines():
        spans = re.findall(r"`([^`\s]+)`", line)
        first = re.match(r"^\| `([^`\s]+/)` \|", line)
        folder = first.group(1) if first else ""
        found += [(folder, span) for span in spans if not NOT_PATHS.match(span)
                  and ("/" in span
                       or folder and re.search(r"\.(py|sql|md|toml|ini|sha256)$", span))]
    return found


def test_every_path_the_readme_names_exists():
    for folder, path in named_paths(README.read_text()):
        candidates = [config.REPO / folder / path] + ([config.REPO / path] if folder else [])
        assert any(list(config.REPO.glob(str(c.relative_to(config.REPO)))) for c in candidates), \
            f"README.md names {path}{f' (in {folder})' if folder else ''}, which does not exist"


# Landed migrations are immutable, so the comments of the first ones keep
# the names of the documents they came from.
@pytest.mark.parametrize("path", [README, *PAGES, *sorted((config.REPO / "sql").glob("*.sql")),
                                  *sorted((config.REPO / "runner").rglob("*.py")),
                                  *sorted((config.REPO / "tests").glob("*.py")),
                                  *sorted((config.REPO / "bench").rglob("*.py")),
                                  *sorted((config.REPO / "workload").rglob("*.py"))],
                         ids=lambda p: str(p.relative_to(config.REPO)))
def test_nothing_refers_outside_the_repository(path):
    text = path.read_text()
    outside = ["../" + "shared", "SPEC" + ".md", "core-tables" + "-report"]  # not this file's
    assert [name for name in outside if name in text] == []


def test_the_readme_front_page_fits_on_two_screens():
    lines = README.read_text().splitlines()
    assert len(lines) <= 120
    headings = [line for line in lines if line.startswith("## ")]
    assert headings.index("## Adding a migration") <= 3  # before any reference material
