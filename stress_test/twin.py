"""Start the local API twin as its own process for a load test, and always stop it.

Why a process (not a thread): the load generator must measure the server the way a client
meets it (its own interpreter, its own event loop, possibly several uvicorn workers), and
locust must not share an interpreter with anything (gevent monkey-patching). Starting, waiting
and stopping are the twin's own harness (``challenge_neuralworks.local.testing.running_serve``);
this module adds what load tests need: a usage plan generous enough never to throttle the test,
the handler's log at WARNING, and the CPU time of the server and its workers.

:func:`session_cpu_seconds` reads that CPU time from ``/proc``: on a shared machine, CPU per
request is steadier than requests per second.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from challenge_neuralworks import environment
from challenge_neuralworks.local.testing import REPO, running_serve, session_members

__all__ = ["REPO", "RunningTwin", "running_twin", "session_cpu_seconds", "session_members"]

#: A usage plan no load test can exhaust: the test measures the service, not the throttle.
UNTHROTTLED_RATE: Final[int] = 1_000_000
UNTHROTTLED_BURST: Final[int] = 1_000_000
STAGE: Final[str] = "dev"
LOAD_TEST_KEY: Final[str] = "load-test-key"
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


@contextlib.contextmanager
def running_twin(
    *,
    workers: int = 1,
    api_key: str = LOAD_TEST_KEY,
    log_path: Path | None = None,
    handler: str | None = None,
    extra: tuple[str, ...] = (),
) -> Iterator[RunningTwin]:
    """Serve the handler (default: the project's) on 127.0.0.1:<free port> until the block
    ends. ``extra`` are more ``serve`` options (e.g. ``--in-process``)."""
    options = [
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
        *extra,
    ]
    # The handler's own access log stays at WARNING, as the twin documents for load tests;
    # `make bench` measures what the INFO access log would add per request.
    with running_serve(
        *options,
        log_path=log_path or Path(os.devnull),
        env={environment.LOG_LEVEL: "WARNING"},
        stage=STAGE,
        ready_key=api_key,
    ) as served:
        yield RunningTwin(served.pid, served.port, api_key, workers, served.log_path)


def session_cpu_seconds(session: int) -> float:
    """User + system CPU seconds used so far by the live processes of ``session``."""
    total = 0
    for pid in session_members(session):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS
