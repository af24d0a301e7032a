"""The locust suite, run for real: headless, its own process, against a twin on a free port.

Every run here is sized by a number of requests (``--stop-after-requests``), never by a time
window: how many requests fit in a few seconds depends on how busy the machine is. The run
time given to locust is only a deadline that a working run never reaches.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

from stress_test import locust_run
from stress_test.twin import REPO, running_twin

#: Enough that every asserted kind shows up: P(no "invalid", 5 % of tasks) = 0.95**400 ~ 1e-9.
SMOKE_REQUESTS = 400
FORBIDDEN_REQUESTS = 200
#: A deadline for a few hundred requests, not a measurement: only a hung run reaches it.
DEADLINE_S = 600
#: locust's printed summary (stderr), first table: "Aggregated   275 275(100.00%) | ...".
SUMMARY_TOTAL = re.compile(r"^\s+Aggregated\s+(\d+)\s+(\d+)\(", re.MULTILINE)


def test_locust_smoke_run_records_every_kind_and_no_failure(tmp_path: Path) -> None:
    code = locust_run.main(
        [
            "--requests",
            str(SMOKE_REQUESTS),
            "--duration",
            str(DEADLINE_S),
            "--users",
            "4",
            "--spawn-rate",
            "4",
            "--workers",
            "1",
            "--out-dir",
            str(tmp_path),
            "--name",
            "smoke",
        ]
    )
    stats = locust_run.read_stats(tmp_path / "smoke")
    assert code == 0, locust_run.problems(stats, requests=SMOKE_REQUESTS)
    total = stats["Aggregated"]
    assert total["Request Count"] >= SMOKE_REQUESTS
    assert total["Failure Count"] == 0
    for kind in ("single", "batch", "invalid (400 expected)"):
        assert stats[kind]["Request Count"] > 0, kind
        assert stats[kind]["Failure Count"] == 0, kind
    # locust appends one history row per tick of its writer (wall clock): how many a run gets
    # is locust's business; each row is the run's cumulative count at that tick.
    history = list(csv.DictReader((tmp_path / "smoke_stats_history.csv").open()))
    counts = [int(row["Total Request Count"]) for row in history]
    assert counts, "locust wrote no history row"
    assert counts == sorted(counts)
    assert counts[-1] <= total["Request Count"]
    assert (tmp_path / "smoke.html").stat().st_size > 0
    summary = json.loads((tmp_path / "smoke.json").read_text())
    assert summary["requests"] == SMOKE_REQUESTS
    assert summary["checks"] == {"problems": [], "passed": True}


def test_locust_counts_wrong_answers_as_failures(tmp_path: Path) -> None:
    """With a key the twin does not know, every answer is 403: all of them must fail.

    locust's ``-t`` is longer than the subprocess timeout, so only the request budget can end
    the run; the CSV must hold the run's final numbers, the ones locust prints."""
    with running_twin(workers=1) as twin:
        command = locust_run.locust_command(
            twin.base_url,
            "not-the-key",
            users=2,
            spawn_rate=2,
            seconds=DEADLINE_S * 6,
            csv_prefix=tmp_path / "forbidden",
            html=None,
            requests=FORBIDDEN_REQUESTS,
        )
        done = subprocess.run(
            command, cwd=REPO, capture_output=True, text=True, timeout=DEADLINE_S, check=False
        )
    assert done.returncode == 1, done.stderr[-2000:]
    stats = locust_run.read_stats(tmp_path / "forbidden")
    total = stats["Aggregated"]
    assert total["Request Count"] >= FORBIDDEN_REQUESTS
    assert total["Failure Count"] == total["Request Count"]
    printed = SUMMARY_TOTAL.search(done.stderr)
    assert printed is not None, done.stderr[-2000:]
    assert (total["Request Count"], total["Failure Count"]) == tuple(map(int, printed.groups()))
    assert "failed requests" in " ".join(locust_run.problems(stats))
    failures = (tmp_path / "forbidden_failures.csv").read_text()
    assert "status 403" in failures
    occurrences = sum(
        int(row["Occurrences"])
        for row in csv.DictReader((tmp_path / "forbidden_failures.csv").open())
    )
    assert occurrences == total["Failure Count"]


def test_problems_name_a_run_that_stopped_short_of_its_requests() -> None:
    row = {"Request Count": 150, "Failure Count": 0}
    stats = {"Aggregated": row, **dict.fromkeys(locust_run.REQUEST_KINDS, row)}
    assert locust_run.problems(stats) == []
    assert locust_run.problems(stats, requests=150) == []
    assert locust_run.problems(stats, requests=400) == ["150 requests before the deadline, not 400"]
