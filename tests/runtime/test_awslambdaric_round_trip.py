"""The container's entry point, ``python -m awslambdaric <handler>``, against a Runtime API server.

The image cannot be built here (no Docker daemon), so this runs the very command of the
Dockerfile's ENTRYPOINT + CMD as a real process, with only ``AWS_LAMBDA_RUNTIME_API`` set (plus
``CNW_MODELS_DIR`` when the developer overrides the models), from the repository root, and feeds
it the committed API Gateway sample events (``events/``). It proves the handler path, the JSON
(un)marshalling and the process life cycle: answers come back as proxy responses, a handler that
cannot be imported is reported on ``/runtime/init/error`` and the process exits non-zero.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest
from runtime_api import Invocation, RuntimeApiServer

from challenge_neuralworks.environment import MODELS_DIR as MODELS_DIR_ENV
from challenge_neuralworks.local.samples import EVENTS_DIR
from challenge_neuralworks.model import discover

REPO = Path(__file__).resolve().parents[2]
HANDLERS_DIR = Path(__file__).resolve().parent / "handlers"
HANDLER = "challenge_neuralworks.handler.lambda_handler"
#: Deadlines for a hung runtime, not speed targets: the first answer includes the process's
#: start and the handler's imports, which take seconds on a busy machine.
INVOKE_TIMEOUT_S = 180
EXIT_TIMEOUT_S = 60
#: Lambda's longest function timeout: no default of the client could come this close to it.
LONG_TIMEOUT_MS = 900_000


def _event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


@contextmanager
def runtime_client(
    api: RuntimeApiServer, handler: str, log: IO[bytes], *, pythonpath: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start awslambdaric like the image does; always terminate it by PID."""
    env = {"AWS_LAMBDA_RUNTIME_API": api.address}
    if os.environ.get(MODELS_DIR_ENV):
        env[MODELS_DIR_ENV] = os.environ[MODELS_DIR_ENV]
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    process = subprocess.Popen(
        [sys.executable, "-m", "awslambdaric", handler],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=EXIT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=EXIT_TIMEOUT_S)


def invoke(api: RuntimeApiServer, event: Any, log: IO[bytes]) -> Invocation:
    """Queue one event and wait for what the runtime posts back."""
    invocation = api.submit(event)
    if not invocation.done.wait(INVOKE_TIMEOUT_S):
        log.flush()
        output = Path(log.name).read_text(errors="replace")
        raise AssertionError(f"no answer within {INVOKE_TIMEOUT_S} s; runtime output:\n{output}")
    return invocation


def proxy_response(invocation: Invocation) -> tuple[int, dict[str, Any]]:
    """Status and parsed JSON body of a posted proxy response."""
    assert invocation.outcome == "response", invocation.body
    response = invocation.json()
    assert set(response) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["isBase64Encoded"] is False
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def log(tmp_path: Path) -> Iterator[IO[bytes]]:
    with (tmp_path / "runtime.log").open("wb") as handle:
        yield handle


def test_the_project_handler_round_trips_api_gateway_events(log: IO[bytes]) -> None:
    with RuntimeApiServer() as api, runtime_client(api, HANDLER, log) as process:
        status, body = proxy_response(invoke(api, _event("inference_delay_single"), log))
        assert status == 200, body  # a 404 here means no artifacts: `make train`
        p_no_delay, p_delay = body["prediction"]
        assert p_no_delay + p_delay == pytest.approx(1.0, abs=1e-6)
        assert body["model"] == "delay"
        assert body["delayed"] == (p_delay >= body["threshold"])

        status, batch = proxy_response(invoke(api, _event("inference_delay_batch"), log))
        assert status == 200
        assert len(batch["predictions"]) == 2
        assert batch["predictions"][0]["prediction"] == body["prediction"]  # same flight first

        status, error = proxy_response(invoke(api, _event("inference_delay_invalid_month"), log))
        assert status == 400
        assert error["error"]["code"] == "out_of_range"
        assert error["error"]["field"] == "MES-I"
        assert error["error"]["allowed"] == list(range(1, 13))

        status, error = proxy_response(invoke(api, _event("inference_unknown_model"), log))
        assert status == 404
        assert error["error"]["code"] == "model_not_found"
        assert error["error"]["allowed"] == sorted(discover())  # the committed models

        status, listing = proxy_response(invoke(api, _event("models_list"), log))
        assert status == 200
        assert [m["name"] for m in listing["models"]] == sorted(discover())
        assert all(m["status"] == "available" and m["version"] for m in listing["models"])

        status, health = proxy_response(invoke(api, _event("health"), log))
        assert status == 200
        assert health["models"]["delay"] == "loaded"  # the warm container kept the model
        assert process.poll() is None, "the runtime must keep polling for the next event"
        assert not api.init_errors


def test_runtime_context_comes_from_the_next_headers(log: IO[bytes]) -> None:
    with (
        RuntimeApiServer(timeout_ms=LONG_TIMEOUT_MS) as api,
        runtime_client(api, "probe.echo_context", log, pythonpath=HANDLERS_DIR),
    ):
        event = _event("health")
        invocation = invoke(api, event, log)
        assert invocation.outcome == "response"
        echoed = invocation.json()
        assert echoed["event"] == event
        assert echoed["aws_request_id"] == invocation.request_id
        assert echoed["invoked_function_arn"] == api.function_arn
        # the context's deadline is the header's: the handler read it within a minute (a
        # deadline, not a measurement) of taking the event
        assert LONG_TIMEOUT_MS - 60_000 < echoed["remaining_ms"] <= LONG_TIMEOUT_MS
        assert echoed["trace_id"] == invocation.trace_id


def test_a_raising_handler_is_reported_on_the_invocation_error_route(log: IO[bytes]) -> None:
    with (
        RuntimeApiServer() as api,
        runtime_client(api, "probe.fail", log, pythonpath=HANDLERS_DIR) as process,
    ):
        invocation = invoke(api, _event("health"), log)
        assert invocation.outcome == "error"
        error = invocation.json()
        assert error["errorType"] == "ProbeFailureError"
        assert invocation.request_id in error["errorMessage"]
        assert any("probe.py" in line for line in error["stackTrace"])
        cause = json.loads(invocation.headers["lambda-runtime-function-xray-error-cause"])
        assert cause["exceptions"][0]["type"] == "ProbeFailureError"
        # one failed invocation does not end the process: the next event is still served
        assert invoke(api, _event("health"), log).outcome == "error"
        assert process.poll() is None


def test_a_handler_that_fails_at_import_posts_init_error_and_exits(log: IO[bytes]) -> None:
    with (
        RuntimeApiServer() as api,
        runtime_client(
            api, "broken_at_import.lambda_handler", log, pythonpath=HANDLERS_DIR
        ) as process,
    ):
        returncode = process.wait(timeout=EXIT_TIMEOUT_S)
        assert returncode != 0
        assert api.init_error_posted.is_set()
        (init_error,) = api.init_errors
        assert init_error.error_type == "RuntimeError"
        assert init_error.body["errorType"] == "RuntimeError"
        assert "configuration check failed" in init_error.body["errorMessage"]
        assert init_error.body["stackTrace"], "the init error must carry the traceback"
