"""Markdown helpers of the generated documentation: inline code, prose,
table cells, GitHub heading anchors."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_C_ESCAPES = {"\t": r"\t", "\n": r"\n", "\r": r"\r", "\f": r"\f", "\v": r"\v"}


def code(text: str) -> str:
    """An inline code span of text, whatever backticks and control characters it holds."""
    text = _CONTROL.sub(lambda m: _C_ESCAPES.get(m[0], f"\\x{ord(m[0]):02x}"), text)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")


def one_line(definition: str) -> str:
    """SQL as PostgreSQL prints it, on one line: white space between tokens (its
    line breaks and indentation) folded into single spaces; literals untouched."""
    parts, pos = [], 0
    for quoted in _QUOTED.finditer(definition):
        parts += [re.sub(r"\s+", " ", definition[pos:quoted.start()]), quoted[0]]
        pos = quoted.end()
    parts.append(re.sub(r"\s+", " ", definition[pos:]))
    return "".join(parts).strip()


def sql_code(definition: str) -> str:
    return code(one_line(definition))


def prose(text: str | None) -> str:
    """A comment as Markdown text: characters GitHub would take for markup are
    escaped (emphasis, strike-through, math, HTML tags), the rest left as written."""
    if not text:
        return ""
    text = re.sub(r"([\\*~$])", r"\\\1", text.strip())
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)


def cell(text: str | None) -> str:
    """Text made safe for one Markdown table cell."""
    if not text:
        return ""
    return text.replace("\r\n", "\n").replace("|", "\\|").replace("\n", "<br>")


def md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return lines


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def link(heading: str, text: str) -> str:
    return f"[{text}](#{slug(heading)})"
