"""Builds API Gateway REST (v1) Lambda proxy events from HTTP request parts.

One builder serves the live twin (``app.py``), the committed sample events (``samples.py``) and
therefore ``invoke``: the handler sees the same event shape everywhere. The shape follows the
proxy integration input format documented by AWS (resource, path, httpMethod, headers,
multiValueHeaders, queryStringParameters, multiValueQueryStringParameters, pathParameters,
stageVariables, requestContext, body, isBase64Encoded), including the details handlers trip on:
``path`` has no stage while ``requestContext.path`` has it; empty query strings, path parameters
and bodies are ``null``; non-UTF-8 bodies are base64 with ``isBase64Encoded: true``; the last
value of a repeated header or query parameter wins in the single-value maps.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import Iterable
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from challenge_neuralworks.local.config import ApiKey, GatewayConfig
from challenge_neuralworks.local.routes import Match
from challenge_neuralworks.routes import resources

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: ``requestContext.identity`` of an API-key-only method: everything but these stays null.
_IDENTITY_FIELDS = (
    "cognitoIdentityPoolId",
    "accountId",
    "cognitoIdentityId",
    "caller",
    "apiKey",
    "sourceIp",
    "principalOrgId",
    "accessKey",
    "cognitoAuthenticationType",
    "cognitoAuthenticationProvider",
    "userArn",
    "userAgent",
    "user",
    "apiKeyId",
)


class RequestIds(NamedTuple):
    """The per-request identifiers API Gateway mints."""

    request_id: str
    extended_request_id: str
    trace_id: str
    epoch_ms: int
    #: the Lambda invocation id (``context.aws_request_id``), distinct from API Gateway's
    lambda_request_id: str


def uuid_text(hex32: str) -> str:
    """32 hex digits in the 8-4-4-4-12 layout of API Gateway and Lambda request ids."""
    return f"{hex32[0:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:32]}"


def new_request_ids(wall_time: float) -> RequestIds:
    """Fresh ids in API Gateway's formats from one ``os.urandom`` call (cheaper than uuid4)."""
    raw = os.urandom(55)
    return RequestIds(
        request_id=uuid_text(raw[:16].hex()),
        extended_request_id=base64.b64encode(raw[16:27]).decode("ascii"),
        trace_id=f"Root=1-{int(wall_time):08x}-{raw[27:39].hex()}",
        epoch_ms=int(wall_time * 1000),
        lambda_request_id=uuid_text(raw[39:55].hex()),
    )


def collect_headers(
    raw_headers: Iterable[tuple[bytes, bytes]],
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """``headers`` (last value wins) and ``multiValueHeaders`` (all values) from ASGI headers."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for raw_name, raw_value in raw_headers:
        name = raw_name.decode("latin-1")
        value = raw_value.decode("latin-1")
        single[name] = value
        values = multi.get(name)
        if values is None:
            multi[name] = [value]
        else:
            values.append(value)
    return single, multi


def parse_query(
    raw_query: bytes,
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """Decoded ``queryStringParameters`` / ``multiValueQueryStringParameters`` (None if empty)."""
    if not raw_query:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True):
        single[name] = value
        multi.setdefault(name, []).append(value)
    if not single:
        return None, None
    return single, multi


def encode_body(body: bytes) -> tuple[str | None, bool]:
    """Event ``body`` and ``isBase64Encoded``: text when UTF-8, base64 otherwise, None if empty."""
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def _resource_id(api_id: str, template: str) -> str:
    """A stable 6-character id per resource, shaped like API Gateway's ``resourceId``."""
    return hashlib.sha256(f"{api_id}{template}".encode()).hexdigest()[:6]


class EventFactory:
    """Builds proxy events for one configured API stage; static parts are computed once."""

    def __init__(self, config: GatewayConfig) -> None:
        self._stage = config.stage
        self._stage_path = f"/{config.stage}"
        self._account_id = config.account_id
        self._api_id = config.api_id
        self._default_domain = f"{config.api_id}.execute-api.{config.region}.amazonaws.com"
        self._stage_variables = dict(config.stage_variables) if config.stage_variables else None
        self._resource_ids = {t: _resource_id(config.api_id, t) for t in resources()}
        self._identity_template: dict[str, Any] = dict.fromkeys(_IDENTITY_FIELDS)
        # A fake assumed-role caller: what identity holds for a SigV4-signed request.
        role = f"arn:aws:sts::{config.account_id}:assumed-role/cnw-{config.stage}-ingest"
        self._iam_identity = {
            "accountId": config.account_id,
            "accessKey": "ASIALOCALTWIN0000000",
            "caller": "AROALOCALTWIN00000000:local-ingest",
            "user": "AROALOCALTWIN00000000:local-ingest",
            "userArn": f"{role}/local-ingest",
        }
        self._time_second = -1
        self._time_text = ""

    def request_time(self, epoch_ms: int) -> str:
        """``requestTime`` in API Gateway's CLF format; cached per second (hot path)."""
        second = epoch_ms // 1000
        if second != self._time_second:
            t = time.gmtime(second)
            self._time_text = (
                f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
                f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
            )
            self._time_second = second
        return self._time_text

    def build(
        self,
        *,
        method: str,
        match: Match,
        headers: dict[str, str],
        multi_headers: dict[str, list[str]],
        raw_query: bytes,
        body: bytes,
        source_ip: str,
        server_port: int,
        scheme: str,
        protocol: str,
        api_key: ApiKey | None,
        ids: RequestIds,
        signed: bool = False,
    ) -> dict[str, Any]:
        """The proxy event for one request.

        ``signed``: the route is ``AWS_IAM`` and the request carried the ingest key, so
        ``identity`` names an IAM caller as API Gateway does for a SigV4-signed request.

        ``headers``/``multi_headers`` are the client's (see ``collect_headers``); they are
        completed in place with the headers API Gateway adds (X-Forwarded-*, X-Amzn-Trace-Id).
        """
        self._add_gateway_headers(
            headers, multi_headers, source_ip=source_ip, port=server_port, scheme=scheme, ids=ids
        )
        query, multi_query = parse_query(raw_query)
        body_text, is_base64 = encode_body(body)
        identity = self._identity_template.copy()
        identity["sourceIp"] = source_ip
        identity["userAgent"] = headers.get("user-agent")
        if api_key is not None:
            identity["apiKey"] = api_key.value
            identity["apiKeyId"] = api_key.key_id
        if signed:
            identity.update(self._iam_identity)
        domain = headers.get("host") or self._default_domain
        resource = match.resource
        return {
            "resource": resource,
            "path": match.path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": match.path_parameters,
            "stageVariables": dict(self._stage_variables) if self._stage_variables else None,
            "requestContext": {
                "resourceId": self._resource_ids.get(resource)
                or _resource_id(self._api_id, resource),
                "resourcePath": resource,
                "httpMethod": method,
                "extendedRequestId": ids.extended_request_id,
                "requestTime": self.request_time(ids.epoch_ms),
                "path": self._stage_path + match.path,
                "accountId": self._account_id,
                "protocol": protocol,
                "stage": self._stage,
                "domainPrefix": domain.split(".", 1)[0].split(":", 1)[0],
                "requestTimeEpoch": ids.epoch_ms,
                "requestId": ids.request_id,
                "identity": identity,
                "domainName": domain,
                "apiId": self._api_id,
            },
            "body": body_text,
            "isBase64Encoded": is_base64,
        }

    @staticmethod
    def _add_gateway_headers(
        headers: dict[str, str],
        multi_headers: dict[str, list[str]],
        *,
        source_ip: str,
        port: int,
        scheme: str,
        ids: RequestIds,
    ) -> None:
        forwarded = headers.get("x-forwarded-for")
        added = {
            "x-forwarded-for": f"{forwarded}, {source_ip}" if forwarded else source_ip,
            "x-forwarded-port": str(port),
            "x-forwarded-proto": scheme,
        }
        if "x-amzn-trace-id" not in headers:
            added["x-amzn-trace-id"] = ids.trace_id
        for name, value in added.items():
            headers[name] = value
            multi_headers[name] = [value]
