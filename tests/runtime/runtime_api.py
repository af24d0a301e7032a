"""A Lambda Runtime API (version 2018-06-01) test server, standing in for the Lambda service.

No Runtime Interface Emulator ships as a package and no Docker daemon is available, so the
container's entry point (``python -m awslambdaric <handler>``) is tested against this server
instead: the real client polls ``GET /runtime/invocation/next`` here, gets real API Gateway
events with the headers Lambda sends, and posts what the function answered. The routes and
status codes follow AWS's "Using the Lambda runtime API for custom runtimes" reference: 200 for
``next``; 202 ``{"status": "OK"}`` for a response or an error; 400 ``InvalidRequestID`` for a
request id that is not pending.
"""

from __future__ import annotations

import json
import queue
import re
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:cnw-dev:live"
_RESULT = re.compile(rf"^{PREFIX}/invocation/(?P<id>[^/]+)/(?P<kind>response|error)$")


@dataclass
class Invocation:
    """One event handed to the runtime and, once posted, what the function answered."""

    request_id: str
    payload: bytes
    trace_id: str
    #: Set when the runtime takes the event (``GET /next``): Lambda's timeout runs from the
    #: invocation's start, not from when the event was queued behind a starting runtime.
    deadline_ms: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    outcome: str | None = None  # "response" or "error"
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # of the runtime's POST (lower-cased)

    def json(self) -> Any:
        """The posted body parsed as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class InitError:
    """What the runtime posted to ``/runtime/init/error``."""

    error_type: str | None
    body: Any


class RuntimeApiServer:
    """Serve the Runtime API on a free loopback port; ``invoke`` queues one event."""

    def __init__(self, *, function_arn: str = FUNCTION_ARN, timeout_ms: int = 10_000) -> None:
        self.function_arn = function_arn
        self.timeout_ms = timeout_ms
        self.init_errors: list[InitError] = []
        self.init_error_posted = threading.Event()
        self._queue: queue.Queue[Invocation] = queue.Queue()
        self._pending: dict[str, Invocation] = {}
        self._closing = threading.Event()
        self._http = _QuietServer(("127.0.0.1", 0), _handler_class(self))
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        """``host:port``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        host, port = self._http.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> RuntimeApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closing.set()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=10)

    def submit(self, event: Any) -> Invocation:
        """Queue ``event`` for the next ``GET /invocation/next``; wait on ``.done``."""
        now_ms = int(time.time() * 1000)
        invocation = Invocation(
            request_id=_uuid(),
            payload=json.dumps(event).encode("utf-8"),
            trace_id=f"Root=1-{now_ms // 1000:08x}-{secrets.token_hex(12)};"
            f"Parent={secrets.token_hex(8)};Sampled=0",
        )
        self._pending[invocation.request_id] = invocation
        self._queue.put(invocation)
        return invocation

    # ------------------------------------------------------------------ routes
    def next_invocation(self) -> Invocation | None:
        """Block until an event is queued (``None`` once the server is closing)."""
        while not self._closing.is_set():
            try:
                invocation = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            invocation.deadline_ms = int(time.time() * 1000) + self.timeout_ms
            return invocation
        return None

    def record_result(
        self, request_id: str, kind: str, body: bytes, headers: dict[str, str]
    ) -> bool:
        """Store a posted response/error; ``False`` when ``request_id`` is not pending."""
        invocation = self._pending.pop(request_id, None)
        if invocation is None:
            return False
        invocation.outcome, invocation.body, invocation.headers = kind, body, headers
        invocation.done.set()
        return True

    def record_init_error(self, error_type: str | None, body: bytes) -> None:
        """Store a posted init error."""
        self.init_errors.append(InitError(error_type, json.loads(body or b"null")))
        self.init_error_posted.set()


class _QuietServer(ThreadingHTTPServer):
    """Threads per connection; a runtime killed mid-poll resets its connection, not an error."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _uuid() -> str:
    raw = secrets.token_hex(16)
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def _handler_class(api: RuntimeApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the client's libcurl expects

        def do_GET(self) -> None:
            if self.path != f"{PREFIX}/invocation/next":
                self._reply(HTTPStatus.NOT_FOUND, {"errorMessage": "not found"})
                return
            invocation = api.next_invocation()
            if invocation is None:
                self.close_connection = True
                return
            self._reply(
                HTTPStatus.OK,
                invocation.payload,
                {
                    "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                    "Lambda-Runtime-Trace-Id": invocation.trace_id,
                },
            )

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            if self.path == f"{PREFIX}/init/error":
                api.record_init_error(headers.get("lambda-runtime-function-error-type"), body)
                self._reply(HTTPStatus.ACCEPTED, {"status": "OK"})
                return
            found = _RESULT.match(self.path)
            if found is None:
                self._reply(HTTPStatus.NOT_FOUND, {"errorMessage": "not found"})
            elif api.record_result(found["id"], found["kind"], body, headers):
                self._reply(HTTPStatus.ACCEPTED, {"status": "OK"})
            else:
                self._reply(
                    HTTPStatus.BAD_REQUEST,
                    {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"},
                )

        def _reply(
            self, status: HTTPStatus, body: Any, headers: dict[str, str] | None = None
        ) -> None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: the tests assert on what was posted, not on access lines."""

    return Handler
