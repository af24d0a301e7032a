"""The one harness that starts the twin, waits until it serves, and always stops it.

Two ways to run it, over one wait-for-ready implementation (``wait_until_ready``):

* in a thread of the test process (``running_in_thread`` / ``serve_in_thread``): real uvicorn and
  real HTTP (the same parser, headers and framing a client meets), with an injected handler that
  can record what it received, and a ``FakeClock`` that moves only when the test says so;
* as ``python -m challenge_neuralworks serve`` in its own process (``running_serve``): what a
  developer runs, with workers and execution environments, for the serve tests, the load tests and
  ``make stress``. It gets its own session, so stopping it also ends its workers and runtimes.

Both bind a free loopback port, never a fixed one, and stop what they started by its id.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from challenge_neuralworks.local.app import GatewayApp
from challenge_neuralworks.local.config import DEFAULT_API_KEY, DEFAULT_STAGE

#: Generous: a cold start compiles every import when PYTHONDONTWRITEBYTECODE is set, and CI shares
#: its cores with whatever else runs.
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
REPO = Path(__file__).resolve().parents[2]


class FakeClock:
    """A ``Clock`` whose monotonic and wall times advance only through ``advance``."""

    def __init__(self, wall: float = 1_704_456_000.0, monotonic: float = 1_000.0) -> None:
        self._wall = wall
        self._monotonic = monotonic

    def monotonic(self) -> float:
        return self._monotonic

    def time(self) -> float:
        return self._wall

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds``."""
        self._wall += seconds
        self._monotonic += seconds


def _ok(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": '{"ok": true}'}


class RecordingHandler:
    """A Lambda handler that records each ``(event, context)`` and answers with ``respond``.

    ``respond`` defaults to ``200 {"ok": true}``; tests swap it to return any proxy response,
    a malformed one, or to raise.
    """

    def __init__(self, respond: Callable[[dict[str, Any], Any], Any] | None = None) -> None:
        self.calls: list[tuple[dict[str, Any], Any]] = []
        self.respond = respond or _ok

    def reset(self) -> None:
        """Forget the calls and answer ``200 {"ok": true}`` again (between tests)."""
        self.calls.clear()
        self.respond = _ok

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.calls.append((event, context))
        return self.respond(event, context)

    @property
    def last_event(self) -> dict[str, Any]:
        """The most recent event (fails loudly when the handler was never called)."""
        if not self.calls:
            raise AssertionError("the handler was not called")
        return self.calls[-1][0]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_ready(
    ready: Callable[[], bool],
    *,
    alive: Callable[[], bool],
    what: str,
    timeout_s: float = START_TIMEOUT_S,
    interval_s: float = 0.05,
) -> None:
    """Poll ``ready`` until it is true; fail as soon as ``alive`` is false, or at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if not alive():
            raise RuntimeError(f"{what} stopped before it was ready")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} was not ready within {timeout_s:g} s")
        time.sleep(interval_s)


def answers_health(base_url: str, api_key: str) -> bool:
    """Whether ``GET {base_url}/health`` with ``api_key`` answers 200 right now."""
    request = urllib.request.Request(f"{base_url}/health", headers={"x-api-key": api_key})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@dataclass
class InThreadTwin:
    """A twin served by uvicorn in a thread of this process."""

    url: str
    app: GatewayApp
    server: Any  # uvicorn.Server

    def open_connections(self) -> int:
        """Connections the server holds right now (slow-client tests wait on this)."""
        return len(self.server.server_state.connections)


@contextlib.contextmanager
def running_in_thread(app: GatewayApp) -> Iterator[InThreadTwin]:
    """Serve ``app`` on a free 127.0.0.1 port with the twin's uvicorn settings; always stops."""
    import uvicorn

    from challenge_neuralworks.local.protocol import server_options

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options = server_options(app.config, log_level=None)
    server = uvicorn.Server(uvicorn.Config(app, timeout_graceful_shutdown=5, **options))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="gateway-twin", daemon=True
    )
    thread.start()
    try:
        wait_until_ready(
            lambda: server.started, alive=thread.is_alive, what="the in-thread gateway twin"
        )
        yield InThreadTwin(f"http://127.0.0.1:{port}", app, server)
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)
        sock.close()


@contextlib.contextmanager
def serve_in_thread(app: GatewayApp) -> Iterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port; yields the base URL (no stage); always stops."""
    with running_in_thread(app) as twin:
        yield twin.url


@dataclass
class ServeProcess:
    """A running ``python -m challenge_neuralworks serve``."""

    process: subprocess.Popen[bytes]
    port: int
    stage: str
    log_path: Path

    @property
    def pid(self) -> int:
        """The serve process (the leader of its session: workers and runtimes are in it)."""
        return self.process.pid

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (no stage)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/<stage>``: the stage URL clients use."""
        return f"{self.url}/{self.stage}"

    def output(self) -> str:
        """What serve printed so far (banner, logs)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """SIGINT (uvicorn's graceful stop), then SIGKILL for anything left in its session."""
        stop_session(self.process)


@contextlib.contextmanager
def running_serve(
    *options: str,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    stage: str = DEFAULT_STAGE,
    ready: Callable[[ServeProcess], bool] | None = None,
    ready_key: str = DEFAULT_API_KEY,
    cwd: Path = REPO,
) -> Iterator[ServeProcess]:
    """Run ``serve --host 127.0.0.1 --port <free> *options`` until the block ends.

    Ready means ``GET /<stage>/health`` with ``ready_key`` answers 200 (or ``ready`` says so);
    the process is stopped, with its session, whatever happens in the block.
    """
    port = free_port()
    command: Sequence[str] = [
        sys.executable,
        "-m",
        "challenge_neuralworks",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *options,
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = ServeProcess(process, port, stage, log_path)
    try:
        check = ready or (lambda s: answers_health(s.base_url, ready_key))
        try:
            wait_until_ready(
                lambda: check(served),
                alive=lambda: process.poll() is None,
                what=f"serve on port {port}",
            )
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; its output:\n{served.output()[-4000:]}") from None
        yield served
    finally:
        served.stop()


def stop_session(process: subprocess.Popen[bytes]) -> None:
    """Stop ``process`` gracefully, then kill whatever is left of the session it leads."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)
    for pid in session_members(process.pid):  # workers or runtimes orphaned by a crash, if any
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # fields 3.. (the name may contain spaces)


def session_members(session: int) -> list[int]:
    """Live processes whose session id is ``session`` (serve, its workers and runtimes)."""
    members = []
    proc = Path("/proc")
    if not proc.is_dir():
        return members
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None and fields[0] != "Z" and int(fields[3]) == session:
            members.append(int(entry.name))
    return members
