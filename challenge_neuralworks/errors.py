"""Errors the API answers with, and the one place their JSON envelope is built.

Every error body has the same shape, ``{"error": {"code", "message", "field", "allowed",
"suggestions"}}`` (members that do not apply are left out), so a client needs one parser for all
of them. Routes, the request contract and the models raise :class:`APIError` subclasses; the
handler's exception handler answers ``error.status`` with ``error.body()``.

Anything a client sent and an error repeats back goes through :func:`echo` first: it is cut to
:data:`ECHO_LIMIT` characters, so no value (a 2 MB string, a 1 MB unknown key) can make an error
answer bigger than the request-independent part of the message. Lambda refuses answers over 6 MB,
which API Gateway would turn into a 502.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

#: Characters of a client's value an error message repeats; longer values end in ``…``.
ECHO_LIMIT: Final[int] = 64
#: Most entries of ``allowed`` one error lists (the model's closed sets are far smaller).
ALLOWED_LIMIT: Final[int] = 200


def echo(value: Any, limit: int = ECHO_LIMIT) -> str:
    """``repr(value)`` for an error message, at most ``limit`` characters plus ``…``.

    Long strings are cut *before* ``repr`` so the cost is bounded too.
    """
    if isinstance(value, str):
        if len(value) > limit:
            return repr(value[:limit]) + "…"
        return repr(value)
    if isinstance(value, bool | None | float) or (
        isinstance(value, int) and value.bit_length() < 200
    ):
        text = repr(value)
    elif isinstance(value, int):
        return f"a number of about {int(value.bit_length() * 0.30103)} digits"
    else:
        text = repr(value)  # only bounded values reach here (dates, short tuples)
    return text if len(text) <= limit else text[:limit] + "…"


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` cut to ``limit`` characters plus ``…`` (field paths that embed a client's key)."""
    return text if len(text) <= limit else text[:limit] + "…"


class APIError(Exception):
    """An answer other than 200: an HTTP status, a machine-readable code and a message."""

    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        allowed: Sequence[Any] | None = None,
        suggestions: Sequence[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code
        self.field = field
        self.allowed = list(allowed)[:ALLOWED_LIMIT] if allowed is not None else None
        self.suggestions = list(suggestions) if suggestions else None
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON error envelope (``None`` members are left out)."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        if self.allowed is not None:
            error["allowed"] = self.allowed
        if self.suggestions:
            error["suggestions"] = self.suggestions
        return {"error": error}


class InputError(APIError):
    """400: a request item is invalid; names the field, the allowed values, the nearest ones."""

    status = 400
    code = "invalid_field"

    def prefixed(self, prefix: str) -> InputError:
        """The same error with ``prefix`` (e.g. ``flights[3]``) in front of the field."""
        field = prefix if not self.field else f"{prefix}.{self.field}"
        return InputError(
            self.message,
            field=field,
            code=self.code,
            allowed=self.allowed,
            suggestions=self.suggestions,
        )


class BadRequestError(APIError):
    """400: the request cannot be understood (not JSON, not an object, not a proxy event)."""


class NotFoundError(APIError):
    """404: no such route or model."""

    status = 404
    code = "not_found"


class MethodNotAllowedError(APIError):
    """405: the resource exists, the method does not (``Allow`` lists the ones that do)."""

    status = 405
    code = "method_not_allowed"


class PayloadTooLargeError(APIError):
    """413: body or batch larger than the documented limits."""

    status = 413
    code = "payload_too_large"


class ServiceUnavailableError(APIError):
    """503: the model exists but cannot serve (artifact missing, refused or incompatible)."""

    status = 503
    code = "model_unavailable"


class InternalServerError(APIError):
    """500: a bug. Never caused by what a client sends; logged with its traceback."""

    status = 500
    code = "internal_error"
