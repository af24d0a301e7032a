"""``python -m challenge_neuralworks serve`` as a developer runs it: a real process, real HTTP.

Checks the startup banner (URL, key, a curl line that works when pasted), what ``serve`` hands
the handler through the environment (``--models-dir``, ``--stage``, ``--capture-dir``), and that
with several workers a key's burst holds for the whole server, not per worker. The server is
always stopped, with its session (workers, execution environments), by the twin's harness.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from challenge_neuralworks import environment
from challenge_neuralworks.local.samples import EXAMPLE_FLIGHT
from challenge_neuralworks.local.testing import REPO, ServeProcess, running_serve

PROBE = "probe-key-000000000000001"
LIMITED = "limited-key-0000000000002"
HANDLER = textwrap.dedent(
    """
    import json
    import os


    def lambda_handler(event, context):
        body = {
            "pid": os.getpid(),
            "models_dir": os.environ.get("CNW_MODELS_DIR"),
            "stage": os.environ.get("CNW_STAGE"),
            "capture_dir": os.environ.get("CNW_CAPTURE_DIR"),
            "body": event["body"],
            "headers": event["headers"],
        }
        return {"statusCode": 200, "body": json.dumps(body)}
    """
)
CONFIG = f"""
[usage_plans.limited]
rate = 0.001
burst = 5

[[api_keys]]
name = "probe"
value = "{PROBE}"

[[api_keys]]
name = "limited"
value = "{LIMITED}"
usage_plan = "limited"
"""


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """Start ``serve`` with the test handler; every server started is stopped at the end."""
    (tmp_path / "serve_test_handler.py").write_text(HANDLER, encoding="utf-8")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    numbers = itertools.count()
    with contextlib.ExitStack() as stack:

        def start(
            *options: str, ready_key: str = "local-dev-key", stage: str = "dev"
        ) -> ServeProcess:
            log = tmp_path / f"serve-{next(numbers)}.log"
            return stack.enter_context(
                running_serve(
                    "--handler",
                    "serve_test_handler.lambda_handler",
                    *options,
                    log_path=log,
                    env={**env, environment.API_KEY: ""},
                    ready_key=ready_key,
                    stage=stage,
                )
            )

        yield start


def test_banner_curl_line_works_when_pasted(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    served = serve("--models-dir", str(tmp_path))
    output = served.output()
    assert f"URL:      {served.url}/dev" in output
    assert "local-dev-key (development key, not a secret)" in output
    curl_lines = [line.strip() for line in output.splitlines() if line.strip().startswith("curl ")]
    assert len(curl_lines) == 1
    words = shlex.split(curl_lines[0])
    assert words[:5] == ["curl", "-sS", "-X", "POST", f"{served.url}/dev/inference/delay"]
    headers = dict(words[i + 1].split(": ", 1) for i, word in enumerate(words) if word == "-H")
    data = words[words.index("-d") + 1]
    response = httpx.post(words[4], headers=headers, content=data.encode(), timeout=10)
    assert response.status_code == 200
    received = response.json()
    assert json.loads(received["body"]) == EXAMPLE_FLIGHT
    assert received["headers"]["content-type"] == "application/json"
    assert received["models_dir"] == str(tmp_path.resolve())


def test_stage_and_capture_dir_reach_the_handler(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    capture = tmp_path / "captures"
    served = serve("--stage", "qa", "--capture-dir", str(capture), stage="qa")
    received = httpx.get(
        f"{served.base_url}/health", headers={"x-api-key": "local-dev-key"}, timeout=10
    ).json()
    assert received["stage"] == "qa"
    assert received["capture_dir"] == str(capture.resolve())
    assert capture.is_dir()
    assert httpx.get(f"{served.url}/dev/health", timeout=10).status_code == 403


def test_bad_configuration_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "challenge_neuralworks", "serve", "--quota", "10/year"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "quota" in result.stderr


def test_two_workers_share_each_keys_burst(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(CONFIG, encoding="utf-8")
    served = serve("--workers", "2", "--config", str(config), ready_key=PROBE)
    output = served.output()
    assert "2 worker(s)" in output
    assert "workers share one token bucket" in output
    shared_path = output.split("in shared memory ", 1)[1].split()[0]
    assert Path(shared_path).exists()

    probe_pids: set[int] = set()
    limited = []
    for _ in range(300):  # fresh connections, so the kernel spreads them over both workers
        with httpx.Client(base_url=served.url, timeout=10) as client:
            probe = client.get("/dev/health", headers={"x-api-key": PROBE})
            probe_pids.add(probe.json()["pid"])
        with httpx.Client(base_url=served.url, timeout=10) as client:
            limited.append(client.get("/dev/health", headers={"x-api-key": LIMITED}).status_code)
        if len(probe_pids) == 2 and len(limited) >= 20:
            break
    assert len(probe_pids) == 2, "the requests never reached both workers"
    assert limited.count(200) == 5
    assert limited.count(429) == len(limited) - 5

    served.stop()
    assert not Path(shared_path).exists()
