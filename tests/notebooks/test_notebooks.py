"""The notebooks run top to bottom and reproduce the outputs committed with them.

The committed outputs are documentation (docs/model_card.md quotes them), so a notebook whose
fresh run prints other numbers than the committed file is stale documentation, or a sign that
training stopped being deterministic: both fail here. Images are not compared (their bytes
depend on the font stack), every text output is, with :func:`text_mismatch`: every word and
every integer exactly, every decimal number within a last-digit tolerance, because another
machine's BLAS, libm or CPU may move the last printed digit of a metric without anything being
wrong (the notebooks' own asserts pin the decisions).

Refresh the committed notebooks after a deliberate change with
``.venv/bin/python tests/notebooks/test_notebooks.py`` (executes them in place and prints the
run time of each).
"""

from __future__ import annotations

import difflib
import re
import sys
import time
from pathlib import Path
from typing import Final

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL = "python3"
#: Per cell; a safety net against a hung kernel, not a performance target. The training cells
#: take minutes on a quiet machine and many times that beside other jobs (900 s was reached),
#: so the net is the CI job's own limit (60 minutes): no cell that runs longer can pass anyway.
CELL_TIMEOUT_SECONDS = 3600

#: A printed number: optional sign, digits with an optional fraction, optional exponent.
NUMBER: Final = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
#: Runs of spaces: a table's column padding, which follows the width of the numbers in it.
PADDING: Final = re.compile(r" +")
#: Decimal numbers below this magnitude may differ by ABSOLUTE_TOLERANCE, larger ones by
#: RELATIVE_TOLERANCE of their size; a 4-decimal metric's last-digit noise is well inside.
ABSOLUTE_LIMIT: Final = 10.0
ABSOLUTE_TOLERANCE: Final = 2e-3
RELATIVE_TOLERANCE: Final = 1e-3
#: Merged stream outputs are compared in this order (see :func:`output_texts`).
STREAM_ORDER: Final = {"stdout": 0, "stderr": 1}


def ensure_kernel() -> None:
    """Install the ``python3`` kernelspec of this interpreter if Jupyter cannot find one
    (CI starts from a fresh machine; ipykernel's wheel usually ships it into the venv)."""
    from jupyter_client.kernelspec import KernelSpecManager

    if KERNEL not in KernelSpecManager().find_kernel_specs():
        from ipykernel.kernelspec import install

        install(kernel_name=KERNEL, prefix=sys.prefix)


def execute(path: Path) -> nbformat.NotebookNode:
    """Run a notebook in its own directory; no timing metadata, so reruns are identical."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name=KERNEL,
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    notebook.metadata["kernelspec"] = {
        "name": KERNEL,
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    return notebook


def text_outputs(notebook: nbformat.NotebookNode) -> list[str]:
    """Every code cell's text (streams, plain-text results, errors), in cell order."""
    return [
        "\n".join(output_texts(cell.get("outputs", [])))
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]


def output_texts(outputs: list[nbformat.NotebookNode]) -> list[str]:
    """One cell's outputs as text, each run of consecutive stream outputs merged per stream.

    How a kernel cuts what a cell prints is not the notebook's doing: ipykernel sends a stream
    when its flush timer fires (every 0.2 s) or a display needs it, so on a busy machine one
    ``print`` loop arrives as two stdout outputs, and stdout and stderr, flushed separately,
    arrive in either order. Between two rich outputs the text of each stream is therefore
    joined, stdout first; a display still orders the text printed before and after it
    (ipykernel flushes the streams before every display and result).
    """
    parts: list[str] = []
    streams: dict[str, str] = {}

    def end_streams() -> None:
        for name in sorted(streams, key=lambda n: (STREAM_ORDER.get(n, len(STREAM_ORDER)), n)):
            parts.append(f"[{name}] {streams[name]}")
        streams.clear()

    for output in outputs:
        if output.output_type == "stream":
            streams[output.name] = streams.get(output.name, "") + output.text
            continue
        end_streams()
        if output.output_type in ("execute_result", "display_data"):
            parts.append(output.get("data", {}).get("text/plain", ""))
        elif output.output_type == "error":
            parts.append(f"[error] {output.ename}: {output.evalue}")
    end_streams()
    return parts


def numbers_match(old: str, new: str) -> bool:
    """Integers (row counts, dates, sizes) exactly; decimals within the last-digit tolerance."""
    if "." not in old + new and "e" not in (old + new).lower():
        return int(old) == int(new)
    a, b = float(old), float(new)
    size = max(abs(a), abs(b))
    tolerance = ABSOLUTE_TOLERANCE if size < ABSOLUTE_LIMIT else RELATIVE_TOLERANCE * size
    return abs(a - b) <= tolerance


def text_mismatch(old: str, new: str) -> str | None:
    """Why ``new`` is not ``old`` up to number noise, or ``None`` when it is the same.

    The texts are cut into number tokens and the text between them. The text between must be
    equal, except for the length of runs of spaces (a number printed one digit longer shifts a
    table's columns); the numbers must pair up one to one and match (:func:`numbers_match`).
    """
    old_numbers, new_numbers = NUMBER.findall(old), NUMBER.findall(new)
    if len(old_numbers) != len(new_numbers):
        return f"{len(old_numbers)} numbers became {len(new_numbers)}"
    for before, after in zip(NUMBER.split(old), NUMBER.split(new), strict=True):
        if PADDING.sub(" ", before) != PADDING.sub(" ", after):
            return f"text {before!r} became {after!r}"
    for before, after in zip(old_numbers, new_numbers, strict=True):
        if not numbers_match(before, after):
            return f"number {before} became {after}"
    return None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("roc_auc 0.6835  pr_auc 0.3790", "roc_auc 0.6836  pr_auc 0.3789"),
        ("Brier -0.00106 (skill 0.074)", "Brier -0.00107 (skill 0.075)"),
        (
            "temporal   0.679  0.6733\nrandom    0.7373  0.7338",
            "temporal  0.6791  0.6733\nrandom    0.7373  0.7338",
        ),
        ("log loss 1234.5", "log loss 1235.4"),
        ("2017-01-01 00:15:00, 45698 rows", "2017-01-01 00:15:00, 45698 rows"),
    ],
)
def test_number_noise_is_tolerated(old: str, new: str) -> None:
    assert text_mismatch(old, new) is None


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("roc_auc 0.6835", "roc_auc 0.6935", "number 0.6835 became 0.6935"),
        ("Brier -0.00106", "Brier 0.00906", "number -0.00106 became 0.00906"),
        (
            "kept: better T",
            "rejected: better T",
            "text 'kept: better T' became 'rejected: better T'",
        ),
        ("45698 rows", "45699 rows", "number 45698 became 45699"),
        ("log loss 1234.5", "log loss 1236.0", "number 1234.5 became 1236.0"),
        ("0.6835 0.3790", "0.6835", "2 numbers became 1"),
        ("0.6835  0.3790", "0.6835\t0.3790", "text '  ' became '\\t'"),
    ],
)
def test_moved_numbers_and_changed_words_fail(old: str, new: str, reason: str) -> None:
    assert text_mismatch(old, new) == reason


def _stream(name: str, text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name=name, text=text)


FIGURE = nbformat.v4.new_output("display_data", data={"text/plain": "<Figure size 640x480>"})


@pytest.mark.parametrize(
    ("cut", "whole"),
    [
        (
            [_stream("stdout", "roc_auc 0.6835\n"), _stream("stdout", "pr_auc 0.3790\n")],
            [_stream("stdout", "roc_auc 0.6835\npr_auc 0.3790\n")],
        ),
        (
            [_stream("stdout", "a "), _stream("stderr", "warning\n"), _stream("stdout", "b\n")],
            [_stream("stderr", "warning\n"), _stream("stdout", "a b\n")],
        ),
        (
            [_stream("stdout", "x"), _stream("stdout", "y"), FIGURE, _stream("stdout", "z")],
            [_stream("stdout", "xy"), FIGURE, _stream("stdout", "z")],
        ),
    ],
)
def test_a_stream_cut_into_outputs_reads_as_one(
    cut: list[nbformat.NotebookNode], whole: list[nbformat.NotebookNode]
) -> None:
    assert output_texts(cut) == output_texts(whole)


def test_text_on_the_other_side_of_a_display_is_a_change() -> None:
    before = [_stream("stdout", "a\n"), FIGURE, _stream("stdout", "b\n")]
    after = [_stream("stdout", "a\nb\n"), FIGURE]
    assert output_texts(before) != output_texts(after)


@pytest.fixture(scope="module")
def kernel() -> str:
    ensure_kernel()
    return KERNEL


def test_there_are_notebooks() -> None:
    names = [path.name for path in NOTEBOOKS]
    assert names == ["01_exploration_and_model_choice.ipynb", "02_improvements.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_is_executed_in_order(path: Path) -> None:
    """The docs show outputs: every code cell ran, once, top to bottom, without errors."""
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code cells"
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    for cell in code:
        assert all(output.output_type != "error" for output in cell.outputs)
        assert "execution" not in cell.metadata, "timing metadata makes every rerun a diff"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_reruns_to_its_committed_outputs(kernel: str, path: Path) -> None:
    committed = text_outputs(nbformat.read(path, as_version=4))
    fresh = text_outputs(execute(path))
    assert len(fresh) == len(committed)
    for number, (old, new) in enumerate(zip(committed, fresh, strict=True), start=1):
        mismatch = text_mismatch(old, new)
        diff = "\n".join(
            difflib.unified_diff(old.splitlines(), new.splitlines(), "committed", "fresh", n=1)
        )
        assert mismatch is None, (
            f"{path.name}, code cell {number}: the fresh run differs from the committed output"
            f" beyond last-digit noise ({mismatch}; refresh with"
            " `python tests/notebooks/test_notebooks.py` if intended)"
            f"\n{diff}"
        )


def refresh() -> None:
    """Execute every notebook in place (the committed, executed form)."""
    ensure_kernel()
    for path in NOTEBOOKS:
        started = time.perf_counter()
        notebook = execute(path)
        nbformat.write(notebook, path)
        print(f"{path.name}: executed in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    refresh()
