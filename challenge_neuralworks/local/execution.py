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
import pickle
import select
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
    Marshaller,
    error_json,
)

_CLOSE_GRACE_S = 2.0
#: How long an invocation's reply is awaited synchronously before the event loop takes over.
_FAST_WAIT_S = 0.005
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
    #: In-process only: the handler's answer itself (``payload`` stays empty: no need to parse).
    response: Any = None


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

    async def invoke(self, event: dict[str, Any], request_id: str) -> Outcome:
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
        self._marshaller: Marshaller | None = None

    async def start(self) -> Outcome | None:
        if self._handler is None and self._load is not None:
            try:
                self._handler = self._load()  # type: ignore[call-arg]
            except Exception as exc:
                return Outcome(OutcomeKind.INIT_ERROR, error_json(exc), exc)
        return None

    async def invoke(self, event: dict[str, Any], request_id: str) -> Outcome:
        if self._handler is None:
            failed = await self.start()
            if failed is not None:
                return failed
        context = self._contexts.new(request_id)
        started = self._monotonic()
        try:
            size, result = self._marshal(self._handler(event, context))  # type: ignore[misc]
        except Exception as exc:
            return Outcome(OutcomeKind.ERROR, error_json(exc), exc)
        if self._monotonic() - started > self._timeout_s:
            return Outcome(OutcomeKind.TIMEOUT)
        if size > MAX_RESPONSE_BYTES:
            return Outcome(OutcomeKind.TOO_LARGE, str(size).encode("ascii"))
        return Outcome(OutcomeKind.RESULT, response=result)

    def _marshal(self, result: Any) -> tuple[int, Any]:
        """The size of the JSON the runtime would post, and the answer as API Gateway reads it."""
        if self._marshaller is None:
            self._marshaller = Marshaller()
        payload, plain = self._marshaller.marshal(result)
        return len(payload), result if plain else json.loads(payload)

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
        self._poller: select.poll | None = None

    @property
    def pid(self) -> int | None:
        """The current runtime process (None before the first start or after a timeout)."""
        return self._process.pid if self._process is not None else None

    def _bind(self) -> asyncio.Lock:
        """The lock of the running loop: an environment started under another loop is gone."""
        loop = asyncio.get_running_loop()
        if self._lock is None or loop is not self._loop:
            if self._loop is not None:
                self._discard()
            self._loop = loop
            self._lock = asyncio.Lock()
        return self._lock

    async def start(self) -> Outcome | None:
        async with self._bind():
            return await self._start_locked() if self._process is None else None

    async def _start_locked(self) -> Outcome | None:
        """Cold start: spawn the runtime and wait for its Init (None when it is ready)."""
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
        self._poller = select.poll()
        self._poller.register(self._from_child, select.POLLIN)
        outcome = await self._wait(self._init_timeout_s, OutcomeKind.INIT_TIMEOUT)
        if outcome.kind is OutcomeKind.READY:
            return None
        self._discard()
        return outcome

    async def invoke(self, event: dict[str, Any], request_id: str) -> Outcome:
        async with self._bind():
            if self._process is None:
                failed = await self._start_locked()
                if failed is not None:
                    return failed
            data = pickle.dumps(event, protocol=pickle.HIGHEST_PROTOCOL)
            started = time.monotonic()
            deadline_ms = int(time.time() * 1000) + self._timeout_ms
            frame = INVOKE_HEADER.pack(len(data), deadline_ms, request_id.encode("ascii"))
            outcome = None
            if self._send(frame + data):
                outcome = self._wait_briefly(started + _FAST_WAIT_S)
            if outcome is None:
                remaining = self._timeout_ms / 1000 - (time.monotonic() - started)
                outcome = await self._wait(remaining, OutcomeKind.TIMEOUT)
            if outcome.kind in (OutcomeKind.TIMEOUT, OutcomeKind.EXITED):
                self._discard()
            return outcome

    def _wait_briefly(self, until: float) -> Outcome | None:
        """The reply if it comes before ``until`` (monotonic), waiting here, off the event loop.

        Most invocations answer within a millisecond or two: blocking for that long costs less
        than a trip through the event loop (a future, a timer, a reader callback), and the
        worker's single execution environment is busy meanwhile anyway.
        """
        while (remaining := until - time.monotonic()) > 0:
            if not self._poller.poll(remaining * 1000):
                return None
            outcome = self._consume()
            if outcome is not None:
                return outcome
        return None

    async def _wait(self, timeout_s: float, on_timeout: OutcomeKind) -> Outcome:
        """The reply, awaited on the event loop; ``on_timeout`` after ``timeout_s``."""
        assert self._loop is not None
        loop = self._loop
        waiter = self._waiter = loop.create_future()
        if self._process is None:  # the child died while we were writing to it
            self._resolve(Outcome(OutcomeKind.EXITED))
        reading = self._from_child
        loop.add_reader(reading, self._readable)
        timer = loop.call_later(max(timeout_s, 0), self._resolve, Outcome(on_timeout))
        try:
            return await waiter
        finally:
            timer.cancel()
            self._waiter = None
            if self._from_child == reading:
                loop.remove_reader(reading)

    def _resolve(self, outcome: Outcome) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(outcome)

    def _send(self, frame: bytes) -> bool:
        """Write ``frame`` to the runtime; True when it went at once (else the loop finishes)."""
        view = memoryview(frame)
        try:
            view = view[os.write(self._to_child, view) :]
        except BlockingIOError:
            pass
        except OSError:  # EPIPE: the runtime is gone; reading its pipe reports it
            return True
        if not view:
            return True
        self._outbox = view
        assert self._loop is not None
        self._loop.add_writer(self._to_child, self._writable)
        return False

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
        outcome = self._consume()
        if outcome is not None:
            self._resolve(outcome)

    def _consume(self) -> Outcome | None:
        """Read what the runtime wrote; the outcome once a whole reply frame (or EOF) is in."""
        try:
            data = os.read(self._from_child, 1 << 20)
        except BlockingIOError:
            return None
        except OSError:
            data = b""
        if not data:
            return Outcome(OutcomeKind.EXITED, self._exit_status().encode("ascii"))
        inbox = self._inbox
        inbox += data
        header = REPLY_HEADER.size
        if len(inbox) < header:
            return None
        kind, length = REPLY_HEADER.unpack_from(inbox)
        if len(inbox) < header + length:
            return None
        payload = bytes(inbox[header : header + length])
        del inbox[: header + length]
        if kind == Kind.READY:
            return Outcome(OutcomeKind.READY)
        return Outcome(_FROM_CHILD[Kind(kind)], payload)

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
