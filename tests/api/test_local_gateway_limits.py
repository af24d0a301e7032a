"""API Gateway's edge limits, HEAD, AWS_IAM routes and the twin-only docs, over real sockets.

Request heads are written byte for byte on raw sockets so that the sizes at the limits are exact:
10,240 bytes of request line pass and one more is a 414; 10,240 bytes of headers pass and one more
is a 431, both in the edge decoder's plain-text shape, and the connection is closed.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from challenge_neuralworks.local.app import GatewayApp
from challenge_neuralworks.local.config import DEFAULT_API_KEY, DEFAULT_INGEST_KEY, GatewayConfig
from challenge_neuralworks.local.docs import OPENAPI_DOCUMENT
from challenge_neuralworks.local.responses import MAX_HEADER_BYTES, MAX_REQUEST_LINE_BYTES
from challenge_neuralworks.local.testing import RecordingHandler, serve_in_thread
from challenge_neuralworks.routes import ROUTES, Route

HEADERS = {"x-api-key": DEFAULT_API_KEY}
#: The API's routes plus an IAM-authorised ingest route, as the lead's POST /departures will be.
TEST_ROUTES = (
    *ROUTES,
    Route("POST", "/departures", "report_departures", "Report departures", "AWS_IAM"),
)
MISSING_TOKEN = {"message": "Missing Authentication Token"}


@pytest.fixture(scope="module")
def twin() -> Iterator[tuple[str, RecordingHandler]]:
    """The twin in front of a recording handler, with an AWS_IAM route among its resources."""
    recording = RecordingHandler()
    with serve_in_thread(GatewayApp(GatewayConfig(), recording, routes=TEST_ROUTES)) as url:
        yield url, recording


@pytest.fixture
def handler(twin: tuple[str, RecordingHandler]) -> RecordingHandler:
    twin[1].reset()
    return twin[1]


@pytest.fixture
def base_url(twin: tuple[str, RecordingHandler], handler: RecordingHandler) -> str:
    return twin[0]


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=60) as http:
        yield http


def raw_exchange(base_url: str, head: bytes) -> bytes:
    """Send ``head`` on a fresh connection; everything the twin answers until it closes."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(head)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def head_with(target: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"GET {target} HTTP/1.1", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def header_bytes(headers: list[tuple[str, str]]) -> int:
    """How the edge counts headers: every ``name: value`` line without its CRLF."""
    return sum(len(name) + 2 + len(value) for name, value in headers)


BASE_HEADERS = [("host", "127.0.0.1"), ("x-api-key", DEFAULT_API_KEY), ("connection", "close")]


@pytest.mark.parametrize(("extra", "status"), [(0, b"200"), (1, b"431")])
def test_headers_are_limited_to_10240_bytes(
    base_url: str, handler: RecordingHandler, extra: int, status: bytes
) -> None:
    padding = MAX_HEADER_BYTES - header_bytes([*BASE_HEADERS, ("x-pad", "")]) + extra
    headers = [*BASE_HEADERS, ("x-pad", "p" * padding)]
    assert header_bytes(headers) == MAX_HEADER_BYTES + extra
    answer = raw_exchange(base_url, head_with("/dev/health", headers))
    assert answer.split(b" ", 2)[1] == status
    if status == b"431":
        assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
        assert answer.endswith(b"\r\n\r\nHTTP header is larger than 10240 bytes.")
        assert b"content-type: text; charset=utf-8" in answer
        assert handler.calls == []
    else:
        assert handler.last_event["headers"]["x-pad"] == "p" * padding


@pytest.mark.parametrize(("extra", "status"), [(0, b"200"), (1, b"414")])
def test_the_request_line_is_limited_to_10240_bytes(
    base_url: str, handler: RecordingHandler, extra: int, status: bytes
) -> None:
    prefix = "/dev/health?q="
    fill = MAX_REQUEST_LINE_BYTES - len(f"GET {prefix} HTTP/1.1") + extra
    target = prefix + "q" * fill
    assert len(f"GET {target} HTTP/1.1") == MAX_REQUEST_LINE_BYTES + extra
    answer = raw_exchange(base_url, head_with(target, BASE_HEADERS))
    assert answer.split(b" ", 2)[1] == status
    if status == b"414":
        assert answer.endswith(b"\r\n\r\nAn HTTP line is larger than 10240 bytes.")
        assert handler.calls == []
    else:
        assert handler.last_event["queryStringParameters"] == {"q": "q" * fill}


def test_a_header_that_never_ends_is_refused_without_buffering_it(
    base_url: str, handler: RecordingHandler
) -> None:
    endless = b"GET /dev/health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-endless: " + b"e" * 200_000
    answer = raw_exchange(base_url, endless)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert handler.calls == []


def test_a_url_far_over_the_limit_is_refused_before_it_ends(
    base_url: str, handler: RecordingHandler
) -> None:
    answer = raw_exchange(base_url, b"GET /dev/health?q=" + b"q" * 100_000)
    assert answer.startswith(b"HTTP/1.1 414 ")
    assert handler.calls == []


def test_head_reaches_the_function_and_gets_its_headers_without_the_body(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    handler.respond = lambda event, context: {
        "statusCode": 200,
        "headers": {"x-from": "function"},
        "body": '{"status": "ok"}',
    }
    response = client.head("/dev/health", headers=HEADERS)
    assert handler.last_event["httpMethod"] == "HEAD"  # the ANY method proxies HEAD
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len('{"status": "ok"}'))
    assert response.headers["x-from"] == "function"


def test_head_refusals_have_no_body_either(client: httpx.Client) -> None:
    response = client.head("/dev/health")
    assert response.status_code == 403
    assert response.content == b""
    assert response.headers["x-amzn-ErrorType"] == "ForbiddenException"


def test_a_head_answer_too_large_for_lambda_is_still_a_502(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    # The function's body is dropped on the wire, but Lambda has already refused its size.
    handler.respond = lambda event, context: {"statusCode": 200, "body": "z" * 6_300_000}
    assert client.head("/dev/health", headers=HEADERS).status_code == 502


def test_an_iam_route_without_a_signature_is_missing_authentication_token(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    response = client.post("/dev/departures", json={}, headers=HEADERS)
    assert response.status_code == 403
    assert response.json() == MISSING_TOKEN
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert handler.calls == []


def test_an_iam_route_with_a_wrong_signature_is_an_invalid_signature(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    response = client.post(
        "/dev/departures", json={}, headers={**HEADERS, "x-ingest-key": "not-the-key"}
    )
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert response.json()["message"].startswith("The request signature we calculated")
    assert handler.calls == []


def test_an_iam_route_needs_the_api_key_as_well(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    response = client.post("/dev/departures", json={}, headers={"x-ingest-key": DEFAULT_INGEST_KEY})
    assert response.json() == {"message": "Forbidden"}
    assert handler.calls == []


def test_a_signed_request_reaches_the_function_as_an_iam_caller(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    response = client.post(
        "/dev/departures", json={}, headers={**HEADERS, "x-ingest-key": DEFAULT_INGEST_KEY}
    )
    assert response.status_code == 200
    event = handler.last_event
    assert "x-ingest-key" not in event["headers"]  # the signature is the gateway's, not the app's
    assert "x-ingest-key" not in event["multiValueHeaders"]
    identity = event["requestContext"]["identity"]
    assert identity["userArn"].startswith("arn:aws:sts::000000000000:assumed-role/")
    assert identity["apiKey"] == DEFAULT_API_KEY


def test_other_methods_on_an_iam_resource_need_the_signature_too(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    assert client.get("/dev/departures", headers=HEADERS).json() == MISSING_TOKEN
    signed = {**HEADERS, "x-ingest-key": DEFAULT_INGEST_KEY}
    assert client.delete("/dev/departures", headers=signed).status_code == 200
    assert handler.last_event["httpMethod"] == "DELETE"  # the ANY method, IAM like its route


def test_api_key_routes_ignore_the_ingest_key(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    response = client.get("/dev/health", headers={**HEADERS, "x-ingest-key": "anything"})
    assert response.status_code == 200
    assert handler.last_event["requestContext"]["identity"]["userArn"] is None


def test_swagger_ui_is_served_without_a_key_and_works_offline(
    client: httpx.Client, handler: RecordingHandler
) -> None:
    page = client.get("/dev/docs")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert 'url: "/dev/openapi.yaml"' in page.text
    for asset, content_type in [
        ("swagger-ui-bundle.js", "application/javascript"),
        ("swagger-ui.css", "text/css"),
        ("favicon-32x32.png", "image/png"),
    ]:
        assert f"/dev/docs/{asset}" in page.text
        response = client.get(f"/dev/docs/{asset}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(content_type)
        assert len(response.content) > 500
    assert "SwaggerUIBundle" in client.get("/dev/docs/swagger-ui-bundle.js").text
    assert handler.calls == []


def test_the_committed_openapi_document_is_served(client: httpx.Client) -> None:
    response = client.get("/dev/openapi.yaml")
    assert response.status_code == 200
    assert response.content == Path(OPENAPI_DOCUMENT).read_bytes()
    assert response.headers["content-type"].startswith("application/yaml")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/dev/docs"),
        ("GET", "/prd/docs"),
        ("GET", "/docs"),
        ("GET", "/dev/docs/index.html"),
        ("GET", "/dev/docs/swagger-ui.js.map"),
    ],
)
def test_only_the_documentation_pages_are_twin_only(
    client: httpx.Client, handler: RecordingHandler, method: str, path: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 403
    assert response.json() == MISSING_TOKEN
    assert handler.calls == []


def test_resources_may_not_clash_with_the_documentation_pages() -> None:
    clash = (*ROUTES, Route("GET", "/docs", "docs", "clash"))
    with pytest.raises(ValueError, match="clash with the twin's documentation pages"):
        GatewayApp(GatewayConfig(), RecordingHandler(), routes=clash)
