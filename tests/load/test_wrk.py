"""The wrk side of the stress test: output parsing, the pass/fail rule, and post.lua for real.

The samples in ``data/`` are real wrk 4.1 outputs captured against the local twin: a passing
run, a run with a wrong API key (every answer 403), and a run of 1000-flight batches with a
1 s timeout (socket timeouts).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from stress_test import wrk
from stress_test.run import POST_LUA, write_bodies
from stress_test.twin import running_twin

DATA = Path(__file__).parent / "data"


def sample(name: str) -> str:
    return (DATA / f"wrk_{name}.txt").read_text(encoding="utf-8")


def test_a_passing_run_is_read_completely() -> None:
    result = wrk.parse(sample("passed"))
    assert result["requests"] == 15965
    assert result["duration_s"] == pytest.approx(3.00)
    assert result["requests_per_s"] == pytest.approx(5318.43)
    assert (result["threads"], result["connections"]) == (1, 16)
    assert result["bytes_read"] == pytest.approx(5.70 * 2**20)
    assert result["latency_us"] == pytest.approx(
        {
            "mean": 3170,
            "stdev": 2610,
            "max": 64500,
            "p50": 2930,
            "p75": 3050,
            "p90": 3490,
            "p99": 7460,
        }
    )
    assert result["socket_errors"] == {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    assert result["non_2xx_or_3xx"] == 0
    assert result["script"]["distinct_bodies"] == 5000
    assert result["script"]["latency_us"]["p99_9"] == 45087
    assert wrk.problems(result, min_requests=15000) == []


def test_too_few_requests_fail() -> None:
    found = wrk.problems(wrk.parse(sample("passed")), min_requests=50_000)
    assert found == ["15965 requests, fewer than 50000"]


def test_non_2xx_answers_fail() -> None:
    result = wrk.parse(sample("forbidden"))
    assert result["non_2xx_or_3xx"] == 47692
    found = wrk.problems(result, min_requests=1)
    assert "47692 responses with status >= 400" in found
    assert "47692 responses outside 2xx" in found


def test_socket_timeouts_fail() -> None:
    result = wrk.parse(sample("timeouts"))
    assert result["socket_errors"]["timeout"] == 42
    assert result["latency_us"]["p50"] == pytest.approx(876590)
    assert wrk.problems(result, min_requests=1) == [
        "socket errors {'timeout': 42}",
    ]


def test_a_run_without_the_project_script_fails() -> None:
    text = "\n".join(
        line for line in sample("passed").splitlines() if not line.startswith(wrk.SCRIPT_PREFIX)
    )
    result = wrk.parse(text)
    assert "script" not in result
    assert wrk.problems(result, min_requests=1) == [
        "no CNW_WRK_JSON line: run wrk with stress_test/post.lua"
    ]


def test_non_2xx_seen_only_by_the_script_fails() -> None:
    """A 3xx (or 1xx) is not in wrk's own count; post.lua's response() sees it."""
    result = wrk.parse(sample("passed"))
    result["script"]["non_2xx"] = 3
    assert wrk.problems(result, min_requests=1) == ["3 responses outside 2xx"]


def test_units() -> None:
    assert wrk.to_microseconds("1.50", "m") == 90e6
    assert wrk.to_microseconds("351.00", "us") == 351.0
    assert wrk.to_bytes("2", "KB") == 2048


def test_text_that_is_not_a_wrk_report_is_refused() -> None:
    with pytest.raises(wrk.WrkOutputError):
        wrk.parse("Usage: wrk <options> <url>\n")


@pytest.mark.skipif(
    shutil.which("wrk") is None,
    reason="wrk is not installed (a fresh machine has none; `make stress` installs it with apt)",
)
def test_post_lua_against_the_twin(tmp_path: Path) -> None:
    """Real wrk with post.lua: valid rotating bodies, the key, every answer a 2xx.

    wrk only runs for a duration, so how many requests fit depends on the machine: the test
    asserts what holds at any speed (answers, no failures), not a count per second; the
    challenge's throughput floor is ``make stress``'s verdict. The first prediction (which
    loads the model) is answered before wrk starts, and wrk waits up to a minute per answer
    (its default, 2 s, counts a slow answer on a busy machine as a socket error)."""
    bodies = tmp_path / "bodies.jsonl"
    assert write_bodies(bodies, count=200, batch_size=1) == 200
    lines = bodies.read_text().splitlines()
    assert all(json.loads(line) for line in lines)
    with running_twin(workers=1) as twin:
        url = f"{twin.base_url}/inference/delay"
        warm = httpx.post(
            url,
            content=lines[0].encode(),
            headers={"x-api-key": twin.api_key, "content-type": "application/json"},
            timeout=120,
        )
        assert warm.status_code == 200, warm.text
        done = subprocess.run(
            [
                shutil.which("wrk") or "wrk",
                "-t1",
                "-c4",
                "-d2s",
                "--timeout",
                "60s",
                "--latency",
                "-s",
                str(POST_LUA),
                url,
            ],
            env={**os.environ, "CNW_API_KEY": twin.api_key, "CNW_WRK_BODIES": str(bodies)},
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        )
    result = wrk.parse(done.stdout)
    assert result["requests"] > 0
    assert result["script"]["responses"] == result["requests"]
    assert result["script"]["distinct_bodies"] == 200
    assert wrk.problems(result, min_requests=1) == []
