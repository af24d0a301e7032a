"""Start the local API twin as its own process for a load test, and always stop it.

Why a process (not a thread): the load generator must measure the server the way a client
meets it (its own interpreter, its own event loop, possibly several uvicorn workers), and
locust must not share an interpreter with anything (gevent monkey-patching). Every run binds
127.0.0.1 on a free port, uses a usage plan generous enough never to throttle the test, and
stops the server it started, by its own process id (its workers are in the session it leads).

:func:`session_cpu_seconds` reads the CPU time of the server and its workers from ``/proc``:
on a shared machine, CPU per request is steadier than requests per second.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

REPO: Final[Path] = Path(__file__).resolve().parent.parent
#: A usage plan no load test can exhaust: the test measures the service, not the throttle.
UNTHROTTLED_RATE: Final[int] = 1_000_000
UNTHROTTLED_BURST: Final[int] = 1_000_000
STAGE: Final[str] = "dev"
LOAD_TEST_KEY: Final[str] = "load-test-key"
_START_TIMEOUT_S: Final[float] = 180.0  # a deadline for a hung start, not a speed target
_STOP_TIMEOUT_S: Final[float] = 15.0
_TICKS: Final[int] = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class RunningTwin:
    """A started twin: where it listens and who it is."""

    pid: int
    port: int
    api_key: str
    workers: int
    log_path: Path

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/<stage>``: the stage URL clients use."""
        return f"http://127.0.0.1:{self.port}/{STAGE}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(base_url: str, api_key: str) -> bool:
    request = urllib.request.Request(f"{base_url}/health", headers={"x-api-key": api_key})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextlib.contextmanager
def running_twin(
    *,
    workers: int = 1,
    api_key: str = LOAD_TEST_KEY,
    log_path: Path | None = None,
    handler: str | None = None,
) -> Iterator[RunningTwin]:
    """Serve the handler (default: the project's) on 127.0.0.1:<free port> until the block
    ends."""
    port = free_port()
    log_path = log_path or Path(os.devnull)
    command = [
        sys.executable,
        "-m",
        "challenge_neuralworks",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--api-key",
        api_key,
        "--rate",
        str(UNTHROTTLED_RATE),
        "--burst",
        str(UNTHROTTLED_BURST),
        "--workers",
        str(workers),
        "--stage",
        STAGE,
        "--log-level",
        "warning",
        *(["--handler", handler] if handler else []),
    ]
    # The handler's own access log stays at WARNING, as the twin documents for load tests;
    # `make bench` measures what the INFO access log would add per request.
    env = {**os.environ, "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    twin = RunningTwin(process.pid, port, api_key, workers, log_path)
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not _healthy(twin.base_url, api_key):
            if process.poll() is not None:
                raise RuntimeError(
                    f"the twin exited with {process.returncode} before serving; see {log_path}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"the twin did not answer /health in {_START_TIMEOUT_S} s")
            time.sleep(0.2)
        yield twin
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT (uvicorn's graceful stop), then SIGKILL for anything left in its session."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=_STOP_TIMEOUT_S)
    for pid in session_members(process.pid):  # workers orphaned by a crash, if any
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # fields 3.. (the name may contain spaces)


def session_members(session: int) -> list[int]:
    """Live processes whose session id is ``session`` (the twin and its workers)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None and int(fields[3]) == session:
            members.append(int(entry.name))
    return members


def session_cpu_seconds(session: int) -> float:
    """User + system CPU seconds used so far by the live processes of ``session``."""
    total = 0
    for pid in session_members(session):
        fields = _stat_fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS
