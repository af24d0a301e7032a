"""One Markdown table helper for every generated document (API reference, load-test report).

Generated docs print many tables; writing each row as an f-string spreads the Markdown syntax
(pipes, the separator row, escaping) over dozens of places. Here it is written once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def cell(value: Any) -> str:
    """One cell's text: ``|`` escaped, newlines folded (Markdown cells are one line)."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(
    header: Sequence[Any], rows: Iterable[Sequence[Any]], *, align: str | None = None
) -> str:
    """A GitHub-flavoured Markdown table. ``align`` has one letter per column: ``l``eft,
    ``r``ight, ``c``enter or ``-`` (default)."""
    marks = {"l": ":---", "r": "---:", "c": ":---:", "-": "---"}
    align = align or "-" * len(header)
    if len(align) != len(header):
        raise ValueError(f"align {align!r} does not have one letter per column ({len(header)})")
    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "|".join(marks[a] for a in align) + "|",
    ]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row {row!r} has {len(row)} cells; the header has {len(header)}")
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)
