"""HTTP answers of the twin: API Gateway's own responses, and the handler's proxy response.

Gateway responses copy API Gateway's defaults byte for byte where they are known: the
``{"message":...}`` bodies rendered from its ``$context.error.messageString`` template (no space),
the Lambda-integration errors (with a space), the edge's plain-text 413, and the
``x-amzn-ErrorType`` header. ``proxy_to_http`` validates a Lambda proxy response the way API
Gateway does: anything malformed becomes its 502 instead of reaching the client half-formed.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: REST API payload limit (10 MB), enforced before anything else.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
#: Synchronous Lambda invocation payload limit (6 MB) on the event JSON API Gateway sends.
MAX_LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024
#: REST API quota "Total combined size of request line and header values": 10,240 bytes.
MAX_HEADER_BYTES = 10_240
#: REST API quota "Length, in characters, of the URL for a regional API" (the deployed API is
#: REGIONAL; an edge-optimized one allows 8,192). Counted on the request line, as the HTTP decoder
#: in front of API Gateway counts its line limit.
MAX_REQUEST_LINE_BYTES = 10_240


@dataclass(frozen=True)
class GatewayResponse:
    """A response API Gateway produces itself (the handler is never called)."""

    status: int
    body: bytes
    content_type: bytes = b"application/json"
    error_type: bytes | None = None

    def headers(self, request_id: str, extended_request_id: str) -> list[tuple[bytes, bytes]]:
        """Response headers, with the request ids API Gateway stamps on every answer."""
        headers = [
            (b"content-type", self.content_type),
            (b"content-length", str(len(self.body)).encode("ascii")),
        ]
        if self.error_type is not None:
            headers.append((b"x-amzn-RequestId", request_id.encode("ascii")))
            headers.append((b"x-amzn-ErrorType", self.error_type))
            headers.append((b"x-amz-apigw-id", extended_request_id.encode("ascii")))
        return headers

    def raw(self) -> bytes:
        """The whole HTTP/1.1 answer, for refusals written before a request exists (edge)."""
        lines = [b"HTTP/1.1 %d %s" % (self.status, _REASONS.get(self.status, b""))]
        lines += [name + b": " + value for name, value in self.headers("", "")]
        lines.append(b"connection: close")
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


_REASONS = {
    400: b"Bad Request",
    413: b"Request Entity Too Large",
    414: b"Request-URI Too Long",
    431: b"Request Header Fields Too Large",
}


MISSING_AUTHENTICATION_TOKEN = GatewayResponse(
    403,
    b'{"message":"Missing Authentication Token"}',
    error_type=b"MissingAuthenticationTokenException",
)
FORBIDDEN = GatewayResponse(403, b'{"message":"Forbidden"}', error_type=b"ForbiddenException")
THROTTLED = GatewayResponse(
    429, b'{"message":"Too Many Requests"}', error_type=b"TooManyRequestsException"
)
QUOTA_EXCEEDED = GatewayResponse(
    429, b'{"message":"Limit Exceeded"}', error_type=b"LimitExceededException"
)
#: Over 10 MB the request is refused at the edge, in plain text, before API Gateway proper.
PAYLOAD_TOO_LARGE = GatewayResponse(
    413,
    b"HTTP content length exceeded %d bytes." % MAX_REQUEST_BYTES,
    content_type=b"text; charset=utf-8",
)
#: Request line over 10,240 bytes: refused at the edge by its HTTP decoder, in plain text.
URI_TOO_LONG = GatewayResponse(
    414,
    b"An HTTP line is larger than %d bytes." % MAX_REQUEST_LINE_BYTES,
    content_type=b"text; charset=utf-8",
)
#: Headers over 10,240 bytes: refused at the edge by its HTTP decoder, in plain text.
REQUEST_HEADER_FIELDS_TOO_LARGE = GatewayResponse(
    431,
    b"HTTP header is larger than %d bytes." % MAX_HEADER_BYTES,
    content_type=b"text; charset=utf-8",
)
#: An AWS_IAM method and a signature that does not verify (here: a wrong ``x-ingest-key``).
INVALID_SIGNATURE = GatewayResponse(
    403,
    b'{"message":"The request signature we calculated does not match the signature you'
    b" provided. Check your AWS Secret Access Key and signing method. Consult the service"
    b' documentation for details."}',
    error_type=b"InvalidSignatureException",
)
#: The event exceeds Lambda's 6 MB invocation payload.
LAMBDA_REQUEST_TOO_LONG = GatewayResponse(
    413, b'{"message": "Request Too Long"}', error_type=b"BadRequestException"
)
#: The function raised, ran past its Lambda timeout, or returned a malformed proxy response.
INTERNAL_SERVER_ERROR = GatewayResponse(
    502, b'{"message": "Internal server error"}', error_type=b"InternalServerErrorException"
)
#: ``isBase64Encoded`` with a body that is not base64 (API_CONFIGURATION_ERROR).
API_CONFIGURATION_ERROR = GatewayResponse(
    500, b'{"message": "Internal server error"}', error_type=b"InternalServerErrorException"
)


class MalformedProxyResponseError(ValueError):
    """The handler's return value is not a valid Lambda proxy response."""


class Base64BodyError(ValueError):
    """``isBase64Encoded`` is true but the body does not decode."""


_RESPONSE_KEYS = frozenset(
    {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
)
#: Framing headers belong to the server, not to the function.
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection"})
_BAD_HEADER_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _status(value: Any) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise MalformedProxyResponseError(f"statusCode {value!r} is not an HTTP status")
    return value


def _header_text(name: Any, value: Any) -> tuple[bytes, bytes]:
    if not isinstance(name, str) or not name:
        raise MalformedProxyResponseError(f"header name {name!r} is not a string")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MalformedProxyResponseError(f"header {name!r} has a non-scalar value {value!r}")
    text = str(value)
    if _BAD_HEADER_VALUE.search(text):
        raise MalformedProxyResponseError(f"header {name!r} contains control characters")
    try:
        return name.encode("latin-1"), text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise MalformedProxyResponseError(f"header {name!r} is not Latin-1") from exc


def _merged_headers(result: Mapping[str, Any]) -> dict[str, list[tuple[bytes, bytes]]]:
    """``headers`` then ``multiValueHeaders`` (which win for the same name), by lowercase name."""
    merged: dict[str, list[tuple[bytes, bytes]]] = {}
    single = result.get("headers")
    if single is not None:
        if not isinstance(single, Mapping):
            raise MalformedProxyResponseError("headers must be an object")
        for name, value in single.items():
            merged[str(name).lower()] = [_header_text(name, value)]
    multi = result.get("multiValueHeaders")
    if multi is not None:
        if not isinstance(multi, Mapping):
            raise MalformedProxyResponseError("multiValueHeaders must be an object")
        for name, values in multi.items():
            if not isinstance(values, list):
                raise MalformedProxyResponseError(f"multiValueHeaders[{name!r}] must be a list")
            merged[str(name).lower()] = [_header_text(name, value) for value in values]
    return merged


def proxy_to_http(result: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body bytes for a handler's proxy response.

    Raises ``MalformedProxyResponseError`` (API Gateway answers 502) or ``Base64BodyError``
    (500). ``Content-Type`` defaults to ``application/json`` as in API Gateway.
    """
    if not isinstance(result, Mapping):
        raise MalformedProxyResponseError(
            f"the handler returned {type(result).__name__}, not an object"
        )
    unknown = set(result) - _RESPONSE_KEYS
    if unknown:
        raise MalformedProxyResponseError(f"unexpected keys {sorted(unknown)}")
    status = _status(result.get("statusCode"))
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise MalformedProxyResponseError(f"body must be a string, not {type(body).__name__}")
    elif result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Base64BodyError("isBase64Encoded is true but the body is not base64") from exc
    else:
        payload = body.encode("utf-8")
    merged = _merged_headers(result)
    headers: list[tuple[bytes, bytes]] = []
    for name, pairs in merged.items():
        if name not in _FRAMING:
            headers.extend(pairs)
    if "content-type" not in merged:
        headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", str(len(payload)).encode("ascii")))
    return status, headers, payload
