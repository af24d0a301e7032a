"""The Lambda context object handed to the handler, with awslambdaric's attribute names.

Code that reads ``context.aws_request_id`` or calls ``get_remaining_time_in_millis()`` (as
Powertools' logger does) must behave the same locally as in the container, so this mirrors
``awslambdaric.lambda_context.LambdaContext``: same attributes, ``memory_limit_in_mb`` a string
(it comes from an environment variable there), a deadline in epoch milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from challenge_neuralworks.local.config import GatewayConfig


class LambdaContext:
    """What ``lambda_handler(event, context)`` receives as ``context``."""

    __slots__ = (
        "_deadline_ms",
        "_wall_time",
        "aws_request_id",
        "client_context",
        "function_name",
        "function_version",
        "identity",
        "invoked_function_arn",
        "log_group_name",
        "log_stream_name",
        "memory_limit_in_mb",
        "tenant_id",
    )

    def __init__(
        self,
        *,
        aws_request_id: str,
        function_name: str,
        invoked_function_arn: str,
        memory_limit_in_mb: str,
        deadline_ms: int,
        function_version: str = "$LATEST",
        wall_time: Callable[[], float] = time.time,
    ) -> None:
        self.aws_request_id = aws_request_id
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = memory_limit_in_mb
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local-twin"
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline_ms = deadline_ms
        self._wall_time = wall_time

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation's deadline (never negative)."""
        remaining = self._deadline_ms - int(self._wall_time() * 1000)
        return remaining if remaining > 0 else 0


class ContextFactory:
    """Makes one ``LambdaContext`` per invocation for a configured function."""

    def __init__(self, config: GatewayConfig, wall_time: Callable[[], float] = time.time) -> None:
        self._function_name = config.lambda_function_name
        #: The ARN API Gateway invokes: the function's ``live`` alias.
        self.arn = (
            f"arn:aws:lambda:{config.region}:{config.account_id}:function:"
            f"{config.lambda_function_name}:{config.function_alias}"
        )
        self._memory = str(config.memory_limit_mb)
        self._timeout_ms = config.timeout_ms
        self._wall_time = wall_time

    def new(self, aws_request_id: str) -> LambdaContext:
        """A context whose deadline is ``timeout_ms`` from now."""
        return LambdaContext(
            aws_request_id=aws_request_id,
            function_name=self._function_name,
            invoked_function_arn=self.arn,
            memory_limit_in_mb=self._memory,
            deadline_ms=int(self._wall_time() * 1000) + self._timeout_ms,
            wall_time=self._wall_time,
        )
