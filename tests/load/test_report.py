"""docs/stress_test.md is generated from the recorded results, never edited by hand."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from stress_test import charts, report
from stress_test.measure import RESULTS_DIR


def test_the_document_is_what_the_results_generate(tmp_path: Path) -> None:
    text = report.build(images=tmp_path)
    assert text == report.DOC.read_text(encoding="utf-8"), (
        "docs/stress_test.md differs from what stress_test/results/ generates: "
        "run `make stress-report`"
    )
    for name in (
        "stress_locust_throughput",
        "stress_locust_latency",
        "stress_latency_distribution",
        "stress_experiments",
    ):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
        assert f"img/{name}.png" in text


def test_throughput_comes_from_the_cumulative_counter(tmp_path: Path) -> None:
    history = tmp_path / "h_stats_history.csv"
    header = (
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,"
        "99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,"
        "Total Average Response Time,Total Min Response Time,Total Max Response Time,"
        "Total Average Content Size"
    )
    rows = [
        "100,0,,Aggregated,0,0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,0,0,0,0,0,0,0",
        "101,4,,Aggregated,0,0,3,3,3,3,4,5,6,7,9,9,9,500,0,3,3,1,9,300",
        "103,8,,Aggregated,250,0,4,4,4,5,6,7,8,9,12,12,12,4500,10,4,4,1,12,300",
        "103,8,,single,250,0,4,4,4,5,6,7,8,9,12,12,12,4000,10,4,4,1,12,300",
    ]
    history.write_text("\n".join([header, *rows]) + "\n")
    points = charts.read_history(history)
    assert [(p["t"], p["users"], p["rps"], p["failures_per_s"]) for p in points] == [
        (1, 4, 500.0, 0.0),
        (3, 8, 2000.0, 5.0),
    ]
    assert points[0]["99%"] == 7.0


# ---------------------------------------------------------------------------- well-formed tables
_SEPARATOR = re.compile(r"^\|(?::?-+:?\|)+$")


def _cells(line: str) -> int:
    """Cells in a table line: pipes not escaped with a backslash, minus the outer ones."""
    return len(re.findall(r"(?<!\\)\|", line)) - 1


def tables(text: str) -> list[list[str]]:
    """Every block of consecutive lines that start with ``|``."""
    blocks: list[list[str]] = []
    previous = False
    for line in text.splitlines():
        is_row = line.startswith("|")
        if is_row and not previous:
            blocks.append([])
        if is_row:
            blocks[-1].append(line)
        previous = is_row
    return blocks


def test_every_table_is_well_formed() -> None:
    found = tables(report.DOC.read_text(encoding="utf-8"))
    assert len(found) >= 9, "the report's tables are not where they were"
    for table in found:
        header, separator, *rows = table
        assert _SEPARATOR.match(separator), table
        assert rows, f"table without rows: {header}"
        for line in table:
            assert line.endswith(" |") or line == separator, line
            assert _cells(line) == _cells(header), (header, line)


def test_the_table_check_catches_a_malformed_table() -> None:
    good = "| a | b |\n|---|---|\n| 1 | 2 |"
    assert _cells("| a \\| b |") == 1
    for broken in (good + "\n| 1 | 2 | 3 |", good.replace("|---|---|", "| --- |")):
        (table,) = tables(broken)
        header, separator, *rows = table
        assert not (
            _SEPARATOR.match(separator) and all(_cells(line) == _cells(header) for line in rows)
        )


# ---------------------------------------------------------------------------- machine facts
def _results_on(tmp_path: Path, machines: dict[str, dict[str, object]]) -> Path:
    """A copy of the committed results whose recorded machine is ``machines[file name]``
    (``"*"`` for every file not named): CPU, cores and memory replaced, the rest kept."""
    results = tmp_path / "results"
    shutil.copytree(RESULTS_DIR, results)
    for path in [*results.glob("*.json"), *results.glob("history/*.json")]:
        data = json.loads(path.read_text(encoding="utf-8"))
        facts = machines.get(path.name, machines["*"])
        for key in ("machine", "machine_before", "machine_after"):
            if key in data:
                data[key] |= facts
        path.write_text(json.dumps(data), encoding="utf-8")
    return results


EIGHT_CORES = {"cpu": "Test CPU 8000", "cores": 8, "memory_gib": 64.0}


def test_machine_facts_are_read_from_the_results(tmp_path: Path) -> None:
    results = _results_on(tmp_path, {"*": EIGHT_CORES})
    text = report.build(images=tmp_path, results=results)
    assert "Test CPU 8000, 8 cores, 64.0 GiB" in text
    assert "on a machine with 8 cores" in text
    assert "8-core machine" in text
    assert "8.0 means all cores fully used" in text
    for hard_coded in ("2 cores", "2-core", "two cores", "both cores", "AMD EPYC", "23.5 GiB"):
        assert hard_coded not in text, f"{hard_coded!r} is not read from the results"
    assert "not all measured on the same machine" not in text


def test_runs_on_different_machines_are_named(tmp_path: Path) -> None:
    four = {"cpu": "Other CPU", "cores": 4, "memory_gib": 16.0}
    results = _results_on(tmp_path, {"*": EIGHT_CORES, "locust.json": four})
    text = report.build(images=tmp_path, results=results)
    assert "on more than one machine" in text
    assert "on a machine with" not in text
    assert "locust, 2 workers and other jobs on 4 cores" in text
    notes = [line for line in text.splitlines() if "not all measured on the same" in line]
    assert len(notes) == 1, "only the machine section compares the locust run with others"
    assert "make stress-locust: Other CPU, 4 cores, 16.0 GiB" in notes[0]
    assert "make stress: Test CPU 8000, 8 cores, 64.0 GiB" in notes[0]


def _headline_row(lines: list[str], figure: str) -> str:
    return next(line for line in lines if line.startswith(f"| {figure}"))


def test_each_target_is_marked_met_or_not_met_against_its_figure() -> None:
    stress = json.loads((RESULTS_DIR / "stress.json").read_text(encoding="utf-8"))
    bench = json.loads((RESULTS_DIR / "bench.json").read_text(encoding="utf-8"))
    single = bench["single"]["handler_p50_us"]
    stress["result"]["requests_per_s"] = 4_999.0
    single["median"] = 150.0
    lines = "\n".join(report.headline(stress, bench)).splitlines()
    assert _headline_row(lines, "requests/s").endswith("| >= 5,000: **not met** |")
    assert _headline_row(lines, "handler alone").endswith("| <= 150 µs: met |")
    stress["result"]["requests_per_s"] = 5_000.0
    single["median"] = 150.1
    stress["result"]["script"]["errors"]["timeout"] = 3
    lines = "\n".join(report.headline(stress, bench)).splitlines()
    assert _headline_row(lines, "requests/s").endswith("| >= 5,000: met |")
    assert _headline_row(lines, "handler alone").endswith("| <= 150 µs: **not met** |")
    assert _headline_row(lines, "timeouts").endswith("| 3 | 0: **not met** |")
