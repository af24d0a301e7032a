"""The handler runs in a child execution environment, as in Lambda: stopped at its timeout.

A handler module written by the test sleeps, spins, exits or raises on demand. The twin must
answer API Gateway's 502 at the deadline while the handler would still run (not after it returns),
replace the environment so the next invocation is a cold start (a new process that imports the
handler again), keep the environment after an ordinary exception, and retry a failed Init.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from challenge_neuralworks.local.app import GatewayApp
from challenge_neuralworks.local.config import DEFAULT_API_KEY, GatewayConfig
from challenge_neuralworks.local.testing import serve_in_thread
from challenge_neuralworks.routes import Route

HEADERS = {"x-api-key": DEFAULT_API_KEY}
INTERNAL_ERROR = {"message": "Internal server error"}
ROUTES = tuple(
    Route("GET", f"/{name}", name, name)
    for name in ("whoami", "sleep", "spin", "exit", "raise", "wait")
)
HANDLER = textwrap.dedent(
    """
    import json
    import os
    import time

    IMPORTED_AT = time.time()


    def lambda_handler(event, context):
        action = event["resource"]
        if action == "/sleep":
            time.sleep(3600)
        elif action == "/spin":
            while True:
                pass
        elif action == "/exit":
            os._exit(3)
        elif action == "/raise":
            raise ValueError("boom from the runtime")
        elif action == "/wait":  # until the test releases it
            folder = event["queryStringParameters"]["folder"]
            open(os.path.join(folder, "started"), "w").close()
            while not os.path.exists(os.path.join(folder, "release")):
                time.sleep(0.01)
        body = {
            "pid": os.getpid(),
            "imported_at": IMPORTED_AT,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "request_id": context.aws_request_id,
            "function_name": context.function_name,
        }
        return {"statusCode": 200, "body": json.dumps(body)}
    """
)


@pytest.fixture(scope="module")
def handler_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("execution")
    (directory / "twin_execution_handler.py").write_text(HANDLER, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(directory))  # the runtime imports what this process could
        yield directory


@pytest.fixture(scope="module")
def client(handler_dir: Path) -> Iterator[httpx.Client]:
    config = GatewayConfig(handler="twin_execution_handler.lambda_handler", timeout_ms=1_000)
    with (
        serve_in_thread(GatewayApp(config, routes=ROUTES)) as url,
        httpx.Client(base_url=f"{url}/dev", headers=HEADERS, timeout=60) as http,
    ):
        yield http


def whoami(client: httpx.Client) -> dict:
    response = client.get("/whoami")
    assert response.status_code == 200, response.text
    return response.json()


def failed_call(client: httpx.Client, path: str, caplog: pytest.LogCaptureFixture) -> str:
    """``GET path``, which must be API Gateway's 502; the twin's log for it."""
    with caplog.at_level(logging.ERROR, logger="challenge_neuralworks.local"):
        response = client.get(path)
    assert response.status_code == 502
    assert response.json() == INTERNAL_ERROR
    assert response.headers["x-amzn-ErrorType"] == "InternalServerErrorException"
    return "\n".join(r.getMessage() for r in caplog.records)


def test_the_handler_runs_in_another_process_with_lambdas_context(client: httpx.Client) -> None:
    first = whoami(client)
    assert first["pid"] != os.getpid()
    assert 0 < first["remaining_ms"] <= 1_000
    assert first["function_name"] == "cnw-dev"
    assert len(first["request_id"]) == 36
    second = whoami(client)
    assert (second["pid"], second["imported_at"]) == (first["pid"], first["imported_at"])
    assert second["request_id"] != first["request_id"]


@pytest.mark.parametrize("action", ["/sleep", "/spin"])
def test_a_handler_past_its_timeout_is_stopped_and_the_next_call_is_a_cold_start(
    client: httpx.Client, action: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = whoami(client)
    # The handler would run for an hour (or forever) if it were not stopped.
    assert "Task timed out after 1.00 seconds" in failed_call(client, action, caplog)
    after = whoami(client)
    assert after["pid"] != before["pid"]
    assert after["imported_at"] > before["imported_at"]  # imported again: a cold start
    assert _gone(before["pid"])  # killed and reaped, not left running


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited and been reaped (polls with a generous deadline)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _exists(path: Path) -> bool:
    deadline = time.monotonic() + 60
    while not path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_the_gateway_keeps_serving_while_a_handler_runs(handler_dir: Path, tmp_path: Path) -> None:
    config = GatewayConfig(handler="twin_execution_handler.lambda_handler", timeout_ms=25_000)
    with (
        serve_in_thread(GatewayApp(config, routes=ROUTES)) as url,
        concurrent.futures.ThreadPoolExecutor(1) as pool,
    ):
        busy = pool.submit(
            httpx.get,
            f"{url}/dev/wait",
            params={"folder": str(tmp_path)},
            headers=HEADERS,
            timeout=60,
        )
        assert _exists(tmp_path / "started")  # the handler is running now
        docs = httpx.get(f"{url}/dev/openapi.yaml", timeout=60)
        assert docs.status_code == 200
        assert not busy.done()  # answered while the handler was still busy
        (tmp_path / "release").touch()
        assert busy.result().status_code == 200


def test_a_runtime_that_exits_is_a_502_and_a_cold_start(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    before = whoami(client)
    assert "Runtime exited (status 3" in failed_call(client, "/exit", caplog)
    assert whoami(client)["pid"] != before["pid"]


def test_an_exception_is_a_502_and_the_environment_is_kept(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    before = whoami(client)
    logged = failed_call(client, "/raise", caplog)
    assert "ValueError: boom from the runtime" in logged
    assert "twin_execution_handler.py" in logged  # the runtime's traceback reaches the log
    assert whoami(client)["pid"] == before["pid"]


def test_a_failed_init_is_retried_by_the_next_invocation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    module = tmp_path / "twin_init_handler.py"
    module.write_text("raise RuntimeError('not ready yet')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = GatewayConfig(handler="twin_init_handler.lambda_handler")
    with (
        caplog.at_level(logging.ERROR, logger="challenge_neuralworks.local"),
        serve_in_thread(GatewayApp(config, routes=ROUTES)) as url,
    ):
        response = httpx.get(f"{url}/dev/whoami", headers=HEADERS, timeout=60)
        assert response.status_code == 502
        assert any("cannot import the handler" in r.getMessage() for r in caplog.records)
        assert any("RuntimeError: not ready yet" in r.getMessage() for r in caplog.records)
        module.write_text(HANDLER, encoding="utf-8")
        assert httpx.get(f"{url}/dev/whoami", headers=HEADERS, timeout=60).status_code == 200


def test_an_init_past_lambdas_init_limit_is_a_502(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "twin_slow_init.py").write_text("import time\ntime.sleep(3600)\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = GatewayConfig(handler="twin_slow_init.lambda_handler", init_timeout_ms=1_000)
    with (
        caplog.at_level(logging.ERROR, logger="challenge_neuralworks.local"),
        serve_in_thread(GatewayApp(config, routes=ROUTES)) as url,
    ):
        response = httpx.get(f"{url}/dev/whoami", headers=HEADERS, timeout=60)
    assert response.status_code == 502
    assert any(
        "did not initialise within Lambda's 1 s Init" in r.getMessage() for r in caplog.records
    )
