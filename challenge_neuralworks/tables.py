"""One Markdown table helper for every generated document (API reference, load-test report).

Generated docs print many tables; writing each row as an f-string spreads the Markdown syntax
(pipes, the separator row, escaping) over dozens of places. Here it is written once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

#: The separator-row mark of each ``align`` letter.
ALIGN_MARKS = {"l": ":---", "r": "---:", "c": ":---:", "-": "---"}

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def cell(value: Any) -> str:
    """One cell's text: ``|`` escaped, line breaks folded (Markdown cells are one line)."""
    return _LINE_BREAK.sub(" ", str(value).replace("|", "\\|"))


def markdown_table(
    header: Sequence[Any], rows: Iterable[Sequence[Any]], *, align: str | None = None
) -> str:
    """A GitHub-flavoured Markdown table. ``align`` has one letter per column: ``l``eft,
    ``r``ight, ``c``enter or ``-`` (default)."""
    align = align or "-" * len(header)
    if len(align) != len(header):
        raise ValueError(f"align {align!r} does not have one letter per column ({len(header)})")
    unknown = set(align) - ALIGN_MARKS.keys()
    if unknown:
        raise ValueError(f"align {align!r} has letters other than {''.join(ALIGN_MARKS)}")
    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "|".join(ALIGN_MARKS[a] for a in align) + "|",
    ]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row {row!r} has {len(row)} cells; the header has {len(header)}")
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)
