"""The one Markdown table helper: exact output, cells that cannot break a row, bad input refused."""

from __future__ import annotations

import pytest

from challenge_neuralworks.tables import cell, markdown_table


def test_a_table_is_a_header_a_separator_and_one_line_per_row() -> None:
    table = markdown_table(["figure", "value"], [["requests/s", 10742], ["errors", 0]])
    assert table == "| figure | value |\n|---|---|\n| requests/s | 10742 |\n| errors | 0 |"


def test_rows_may_be_any_iterable_of_sequences() -> None:
    table = markdown_table(("a", "b"), (row for row in [(1, 2), (3, 4)]))
    assert table.splitlines()[2:] == ["| 1 | 2 |", "| 3 | 4 |"]


def test_no_rows_gives_a_header_only_table() -> None:
    assert markdown_table(["a"], []) == "| a |\n|---|"


def test_align_letters_set_the_separator_row() -> None:
    table = markdown_table(["name", "count", "mid", "plain"], [], align="lrc-")
    assert table.splitlines()[1] == "|:---|---:|:---:|---|"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a|b", "a\\|b"),
        ("`x | y`", "`x \\| y`"),
        ("two\nlines", "two lines"),
        ("windows\r\nline", "windows line"),
        ("old mac\rline", "old mac line"),
        (None, "None"),
        (1.5, "1.5"),
    ],
)
def test_a_cell_is_one_line_without_a_bare_pipe(value: object, expected: str) -> None:
    assert cell(value) == expected


def test_escaping_applies_to_header_and_rows() -> None:
    table = markdown_table(["a|b"], [["line\nbreak | pipe"]])
    assert table == "| a\\|b |\n|---|\n| line break \\| pipe |"


@pytest.mark.parametrize("align", ["l", "lrc"])
def test_align_needs_one_letter_per_column(align: str) -> None:
    with pytest.raises(ValueError, match="one letter per column"):
        markdown_table(["a", "b"], [], align=align)


@pytest.mark.parametrize("align", ["lx", "R-", "<>"])
def test_unknown_align_letters_are_refused(align: str) -> None:
    with pytest.raises(ValueError, match="letters other than"):
        markdown_table(["a", "b"], [], align=align)


@pytest.mark.parametrize("row", [["only one"], ["one", "two", "three"], []])
def test_a_row_must_have_one_cell_per_column(row: list[str]) -> None:
    with pytest.raises(ValueError, match=f"has {len(row)} cells; the header has 2"):
        markdown_table(["a", "b"], [["fine", "row"], row])
