"""The HTTP/1.1 protocol of the twin: uvicorn's httptools protocol plus API Gateway's edge limits.

uvicorn enforces none of what stands in front of API Gateway: with httptools a request line and
headers may be any size, a connection that never finishes its headers is held forever, and its
keep-alive timer only starts after a first response. ``GatewayHttpProtocol`` adds, per connection:

* the request line limited to 10,240 bytes (414) and the headers to 10,240 bytes (431), answered
  in the plain-text shape of the HTTP decoder in front of API Gateway, then closed; raw bytes of a
  request head are capped too, so a header dripped forever cannot grow memory;
* a header deadline: a request line and headers not complete ``header_timeout_s`` after the
  connection became ready for them close the connection (slowloris), and a body not complete
  ``body_timeout_s`` after its headers does too; idle keep-alive connections are closed by
  uvicorn's ``timeout_keep_alive``.

One timer per connection (not per request) checks the deadlines; the hot path only records
timestamps. ``server_options`` is the one place where the twin's uvicorn settings are chosen, for
``serve`` and for the in-thread test server alike.
"""

from __future__ import annotations

import asyncio
import copy
import importlib.util
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from challenge_neuralworks.local.config import GatewayConfig
from challenge_neuralworks.local.responses import (
    MAX_HEADER_BYTES,
    MAX_REQUEST_LINE_BYTES,
    REQUEST_HEADER_FIELDS_TOO_LARGE,
    URI_TOO_LONG,
    GatewayResponse,
)

#: Raw bytes a request head may take before it is refused whatever its parts: every header line
#: counts at least 3 of the 10,240 (``a:`` is 1 + 2) and takes at most 4 raw bytes plus its
#: CRLF, so four times the limits bounds any head the edge would accept.
MAX_RAW_HEAD_BYTES = MAX_REQUEST_LINE_BYTES + 4 * MAX_HEADER_BYTES + 64
_HEAD, _BODY, _APP = 0, 1, 2
#: How long a refused connection keeps reading (and discarding) before it is closed.
_LINGER_S = 2.0


class _RefusedError(Exception):
    """Stops the parser: the request breaks an edge limit (the answer is already chosen)."""


def _gateway_config(app: Any) -> GatewayConfig:
    """The ``GatewayConfig`` of the twin app behind uvicorn's wrappers (defaults otherwise)."""
    for _ in range(8):
        config = getattr(app, "config", None)
        if isinstance(config, GatewayConfig):
            return config
        app = getattr(app, "app", None)
        if app is None:
            break
    return GatewayConfig()


class GatewayHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with API Gateway's head limits and slow-client deadlines."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = _gateway_config(self.app)
        self._header_timeout = limits.header_timeout_s
        self._body_timeout = limits.body_timeout_s
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._phase = _HEAD
        self._phase_started = 0.0
        self._raw_head = 0
        self._refusal: GatewayResponse | None = None

    # Connection lifecycle -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()
        self._deadline_timer = self.loop.call_later(self._header_timeout, self._check_deadline)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer = None
        super().connection_lost(exc)

    def _await_head(self) -> None:
        self._phase = _HEAD
        self._phase_started = self.loop.time()
        self._raw_head = 0

    def _check_deadline(self) -> None:
        """Close a connection stuck in its head or body; otherwise look again later."""
        self._deadline_timer = None
        if self.transport.is_closing():
            return
        if self._phase == _APP:  # the handler or the response: not the client's fault
            delay = self._header_timeout
        else:
            limit = self._header_timeout if self._phase == _HEAD else self._body_timeout
            delay = self._phase_started + limit - self.loop.time()
            if delay <= 0:
                self.transport.close()
                return
        self._deadline_timer = self.loop.call_later(delay, self._check_deadline)

    # Data ---------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        # uvicorn's data_received, with the edge refusals in front of its 400.
        if self._refusal is not None:  # lingering after a refusal: discard what still comes
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._refuse()
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._phase == _HEAD:
            self._raw_head += len(data)
            if self._raw_head > MAX_RAW_HEAD_BYTES:
                too_long = len(getattr(self, "url", b"")) > MAX_REQUEST_LINE_BYTES
                self._refusal = URI_TOO_LONG if too_long else REQUEST_HEADER_FIELDS_TOO_LARGE
                self._refuse()

    def _refuse(self) -> None:
        """Answer the refusal, then close like a lingering close: half-close, drain, close.

        Closing at once with unread request bytes makes the kernel reset the connection, and
        the client may lose the answer; reading on for a moment lets it arrive.
        """
        assert self._refusal is not None
        transport = self.transport
        if transport.is_closing():
            return
        transport.write(self._refusal.raw())
        if transport.can_write_eof():
            transport.write_eof()
            self.loop.call_later(_LINGER_S, transport.close)
        else:
            transport.close()

    # Parser callbacks -----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._phase != _HEAD:
            self._await_head()

    def on_headers_complete(self) -> None:
        # Checked once the head is parsed (its raw size is capped meanwhile, in data_received):
        # "METHOD SP target SP HTTP/x.y" as the edge's decoder counts its line, and every
        # "name: value" header line without its CRLF.
        if len(self.parser.get_method()) + len(self.url) + 10 > MAX_REQUEST_LINE_BYTES:
            self._refusal = URI_TOO_LONG
            raise _RefusedError
        if (
            sum(len(name) + len(value) for name, value in self.headers) + 2 * len(self.headers)
            > MAX_HEADER_BYTES
        ):
            self._refusal = REQUEST_HEADER_FIELDS_TOO_LARGE
            raise _RefusedError
        self._phase = _BODY
        self._phase_started = self.loop.time()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._phase = _APP

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._phase == _APP:  # the connection now waits for the next request's head
            self._await_head()


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging setup plus the twin's own logger (handler crashes, bad responses).

    Only ``challenge_neuralworks.local`` is configured here: the handler configures the rest of
    the package's loggers itself, as it does in Lambda, and the two must not log twice.
    """
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["challenge_neuralworks.local"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def server_options(
    config: GatewayConfig,
    *,
    log_level: str | None = "info",
    access_log: bool = False,
) -> dict[str, Any]:
    """uvicorn settings for the twin (``serve``; the test server passes ``log_level=None``).

    httptools + uvloop when installed, the access log off (a log line per request would cost more
    than the gateway), no ``Server`` header, and no proxy headers: API Gateway's ``sourceIp`` is
    the TCP peer, whatever ``X-Forwarded-For`` a client sends.
    """
    options: dict[str, Any] = {
        "http": GatewayHttpProtocol,
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "timeout_keep_alive": config.keep_alive_timeout_s,
        "proxy_headers": False,
        "server_header": False,
        "access_log": access_log,
        "lifespan": "on",
    }
    if log_level is None:
        options["log_config"] = None
    else:
        options["log_level"] = log_level
        options["log_config"] = _log_config(log_level)
    return options
