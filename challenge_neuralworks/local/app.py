"""The twin itself: a raw ASGI application standing where API Gateway stands.

Per request, in API Gateway's order: the 10 MB edge limit (request-line and header limits are the
HTTP protocol's, ``protocol.py``), the twin-only documentation pages, the resource match (with the
stage prefix), the IAM signature of ``AWS_IAM`` routes, the API key, the key's usage plan
(throttle, quota), then the Lambda proxy integration: the request becomes a proxy event, its JSON
is checked against Lambda's 6 MB, the execution environment runs ``lambda_handler(event,
context)`` (``execution.py``: a child process that is killed at the function timeout), and the
proxy response is validated and written back.

No web framework, nothing per request that can be computed once (routes, key lookup, the static
parts of events and responses are prepared in ``__init__``), no logging per request: the twin is
load-tested, and its overhead must stay small next to the handler's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from challenge_neuralworks.local.config import ApiKey, GatewayConfig, TwinEnvironment
from challenge_neuralworks.local.docs import DocsSite
from challenge_neuralworks.local.events import (
    EventFactory,
    RequestIds,
    collect_headers,
    new_request_ids,
)
from challenge_neuralworks.local.execution import (
    ExecutionEnvironment,
    InlineEnvironment,
    Outcome,
    OutcomeKind,
    ProcessEnvironment,
)
from challenge_neuralworks.local.loading import Handler, import_handler
from challenge_neuralworks.local.responses import (
    API_CONFIGURATION_ERROR,
    FORBIDDEN,
    INTERNAL_SERVER_ERROR,
    INVALID_SIGNATURE,
    LAMBDA_REQUEST_TOO_LONG,
    MAX_LAMBDA_PAYLOAD_BYTES,
    MAX_REQUEST_BYTES,
    MISSING_AUTHENTICATION_TOKEN,
    PAYLOAD_TOO_LARGE,
    QUOTA_EXCEEDED,
    THROTTLED,
    Base64BodyError,
    GatewayResponse,
    MalformedProxyResponseError,
    proxy_to_http,
)
from challenge_neuralworks.local.routes import Match, RouteTable
from challenge_neuralworks.local.usage_plans import (
    Clock,
    LocalUsageState,
    SharedUsageState,
    SystemClock,
    UsagePlanEnforcer,
    Verdict,
)
from challenge_neuralworks.routes import ROUTES, Route

#: The header that stands for a valid SigV4 signature on AWS_IAM routes (consumed by the twin).
INGEST_KEY_HEADER = "x-ingest-key"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

logger = logging.getLogger("challenge_neuralworks.local")


class _ClientGoneError(Exception):
    """The client disconnected before sending its whole body."""


def build_enforcer(config: GatewayConfig, clock: Clock) -> UsagePlanEnforcer:
    """Usage-plan enforcement for ``config``: shared state when ``serve`` prepared one."""
    plans = [config.plan_for(key) for key in config.api_keys]
    if config.shared_state_path:
        state: LocalUsageState | SharedUsageState = SharedUsageState(
            config.shared_state_path, len(plans)
        )
        return UsagePlanEnforcer(plans, state, clock)  # the parent filled the buckets
    enforcer = UsagePlanEnforcer(plans, LocalUsageState(len(plans)), clock)
    enforcer.initialise()
    return enforcer


#: Everything in an event but its body (request line and headers are capped at 10,240 bytes each
#: by the protocol, and appear twice: single- and multi-value) stays far below this in JSON.
_EVENT_WITHOUT_BODY_MAX = 512 * 1024
#: JSON escapes one character into at most 6 bytes (``\u0000``).
_WORST_ESCAPE = 6


def event_size(event: dict[str, Any]) -> int:
    """The event's size as API Gateway sends it to Lambda: compact UTF-8 JSON."""
    return len(json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def event_too_large(event: dict[str, Any]) -> bool:
    """Whether the event exceeds Lambda's 6 MB (exact; serialised only when it could)."""
    body = event["body"] or ""  # base64 already, when the body is binary: counted as sent
    if _WORST_ESCAPE * len(body) + _EVENT_WITHOUT_BODY_MAX <= MAX_LAMBDA_PAYLOAD_BYTES:
        return False
    return event_size(event) > MAX_LAMBDA_PAYLOAD_BYTES


class GatewayApp:
    """ASGI application: API Gateway REST stage + Lambda proxy integration in front of a handler.

    With ``handler`` (a callable: tests, docs generation) it runs in this process. Without, the
    handler named by ``config.handler`` runs in a child execution environment (``serve``), or,
    with ``config.isolation == "inline"``, is imported here. ``routes`` defaults to the API's
    declared routes.
    """

    def __init__(
        self,
        config: GatewayConfig,
        handler: Handler | None = None,
        *,
        clock: Clock | None = None,
        routes: Iterable[Route] = ROUTES,
    ) -> None:
        self.config = config
        self._clock = clock or SystemClock()
        self._routes = RouteTable(config.stage, routes)
        self._docs = DocsSite(config.stage, self._routes.templates)
        self._events = EventFactory(config)
        self._keys = {key.value: (slot, key) for slot, key in enumerate(config.api_keys)}
        self._usage = build_enforcer(config, self._clock)
        self._timeout_s = config.timeout_ms / 1000
        self.environment: ExecutionEnvironment
        if handler is not None or config.isolation == "inline":
            self.environment = InlineEnvironment(
                handler or (lambda: import_handler(config.handler)),
                config,
                monotonic=self._clock.monotonic,
                wall_time=self._clock.time,
                lazy=handler is None,
            )
        else:
            self.environment = ProcessEnvironment(config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        ids = new_request_ids(self._clock.time())
        headers, multi_headers = collect_headers(scope["headers"])
        head = scope["method"] == "HEAD"
        admitted = self._admit(scope, headers)
        if isinstance(admitted, GatewayResponse):
            await _reply(send, admitted, ids, head=head)
            return
        match, api_key, signed = admitted
        try:
            body = await _read_body(receive)
        except _ClientGoneError:
            return
        if body is None:
            await _reply(send, PAYLOAD_TOO_LARGE, ids, head=head)
            return
        if signed:  # the signature's stand-in is the gateway's, not the function's
            headers.pop(INGEST_KEY_HEADER, None)
            multi_headers.pop(INGEST_KEY_HEADER, None)
        event = self._event(
            scope,
            match=match,
            headers=headers,
            multi_headers=multi_headers,
            body=body,
            api_key=api_key,
            signed=signed,
            ids=ids,
        )
        if event_too_large(event):
            await _reply(send, LAMBDA_REQUEST_TOO_LONG, ids, head=head)
            return
        outcome = await self.environment.invoke(event, ids.lambda_request_id)
        answer = self._to_http(outcome, ids)
        if isinstance(answer, GatewayResponse):
            await _reply(send, answer, ids, head=head)
            return
        status, response_headers, payload = answer
        response_headers.append((b"x-amzn-RequestId", ids.request_id.encode("ascii")))
        response_headers.append((b"x-amz-apigw-id", ids.extended_request_id.encode("ascii")))
        response_headers.append((b"X-Amzn-Trace-Id", ids.trace_id.encode("ascii")))
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        # HEAD: API Gateway drops the function's body (its size still counted against Lambda's
        # 6 MB above) and keeps the headers, Content-Length included.
        await send({"type": "http.response.body", "body": b"" if head else payload})

    def _admit(
        self, scope: Scope, headers: dict[str, str]
    ) -> GatewayResponse | tuple[Match, ApiKey, bool]:
        """API Gateway's checks before the integration, in its order; a refusal or the go-ahead.

        The go-ahead is the matched resource, the caller's API key, and whether the route is
        ``AWS_IAM`` (signed with the ingest key).
        """
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_REQUEST_BYTES:
            return PAYLOAD_TOO_LARGE
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        page = self._docs.page(path, scope["method"])
        if page is not None:
            return page
        match = self._routes.match(path)
        if match is None:
            return MISSING_AUTHENTICATION_TOKEN
        authorization = match.authorizations.get(scope["method"])
        if authorization is None:
            return MISSING_AUTHENTICATION_TOKEN
        signed = authorization == "AWS_IAM"
        if signed:
            signature = headers.get(INGEST_KEY_HEADER)
            if signature is None:
                return MISSING_AUTHENTICATION_TOKEN  # an unsigned request to an IAM method
            if signature != self.config.ingest_key:
                return INVALID_SIGNATURE
        entry = self._keys.get(headers.get("x-api-key", ""))
        if entry is None:
            return FORBIDDEN
        slot, api_key = entry
        verdict = self._usage.check(slot)
        if verdict is not Verdict.ALLOWED:
            return THROTTLED if verdict is Verdict.THROTTLED else QUOTA_EXCEEDED
        return match, api_key, signed

    def _event(
        self,
        scope: Scope,
        *,
        match: Match,
        headers: dict[str, str],
        multi_headers: dict[str, list[str]],
        body: bytes,
        api_key: ApiKey,
        signed: bool,
        ids: RequestIds,
    ) -> dict[str, Any]:
        client = scope.get("client")
        server = scope.get("server")
        return self._events.build(
            method=scope["method"],
            match=match,
            headers=headers,
            multi_headers=multi_headers,
            raw_query=scope.get("query_string", b""),
            body=body,
            source_ip=client[0] if client else "127.0.0.1",
            server_port=server[1] if server and server[1] is not None else 80,
            scheme=scope.get("scheme", "http"),
            protocol=f"HTTP/{scope.get('http_version', '1.1')}",
            api_key=api_key,
            signed=signed,
            ids=ids,
        )

    def _to_http(
        self, outcome: Outcome, ids: RequestIds
    ) -> GatewayResponse | tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The HTTP response for an invocation's outcome, or API Gateway's answer to a bad one."""
        kind = outcome.kind
        if kind is not OutcomeKind.RESULT:
            self._log_failure(outcome, ids)
            return INTERNAL_SERVER_ERROR
        try:
            result = outcome.response if outcome.payload == b"" else json.loads(outcome.payload)
            status, headers, payload = proxy_to_http(result)
        except (MalformedProxyResponseError, ValueError) as exc:
            if isinstance(exc, Base64BodyError):
                logger.error("%s; API Gateway answers 500 (requestId %s)", exc, ids.request_id)
                return API_CONFIGURATION_ERROR
            logger.error(
                "malformed Lambda proxy response (%s); API Gateway answers 502 (requestId %s)",
                exc,
                ids.request_id,
            )
            return INTERNAL_SERVER_ERROR
        return status, headers, payload

    def _log_failure(self, outcome: Outcome, ids: RequestIds) -> None:
        """One log line per failed invocation, with the reason Lambda would record."""
        kind, request_id = outcome.kind, ids.request_id
        if kind is OutcomeKind.TIMEOUT:
            logger.error(
                "Task timed out after %.2f seconds: Lambda stops the function, API Gateway"
                " answers 502, and the next invocation is a cold start (requestId %s)",
                self._timeout_s,
                request_id,
            )
        elif kind is OutcomeKind.EXITED:
            logger.error(
                "Runtime exited (status %s, Runtime.ExitError): API Gateway answers 502 and the"
                " next invocation is a cold start (requestId %s)",
                outcome.payload.decode("ascii", "replace") or "unknown",
                request_id,
            )
        elif kind is OutcomeKind.TOO_LARGE:
            logger.error(
                "response payload of %s bytes exceeds Lambda's limit (6291556 bytes); API Gateway"
                " answers 502 (requestId %s)",
                outcome.payload.decode("ascii"),
                request_id,
            )
        elif kind is OutcomeKind.INIT_TIMEOUT:
            logger.error(
                "the handler %r did not initialise within Lambda's %d s Init limit: requests get"
                " 502 until it does (requestId %s)",
                self.config.handler,
                self.config.init_timeout_ms // 1000,
                request_id,
            )
        else:
            # In process the exception itself is logged; from a runtime process, its error JSON.
            detail = _error_text(outcome.payload, trace=outcome.exception is None)
            if kind is OutcomeKind.INIT_ERROR:
                logger.error(
                    "cannot import the handler %r (like a failed Lambda init: requests get 502"
                    " until it imports; requestId %s): %s",
                    self.config.handler,
                    request_id,
                    detail,
                    exc_info=outcome.exception,
                )
            else:
                logger.error(
                    "handler raised; API Gateway answers 502 (requestId %s): %s",
                    request_id,
                    detail,
                    exc_info=outcome.exception,
                )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                failed = await self.environment.start()
                if failed is not None:
                    self._log_failure(failed, new_request_ids(self._clock.time()))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.environment.close()
                self._usage.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _error_text(payload: bytes, *, trace: bool) -> str:
    """Lambda's error JSON for the log: ``errorType: errorMessage``, then the stack trace."""
    try:
        error = json.loads(payload)
        text = f"{error.get('errorType')}: {error.get('errorMessage')}"
        stack = "".join(error.get("stackTrace") or ())
    except (ValueError, AttributeError):
        return payload.decode("utf-8", "replace")
    return (
        f"{text}\nTraceback (in the execution environment):\n{stack}" if trace and stack else text
    )


async def _reply(
    send: Send, response: GatewayResponse, ids: RequestIds, *, head: bool = False
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": response.headers(ids.request_id, ids.extended_request_id),
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else response.body})


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None as soon as it exceeds the 10 MB limit."""
    message = await receive()
    if message["type"] == "http.disconnect":
        raise _ClientGoneError
    body = message.get("body", b"")
    if not message.get("more_body", False):
        return body if len(body) <= MAX_REQUEST_BYTES else None
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGoneError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def create_app_from_env() -> GatewayApp:
    """uvicorn factory for worker processes: the configuration ``serve`` put in the environment."""
    config = TwinEnvironment().gateway_config
    if config is None:
        raise RuntimeError(
            "no gateway configuration in the environment: start the twin with `serve`"
        )
    return GatewayApp(config)
