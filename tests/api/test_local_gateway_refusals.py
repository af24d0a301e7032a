"""API Gateway's own answers, over real HTTP: unknown resources, API keys, payload limits, crashes.

Each refusal must keep API Gateway's status, body and ``x-amzn-ErrorType``, and must never reach
the handler; a handler that crashes or answers malformed gets API Gateway's 502, and is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from awslambdaric.lambda_runtime_marshaller import to_json

from challenge_neuralworks.local.app import GatewayApp
from challenge_neuralworks.local.config import DEFAULT_API_KEY, GatewayConfig
from challenge_neuralworks.local.responses import MAX_LAMBDA_PAYLOAD_BYTES, MAX_REQUEST_BYTES
from challenge_neuralworks.local.runtime import MAX_RESPONSE_BYTES
from challenge_neuralworks.local.testing import FakeClock, RecordingHandler, serve_in_thread

HEADERS = {"x-api-key": DEFAULT_API_KEY}
INTERNAL_ERROR = {"message": "Internal server error"}


@pytest.fixture(scope="module")
def handler() -> RecordingHandler:
    return RecordingHandler()


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def base_url(handler: RecordingHandler, clock: FakeClock) -> Iterator[str]:
    with serve_in_thread(GatewayApp(GatewayConfig(), handler, clock=clock)) as url:
        yield url


@pytest.fixture
def client(base_url: str, handler: RecordingHandler) -> Iterator[httpx.Client]:
    handler.reset()
    with httpx.Client(base_url=base_url, timeout=60) as http:
        yield http


def assert_gateway_answer(
    response: httpx.Response, status: int, message: str, error_type: str | None
) -> None:
    assert response.status_code == status
    assert response.json() == {"message": message}
    assert response.headers["content-type"] == "application/json"
    assert response.headers.get("x-amzn-ErrorType") == error_type
    assert response.headers.get("x-amzn-RequestId")


def internal_error_logs(client: httpx.Client, caplog: pytest.LogCaptureFixture) -> list[str]:
    """``GET /dev/health``, which must be API Gateway's 502; the twin's log messages."""
    with caplog.at_level(logging.ERROR, logger="challenge_neuralworks.local"):
        response = client.get("/dev/health", headers=HEADERS)
    assert_gateway_answer(response, 502, "Internal server error", "InternalServerErrorException")
    return [r.getMessage() for r in caplog.records if r.name == "challenge_neuralworks.local"]


@pytest.mark.parametrize(
    "path",
    [
        "/health",  # no stage prefix
        "/inference/delay",
        "/prod/health",  # another stage
        "/dev",
        "/dev/",
        "/dev/nope",
        "/dev/models/",
        "/dev/inference",
        "/dev/inference/",
        "/dev/inference/delay/extra",
        "/dev/health/extra",
        "/DEV/health",
    ],
)
def test_unknown_resources_get_missing_authentication_token(
    client: httpx.Client, handler: RecordingHandler, path: str
) -> None:
    response = client.get(path, headers=HEADERS)
    assert_gateway_answer(
        response, 403, "Missing Authentication Token", "MissingAuthenticationTokenException"
    )
    assert handler.calls == []


def test_unknown_resource_wins_over_a_missing_key(client: httpx.Client) -> None:
    response = client.get("/dev/nope")
    assert response.json() == {"message": "Missing Authentication Token"}


def test_a_method_outside_any_has_no_method_to_match(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    response = client.request("PROPFIND", "/dev/health", headers=HEADERS)
    assert response.json() == {"message": "Missing Authentication Token"}
    assert handler.calls == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-api-key": ""},
        {"x-api-key": "not-a-key"},
        {"x-api-key": DEFAULT_API_KEY.upper()},
        {"authorization": DEFAULT_API_KEY},
    ],
    ids=["missing", "empty", "unknown", "wrong-case", "wrong-header"],
)
def test_requests_without_a_valid_key_are_forbidden(
    client: httpx.Client, handler: RecordingHandler, headers: dict[str, str]
) -> None:
    response = client.post("/dev/inference/delay", json={}, headers=headers)
    assert_gateway_answer(response, 403, "Forbidden", "ForbiddenException")
    assert handler.calls == []


def test_key_in_the_query_string_is_not_a_key(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    response = client.get("/dev/health", params={"x-api-key": DEFAULT_API_KEY})
    assert response.status_code == 403
    assert handler.calls == []


def test_header_name_is_case_insensitive(client: httpx.Client, handler: RecordingHandler) -> None:
    response = client.get("/dev/health", headers={"X-API-Key": DEFAULT_API_KEY})
    assert response.status_code == 200
    assert len(handler.calls) == 1


def test_body_over_10_mb_is_refused_at_the_edge(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    response = client.post(
        "/dev/inference/delay", content=b"x" * (MAX_REQUEST_BYTES + 1), headers=HEADERS
    )
    assert response.status_code == 413
    assert response.text == "HTTP content length exceeded 10485760 bytes."
    assert response.headers["content-type"] == "text; charset=utf-8"
    assert handler.calls == []


def test_chunked_body_over_10_mb_is_refused(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    def chunks() -> Iterator[bytes]:
        block = b"x" * (1024 * 1024)
        for _ in range(11):
            yield block

    response = client.post("/dev/inference/delay", content=chunks(), headers=HEADERS)
    assert response.status_code == 413
    assert response.text == "HTTP content length exceeded 10485760 bytes."
    assert handler.calls == []


def test_event_over_lambdas_6_mb_is_request_too_long(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    response = client.post(
        "/dev/inference/delay", content=b"x" * MAX_LAMBDA_PAYLOAD_BYTES, headers=HEADERS
    )
    assert_gateway_answer(response, 413, "Request Too Long", "BadRequestException")
    assert handler.calls == []


def test_body_just_under_the_lambda_limit_reaches_the_handler(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    body = b"y" * (MAX_LAMBDA_PAYLOAD_BYTES - 64 * 1024)
    response = client.post("/dev/inference/delay", content=body, headers=HEADERS)
    assert response.status_code == 200
    assert handler.last_event["body"] == body.decode()


def test_handler_exception_is_a_502_and_is_logged(
    client: httpx.Client, handler: RecordingHandler, caplog: pytest.LogCaptureFixture
) -> None:
    def crash(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("boom in the handler")

    handler.respond = crash
    with caplog.at_level(logging.ERROR, logger="challenge_neuralworks.local"):
        response = client.get("/dev/health", headers=HEADERS)
    assert_gateway_answer(response, 502, "Internal server error", "InternalServerErrorException")
    assert response.content == b'{"message": "Internal server error"}'
    crash_logs = [r for r in caplog.records if r.name == "challenge_neuralworks.local"]
    assert crash_logs
    assert crash_logs[-1].exc_info is not None
    assert "boom in the handler" in str(crash_logs[-1].exc_info[1])
    assert response.headers["x-amzn-RequestId"] in crash_logs[-1].getMessage()


@pytest.mark.parametrize(
    "result",
    [
        None,
        "a string",
        {"body": "no status"},
        {"statusCode": 99, "body": ""},
        {"statusCode": True, "body": ""},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "body": "", "unexpected": 1},
        {"statusCode": 200, "headers": {"x-list": ["a"]}},
        {"statusCode": 200, "headers": ["not", "an", "object"]},
        {"statusCode": 200, "multiValueHeaders": {"x": "not-a-list"}},
        {"statusCode": 200, "headers": {"x-bad": "line\r\nbreak"}},
    ],
)
def test_malformed_proxy_response_is_a_502(
    client: httpx.Client, handler: RecordingHandler, result: Any, caplog: pytest.LogCaptureFixture
) -> None:
    handler.respond = lambda event, context: result
    logs = internal_error_logs(client, caplog)
    assert any("malformed Lambda proxy response" in message for message in logs)


def test_invalid_base64_body_is_a_configuration_error(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    handler.respond = lambda event, context: {
        "statusCode": 200,
        "body": "not base64!",
        "isBase64Encoded": True,
    }
    response = client.get("/dev/health", headers=HEADERS)
    assert_gateway_answer(response, 500, "Internal server error", "InternalServerErrorException")


def _response_of_json_size(size: int, char: str = "z") -> dict[str, Any]:
    """A proxy response whose JSON, as awslambdaric marshals it, is ``size`` bytes long."""
    overhead = len(to_json({"statusCode": 200, "body": ""}))
    escaped = len(to_json(char)) - 2  # "é" is marshalled as \u00e9 (6 bytes)
    count, rest = divmod(size - overhead, escaped)
    return {"statusCode": 200, "body": char * count + "z" * rest}


def test_response_json_over_lambdas_limit_is_a_502(
    client: httpx.Client, handler: RecordingHandler, caplog: pytest.LogCaptureFixture
) -> None:
    # Lambda measures the JSON its runtime posts (6,291,556 bytes at most), not the body.
    handler.respond = lambda event, context: _response_of_json_size(MAX_RESPONSE_BYTES)
    response = client.get("/dev/health", headers=HEADERS)
    assert response.status_code == 200
    assert len(response.content) == MAX_RESPONSE_BYTES - len(
        to_json({"statusCode": 200, "body": ""})
    )
    handler.respond = lambda event, context: _response_of_json_size(MAX_RESPONSE_BYTES + 1)
    logs = internal_error_logs(client, caplog)
    assert any("6291557 bytes exceeds Lambda's limit" in message for message in logs)


def test_non_ascii_body_counts_as_the_runtime_escapes_it(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    # 1.1 M "é": 2.2 MB of UTF-8 in the HTTP answer, but 6.6 MB of \u00e9 in the Lambda JSON.
    handler.respond = lambda event, context: {"statusCode": 200, "body": "é" * 1_100_000}
    assert client.get("/dev/health", headers=HEADERS).status_code == 502
    handler.respond = lambda event, context: {"statusCode": 200, "body": "é" * 1_000_000}
    response = client.get("/dev/health", headers=HEADERS)
    assert response.status_code == 200
    assert len(response.content) == 2_000_000


def test_answer_that_is_not_json_serialisable_is_a_502(
    client: httpx.Client, handler: RecordingHandler, caplog: pytest.LogCaptureFixture
) -> None:
    handler.respond = lambda event, context: {"statusCode": 200, "body": object()}
    assert any("Runtime.MarshalError" in message for message in internal_error_logs(client, caplog))


def test_an_answer_is_read_back_as_the_runtime_marshals_it(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    # awslambdaric encodes a Decimal as a JSON number: API Gateway reads statusCode 201.
    handler.respond = lambda event, context: {"statusCode": Decimal(201), "body": "made"}
    response = client.get("/dev/health", headers=HEADERS)
    assert (response.status_code, response.text) == (201, "made")


def test_binary_body_is_counted_base64_encoded_against_lambdas_limit(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    # 4.8 MB that is not UTF-8 becomes 6.4 MB of base64 in the event: over Lambda's 6 MiB.
    body = b"\xff" * 4_800_000
    response = client.post("/dev/inference/delay", content=body, headers=HEADERS)
    assert_gateway_answer(response, 413, "Request Too Long", "BadRequestException")
    assert handler.calls == []
    body = b"\xff" * 4_500_000  # 6.0 MB of base64: the event still fits
    response = client.post("/dev/inference/delay", content=body, headers=HEADERS)
    assert response.status_code == 200
    assert handler.last_event["isBase64Encoded"] is True


def test_handler_slower_than_its_lambda_timeout_is_a_502(
    client: httpx.Client,
    handler: RecordingHandler,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    remaining = []

    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        remaining.append(context.get_remaining_time_in_millis())
        clock.advance(10.5)
        remaining.append(context.get_remaining_time_in_millis())
        return {"statusCode": 200, "body": "{}"}

    handler.respond = slow
    with caplog.at_level(logging.ERROR, logger="challenge_neuralworks.local"):
        response = client.get("/dev/health", headers=HEADERS)
    assert remaining == [10_000, 0]
    assert_gateway_answer(response, 502, "Internal server error", "InternalServerErrorException")
    assert any("Task timed out after 10.00 seconds" in r.getMessage() for r in caplog.records)


def test_handler_within_its_timeout_is_answered(
    client: httpx.Client, handler: RecordingHandler, clock: FakeClock
) -> None:
    def slowish(event: dict[str, Any], context: Any) -> dict[str, Any]:
        clock.advance(9.9)
        return {"statusCode": 200, "body": "{}"}

    handler.respond = slowish
    assert client.get("/dev/health", headers=HEADERS).status_code == 200


def test_handler_that_cannot_be_imported_answers_502(caplog: pytest.LogCaptureFixture) -> None:
    config = GatewayConfig(handler="challenge_neuralworks_no_such_module.lambda_handler")
    with (
        caplog.at_level(logging.ERROR, logger="challenge_neuralworks.local"),
        serve_in_thread(GatewayApp(config)) as url,
    ):
        response = httpx.get(f"{url}/dev/health", headers=HEADERS, timeout=30)
    assert response.status_code == 502
    assert response.json() == INTERNAL_ERROR
    assert any("cannot import the handler" in r.getMessage() for r in caplog.records)
