"""``make stress``: the challenge's wrk test against the local twin, checked and recorded.

Starts the twin (``python -m challenge_neuralworks serve``) on 127.0.0.1 at a free port with an
unthrottled usage plan, warms it up, runs ``wrk`` with ``post.lua`` for a fixed duration
(POSTing valid flights from the data set with the API key), then stops the server whatever
happened. It fails (exit 1) unless every request succeeded (no non-2xx, no socket errors, no
timeouts) and at least ``--min-requests`` were made; the figures (req/s, latency percentiles,
errors, CPU used by the server and by wrk) go to ``stress_test/results/<name>.json``.

``--workers``, ``--batch-size`` and ``--connections`` exist for the report's experiments
(``make stress-experiments``): the same test with two server workers, or with batches.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stress_test import wrk
from stress_test.measure import RESULTS_DIR, machine, shown_command, verdict, write_json
from stress_test.traffic import batch_body, load_requests
from stress_test.twin import RunningTwin, running_twin, session_cpu_seconds

POST_LUA = Path(__file__).resolve().parent / "post.lua"
WRK_MISSING = (
    "wrk is not installed. Install it with: sudo apt-get update && sudo apt-get install -y wrk"
    " (Debian/Ubuntu; `make stress` does this when it can), or see "
    "docs/stress_test.md for other systems."
)


def write_bodies(path: Path, *, count: int, batch_size: int, seed: int = 0) -> int:
    """``count`` distinct request bodies (one per line) drawn from the data set."""
    requests = load_requests()
    random.Random(seed).shuffle(requests)
    lines = []
    for i in range(count):
        if batch_size == 1:
            lines.append(json.dumps(requests[i % len(requests)]))
        else:
            start = (i * batch_size) % len(requests)
            lines.append(batch_body((requests + requests)[start : start + batch_size]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def run_wrk(
    twin: RunningTwin,
    *,
    model: str,
    seconds: int,
    threads: int,
    connections: int,
    bodies: Path,
) -> tuple[dict[str, Any], str, list[str]]:
    """One wrk run against the twin: (parsed figures, raw output, the command)."""
    command = [
        shutil.which("wrk") or "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "2s",
        "--latency",
        "-s",
        str(POST_LUA),
        f"{twin.base_url}/inference/{model}",
    ]
    env = {**os.environ, "CNW_API_KEY": twin.api_key, "CNW_WRK_BODIES": str(bodies)}
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return wrk.parse(done.stdout), done.stdout, command


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def stress(args: argparse.Namespace) -> dict[str, Any]:
    """Start the twin, warm up, run wrk, stop the twin; the results (not yet checked)."""
    with tempfile.TemporaryDirectory(prefix="cnw-stress-") as tmp:
        bodies = Path(tmp) / "bodies.jsonl"
        distinct = write_bodies(bodies, count=args.bodies, batch_size=args.batch_size)
        log = RESULTS_DIR / f"{args.name}.server.log.tmp"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.unlink(missing_ok=True)
        before = machine()
        extra = ("--in-process",) if args.in_process else ()
        with running_twin(
            workers=args.workers, log_path=log, handler=args.handler, extra=extra
        ) as twin:
            port = twin.port
            options = {
                "model": args.model,
                "threads": args.threads,
                "connections": args.connections,
                "bodies": bodies,
            }
            warmup, _, _ = run_wrk(twin, seconds=args.warmup, **options)
            server_cpu = session_cpu_seconds(twin.pid)
            wrk_cpu = _children_cpu_seconds()
            result, raw, command = run_wrk(twin, seconds=args.duration, **options)
            server_cpu = session_cpu_seconds(twin.pid) - server_cpu
            wrk_cpu = _children_cpu_seconds() - wrk_cpu
        after = machine()
        server_log = log.read_text(encoding="utf-8", errors="replace")
        log.unlink(missing_ok=True)
    requests = max(result["requests"], 1)
    return {
        "name": args.name,
        "command": shown_command(command[1:], program="wrk", port=port),
        "server": {
            "workers": args.workers,
            "handler": args.handler or "challenge_neuralworks.handler.lambda_handler",
            "execution": "in-process" if args.in_process else "child",
            "usage_plan": "unthrottled (rate 1,000,000 req/s, burst 1,000,000)",
            "handler_log_level": "WARNING",
            "cpu_seconds": server_cpu,
            "cpu_us_per_request": server_cpu / requests * 1e6,
            "log_tail": server_log.splitlines()[-20:],
        },
        "load": {
            "tool": "wrk",
            "model": args.model,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "threads": args.threads,
            "connections": args.connections,
            "batch_size": args.batch_size,
            "distinct_bodies": distinct,
            "wrk_cpu_seconds": wrk_cpu,
        },
        "warmup": {"requests": warmup["requests"], "requests_per_s": warmup["requests_per_s"]},
        "result": result,
        "flights_per_s": result["requests_per_s"] * args.batch_size,
        "machine_before": before,
        "machine_after": after,
        "raw_output": raw,
    }


def parser() -> argparse.ArgumentParser:
    """The command-line options (defaults: the challenge's 45 s test)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", default="stress", help="results file name (without .json)")
    p.add_argument("--duration", type=int, default=45, help="seconds of measured load")
    p.add_argument("--warmup", type=int, default=5, help="seconds of unrecorded load first")
    p.add_argument("--threads", type=int, default=1, help="wrk threads")
    p.add_argument("--connections", type=int, default=32, help="wrk connections")
    p.add_argument(
        "--workers", type=int, default=2, help="uvicorn workers of the twin (2: one per core here)"
    )
    p.add_argument("--model", default="delay", help="model to POST to")
    p.add_argument("--handler", help="Lambda handler to serve (default: the project's)")
    p.add_argument(
        "--in-process",
        action="store_true",
        help="serve the handler inside the twin's workers (`serve --in-process`): the service's "
        "capacity without the twin's emulated execution environment (docs/local.md)",
    )
    p.add_argument("--batch-size", type=int, default=1, help="flights per request (1: single)")
    p.add_argument("--bodies", type=int, default=5000, help="distinct request bodies")
    p.add_argument("--min-requests", type=int, default=50_000, help="fail below this many requests")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run, check, write, print; exit 0 only when the test passed."""
    args = parser().parse_args(argv)
    if shutil.which("wrk") is None:
        print(WRK_MISSING, file=sys.stderr)
        return 2
    results = stress(args)
    found = wrk.problems(results["result"], min_requests=args.min_requests)
    results["checks"] = {"min_requests": args.min_requests, "problems": found, "passed": not found}
    path = write_json(f"{args.name}.json", results)
    r = results["result"]
    latency = r["script"]["latency_us"] if "script" in r else r.get("latency_us", {})
    print(results["raw_output"].rstrip())
    print(
        f"\n{r['requests']:,} requests in {r['duration_s']:.1f} s: {r['requests_per_s']:,.0f} req/s"
        f" ({results['flights_per_s']:,.0f} flights/s), p50 {latency.get('p50', 0) / 1000:.2f} ms,"
        f" p99 {latency.get('p99', 0) / 1000:.2f} ms; server CPU "
        f"{results['server']['cpu_us_per_request']:.0f} µs/request "
        f"({args.workers} worker(s)); load average {results['machine_before']['load_average']}"
    )
    print(f"written {path}")
    return verdict(found, "no failed request, no socket error, no timeout")


if __name__ == "__main__":
    sys.exit(main())
