"""Lambda execution environments for the twin: where ``lambda_handler(event, context)`` runs.

``ProcessEnvironment`` (what ``serve`` uses) runs the handler in a child process
(``runtime.py``), one per worker, one event at a time, as a Lambda execution environment does.
That is what lets the twin enforce Lambda's rules while the handler runs, not after:

* the function timeout: at the deadline the child is killed (a Python thread cannot be stopped)
  and the request gets API Gateway's answer at once; the next invocation is a cold start in a
  fresh process, as on Lambda after a timeout;
* the Init phase: importing the handler has Lambda's 10 s limit, and a failed init is retried by
  the next invocation;
* a crash of the runtime (``os._exit``, a segfault) is Lambda's ``Runtime.ExitError``;
* the response is the JSON awslambdaric's marshaller produces, and its size is Lambda's to check.

``InlineEnvironment`` calls an injected Python callable in the worker itself (tests that record
what the handler received, ``--in-process`` for debuggers). It cannot interrupt the handler: its
timeout is checked when the handler returns, on the injected clock (exact in tests).

Both return an ``Outcome``; ``app.py`` turns it into API Gateway's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from enum import Enum
from typing import Any, NamedTuple, Protocol

from challenge_neuralworks.local.config import GatewayConfig
from challenge_neuralworks.local.context import ContextFactory
from challenge_neuralworks.local.loading import Handler
from challenge_neuralworks.local.runtime import (
    INVOKE_HEADER,
    MAX_RESPONSE_BYTES,
    REPLY_HEADER,
    Kind,
    error_json,
)

_CLOSE_GRACE_S = 2.0
_EXIT_WAIT_S = 1.0


class OutcomeKind(Enum):
    """How an invocation ended."""

    READY = "ready"  #: the Init phase succeeded (internal to start)
    RESULT = "result"  #: payload: the response JSON
    ERROR = "error"  #: payload: Lambda's error JSON (the handler raised, or a marshal error)
    TOO_LARGE = "too_large"  #: payload: the response JSON's size (ASCII digits)
    TIMEOUT = "timeout"  #: the function ran past its timeout (the environment was replaced)
    EXITED = "exited"  #: the runtime process died (payload: its exit status, ASCII)
    INIT_ERROR = "init_error"  #: payload: Lambda's error JSON for the failed import
    INIT_TIMEOUT = "init_timeout"  #: the Init phase ran past its limit


class Outcome(NamedTuple):
    """One invocation's end and its payload."""

    kind: OutcomeKind
    payload: bytes = b""
    #: In-process only: the exception itself, so the log keeps its traceback object.
    exception: BaseException | None = None


_FROM_CHILD = {
    Kind.RESULT: OutcomeKind.RESULT,
    Kind.ERROR: OutcomeKind.ERROR,
    Kind.TOO_LARGE: OutcomeKind.TOO_LARGE,
    Kind.INIT_ERROR: OutcomeKind.INIT_ERROR,
}


class ExecutionEnvironment(Protocol):
    """Runs invocations; ``app.py`` depends only on this."""

    async def start(self) -> Outcome | None:
        """Init ahead of the first request (None when ready, else why not)."""

    async def invoke(self, event: dict[str, Any], event_json: bytes, request_id: str) -> Outcome:
        """Run one invocation to its end."""

    def close(self) -> None:
        """Release the environment (server shutdown)."""


class InlineEnvironment:
    """The handler called in this process; its timeout is checked when it returns."""

    def __init__(
        self,
        handler: Handler | Callable[[], Handler],
        config: GatewayConfig,
        *,
        monotonic: Callable[[], float],
        wall_time: Callable[[], float],
        lazy: bool = False,
    ) -> None:
        self._handler: Handler | None = None if lazy else handler  # type: ignore[assignment]
        self._load = handler if lazy else None
        self._contexts = ContextFactory(config, wall_time)
        self._monotonic = monotonic
        self._timeout_s = config.timeout_ms / 1000
        self._marshaller: Any = None

    async def start(self) -> Outcome | None:
        if self._handler is None and self._load is not None:
            try:
                self._handler = self._load()  # type: ignore[call-arg]
            except Exception as exc:
                return Outcome(OutcomeKind.INIT_ERROR, error_json(exc), exc)
        return None

    async def invoke(self, event: dict[str, Any], event_json: bytes, request_id: str) -> Outcome:
        if self._handler is None:
            failed = await self.start()
            if failed is not None:
                return failed
        if self._marshaller is None:
            from awslambdaric.lambda_runtime_marshaller import LambdaMarshaller

            self._marshaller = LambdaMarshaller()
        context = self._contexts.new(request_id)
        started = self._monotonic()
        try:
            result = self._handler(event, context)  # type: ignore[misc]
            text, _ = self._marshaller.marshal_response(result)
        except Exception as exc:
            return Outcome(OutcomeKind.ERROR, error_json(exc), exc)
        if self._monotonic() - started > self._timeout_s:
            return Outcome(OutcomeKind.TIMEOUT)
        payload = text if isinstance(text, bytes) else text.encode("utf-8")
        if len(payload) > MAX_RESPONSE_BYTES:
            return Outcome(OutcomeKind.TOO_LARGE, str(len(payload)).encode("ascii"))
        return Outcome(OutcomeKind.RESULT, payload)

    def close(self) -> None:
        """Nothing to release."""


class ProcessEnvironment:
    """The handler in a child process (``runtime.py``), killed and replaced at its timeout."""

    def __init__(self, config: GatewayConfig) -> None:
        self._spec = {
            "handler": config.handler,
            "function_name": config.lambda_function_name,
            "invoked_function_arn": ContextFactory(config).arn,
            "memory_limit_in_mb": str(config.memory_limit_mb),
        }
        self._timeout_ms = config.timeout_ms
        self._init_timeout_s = config.init_timeout_ms / 1000
        self._process: subprocess.Popen[bytes] | None = None
        self._to_child = -1
        self._from_child = -1
        self._inbox = bytearray()
        self._outbox: memoryview | None = None
        self._waiter: asyncio.Future[Outcome] | None = None
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def pid(self) -> int | None:
        """The current runtime process (None before the first start or after a timeout)."""
        return self._process.pid if self._process is not None else None

    async def start(self) -> Outcome | None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            return await self._start_locked() if self._process is None else None

    async def _start_locked(self) -> Outcome | None:
        """Cold start: spawn the runtime and wait for its Init (None when it is ready)."""
        self._loop = asyncio.get_running_loop()
        child_in, self._to_child = os.pipe()
        self._from_child, child_out = os.pipe()
        spec = {
            **self._spec,
            "in_fd": child_in,
            "out_fd": child_out,
            "parent_pid": os.getpid(),
            "sys_path": [entry for entry in sys.path if entry],
        }
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "challenge_neuralworks.local.runtime", json.dumps(spec)],
                pass_fds=(child_in, child_out),
                stdin=subprocess.DEVNULL,
            )
        finally:
            os.close(child_in)
            os.close(child_out)
        os.set_blocking(self._to_child, False)
        os.set_blocking(self._from_child, False)
        self._inbox.clear()
        self._loop.add_reader(self._from_child, self._readable)
        outcome = await self._wait(self._init_timeout_s, OutcomeKind.INIT_TIMEOUT)
        if outcome.kind is OutcomeKind.READY:
            return None
        self._discard()
        return outcome

    async def invoke(self, event: dict[str, Any], event_json: bytes, request_id: str) -> Outcome:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._process is None:
                failed = await self._start_locked()
                if failed is not None:
                    return failed
            deadline_ms = int(time.time() * 1000) + self._timeout_ms
            frame = INVOKE_HEADER.pack(len(event_json), deadline_ms, request_id.encode("ascii"))
            self._send(frame + event_json)
            outcome = await self._wait(self._timeout_ms / 1000, OutcomeKind.TIMEOUT)
            if outcome.kind in (OutcomeKind.TIMEOUT, OutcomeKind.EXITED):
                self._discard()
            return outcome

    async def _wait(self, timeout_s: float, on_timeout: OutcomeKind) -> Outcome:
        assert self._loop is not None
        waiter = self._waiter = self._loop.create_future()
        if self._process is None:  # the child died while we were writing to it
            self._resolve(Outcome(OutcomeKind.EXITED))
        timer = self._loop.call_later(timeout_s, self._resolve, Outcome(on_timeout))
        try:
            return await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def _resolve(self, outcome: Outcome) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(outcome)

    def _send(self, frame: bytes) -> None:
        view = memoryview(frame)
        try:
            view = view[os.write(self._to_child, view) :]
        except BlockingIOError:
            pass
        except OSError:  # EPIPE: the runtime is gone; the reader reports it
            return
        if view:
            self._outbox = view
            assert self._loop is not None
            self._loop.add_writer(self._to_child, self._writable)

    def _writable(self) -> None:
        view = self._outbox
        assert view is not None and self._loop is not None
        try:
            view = view[os.write(self._to_child, view) :]
        except BlockingIOError:
            return
        except OSError:
            view = view[:0]
        if not view:
            self._outbox = None
            self._loop.remove_writer(self._to_child)
        else:
            self._outbox = view

    def _readable(self) -> None:
        try:
            data = os.read(self._from_child, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            assert self._loop is not None
            self._loop.remove_reader(self._from_child)
            self._resolve(Outcome(OutcomeKind.EXITED, self._exit_status().encode("ascii")))
            return
        inbox = self._inbox
        inbox += data
        header = REPLY_HEADER.size
        while len(inbox) >= header:
            kind, length = REPLY_HEADER.unpack_from(inbox)
            if len(inbox) < header + length:
                return
            payload = bytes(inbox[header : header + length])
            del inbox[: header + length]
            if kind == Kind.READY:
                self._resolve(Outcome(OutcomeKind.READY))
            else:
                self._resolve(Outcome(_FROM_CHILD[Kind(kind)], payload))

    def _exit_status(self) -> str:
        """The runtime's exit status once its pipe closed (it is exiting; wait a moment)."""
        if self._process is None:
            return "unknown"
        try:
            return str(self._process.wait(timeout=_EXIT_WAIT_S))
        except subprocess.TimeoutExpired:  # it closed its pipe but lives on: _discard kills it
            return "unknown"

    def _discard(self) -> None:
        """Kill the runtime (if alive) and forget it: the next invocation is a cold start."""
        process, self._process = self._process, None
        self._close_pipes()
        if process is not None and process.poll() is None:
            process.kill()
            # Reap it off the event loop: a killed process can take a moment to exit.
            threading.Thread(target=process.wait, name="cnw-reap", daemon=True).start()

    def _close_pipes(self) -> None:
        loop = self._loop
        for fd, remove in ((self._from_child, "remove_reader"), (self._to_child, "remove_writer")):
            if fd < 0:
                continue
            if loop is not None and not loop.is_closed():
                with contextlib.suppress(Exception):
                    getattr(loop, remove)(fd)
            with contextlib.suppress(OSError):
                os.close(fd)
        self._from_child = self._to_child = -1
        self._outbox = None

    def close(self) -> None:
        """End the runtime: EOF on its input lets it exit; killed after a short grace."""
        process, self._process = self._process, None
        self._close_pipes()
        if process is None:
            return
        try:
            process.wait(timeout=_CLOSE_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=_CLOSE_GRACE_S)
