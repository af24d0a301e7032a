"""The twin's Lambda execution environment: a child process that runs the handler.

``serve`` starts one per worker (``execution.ProcessEnvironment``), so the twin can do what Lambda
does and an in-process call cannot: stop a handler at its timeout (the parent kills this process)
and make the next invocation a cold start (a fresh process imports the handler again). Like
Lambda's runtime it imports the handler once (the Init phase), then loops: read an event, call
``handler(event, context)``, serialise the answer with awslambdaric's own marshaller (the JSON the
Lambda runtime posts, whose size Lambda limits), and send it back.

Frames on the two pipes (little-endian):

* parent -> child: ``<IQ`` (event length, deadline in epoch ms), the 36-character invocation id,
  then the event JSON;
* child -> parent: ``<BI`` (kind, payload length), then the payload (see ``Kind``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import pickle
import signal
import struct
import sys
import traceback
from enum import IntEnum
from typing import Any, Final

INVOKE_HEADER: Final = struct.Struct("<IQ36s")
REPLY_HEADER: Final = struct.Struct("<BI")
#: Lambda's limit on a synchronous invocation's response: "Response payload size exceeded
#: maximum allowed payload size (6291556 bytes)" is the runtime's error past it.
MAX_RESPONSE_BYTES: Final = 6_291_556


class Kind(IntEnum):
    """What a reply frame carries."""

    READY = 0  #: Init succeeded (empty payload)
    INIT_ERROR = 1  #: Init failed: Lambda's error JSON (errorMessage, errorType, stackTrace)
    RESULT = 2  #: the marshalled response JSON
    ERROR = 3  #: the handler raised (or its answer is not serialisable): Lambda's error JSON
    TOO_LARGE = 4  #: the response JSON exceeds MAX_RESPONSE_BYTES: its size, as ASCII digits


class Marshaller:
    """The JSON the Lambda runtime posts for an answer: awslambdaric's marshaller, made fast.

    For JSON types the standard library's C encoder writes the same text as awslambdaric's
    (same separators, NaN allowed, ``ensure_ascii`` as awslambdaric sets it from
    ``AWS_EXECUTION_ENV``) several times faster; anything else (a Decimal, an object) goes
    through awslambdaric's own marshaller, which encodes it or raises ``Runtime.MarshalError``.
    """

    def __init__(self) -> None:
        from awslambdaric.lambda_runtime_marshaller import LambdaMarshaller

        self._lambda = LambdaMarshaller()
        self._ensure_ascii = bool(self._lambda.jsonEncoder.ensure_ascii)

    def marshal(self, response: Any) -> tuple[bytes, bool]:
        """The posted bytes, and whether they are plain JSON of ``response`` itself."""
        try:
            text = json.dumps(response, ensure_ascii=self._ensure_ascii)
        except (TypeError, ValueError):
            text, _ = self._lambda.marshal_response(response)
            if isinstance(text, bytes):  # awslambdaric passes bytes through unchanged
                return text, False
            return text.encode("utf-8"), False
        return text.encode("utf-8"), True


def error_json(exc: BaseException) -> bytes:
    """Lambda's function-error shape for ``exc`` (awslambdaric's faults keep their own type)."""
    return json.dumps(
        {
            "errorMessage": getattr(exc, "msg", None) or str(exc),
            "errorType": getattr(exc, "exception_type", None) or type(exc).__name__,
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
    ).encode("utf-8")


class _Reader:
    """Buffered exact reads from a pipe: one ``read`` usually brings a whole frame."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()

    def read_exact(self, size: int) -> bytes | None:
        """``size`` bytes, or None at end of file (the parent went away)."""
        buffer = self._buffer
        while len(buffer) < size:
            chunk = os.read(self._fd, max(1 << 16, size - len(buffer)))
            if not chunk:
                return None
            buffer += chunk
        data = bytes(buffer[:size])
        del buffer[:size]
        return data


def _send(fd: int, kind: Kind, payload: bytes = b"") -> None:
    data = memoryview(REPLY_HEADER.pack(kind, len(payload)) + payload)
    while data:
        data = data[os.write(fd, data) :]


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to kill this process when the thread that started it ends (no orphans)."""
    libc_name = ctypes.util.find_library("c")
    if sys.platform.startswith("linux") and libc_name:
        pr_set_pdeathsig = 1
        ctypes.CDLL(libc_name, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def main(spec_json: str) -> int:
    """Init, then serve invocations until the parent closes the pipe."""
    spec: dict[str, Any] = json.loads(spec_json)
    # Ctrl-C reaches the whole process group: the parent decides when this environment ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(spec["parent_pid"])
    sys.path[:] = spec["sys_path"] + [p for p in sys.path if p not in spec["sys_path"]]
    reader, out_fd = _Reader(spec["in_fd"]), spec["out_fd"]

    from challenge_neuralworks.local.context import LambdaContext
    from challenge_neuralworks.local.loading import import_handler

    try:
        handler = import_handler(spec["handler"])
    except Exception as exc:
        _send(out_fd, Kind.INIT_ERROR, error_json(exc))
        return 1
    marshaller = Marshaller()
    _send(out_fd, Kind.READY)
    while True:
        header = reader.read_exact(INVOKE_HEADER.size)
        if header is None:
            return 0
        length, deadline_ms, request_id = INVOKE_HEADER.unpack(header)
        event = reader.read_exact(length)
        if event is None:
            return 0
        context = LambdaContext(
            aws_request_id=request_id.decode("ascii"),
            function_name=spec["function_name"],
            invoked_function_arn=spec["invoked_function_arn"],
            memory_limit_in_mb=spec["memory_limit_in_mb"],
            deadline_ms=deadline_ms,
        )
        try:
            response = handler(pickle.loads(event), context)
            payload, _ = marshaller.marshal(response)
        except Exception as exc:
            _send(out_fd, Kind.ERROR, error_json(exc))
            continue
        if len(payload) > MAX_RESPONSE_BYTES:
            _send(out_fd, Kind.TOO_LARGE, str(len(payload)).encode("ascii"))
        else:
            _send(out_fd, Kind.RESULT, payload)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
