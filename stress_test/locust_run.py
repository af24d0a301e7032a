"""``make stress-locust``: the locust suite against a freshly started local twin, recorded.

Starts the twin on 127.0.0.1 at a free port (unthrottled usage plan), runs locust headless as
its own process (never in this interpreter: locust's gevent patching must come first in the
process that runs it) for a fixed duration, or until ``--requests`` requests completed (then the
duration is only a deadline), writes locust's CSV and HTML reports into
``stress_test/results/`` plus a summary ``locust.json``, stops the twin, and fails unless
locust recorded requests of every kind and no failure.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stress_test.measure import RESULTS_DIR, machine, shown_command, verdict, write_json
from stress_test.twin import REPO, running_twin

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
REQUEST_KINDS = ("single", "batch", "invalid (400 expected)")


def locust_command(
    host: str,
    api_key: str,
    *,
    users: int,
    spawn_rate: int,
    seconds: int,
    csv_prefix: Path,
    html: Path | None,
    requests: int | None = None,
) -> list[str]:
    """The headless locust command line (run with this interpreter's locust); with
    ``requests``, the run ends once that many completed and ``seconds`` is only its deadline."""
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "-u",
        str(users),
        "-r",
        str(spawn_rate),
        "-t",
        f"{seconds}s",
        "--stop-timeout",
        "5",
        "--host",
        host,
        "--api-key",
        api_key,
        "--csv",
        str(csv_prefix),
        "--loglevel",
        "WARNING",
    ]
    if requests is not None:
        command += ["--stop-after-requests", str(requests)]
    if html is not None:
        command += ["--html", str(html)]
    return command


def read_stats(csv_prefix: Path) -> dict[str, dict[str, Any]]:
    """``<prefix>_stats.csv`` rows by name (``Aggregated`` included), numbers as numbers."""
    rows: dict[str, dict[str, Any]] = {}
    with Path(f"{csv_prefix}_stats.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rows[row["Name"]] = {k: _number(v) for k, v in row.items()}
    return rows


def _number(value: str) -> Any:
    try:
        return float(value) if "." in value or "e" in value.lower() else int(value)
    except ValueError:
        return value


def problems(stats: dict[str, dict[str, Any]], *, requests: int | None = None) -> list[str]:
    """Why the run fails: missing kinds of request, fewer requests than the run was to make
    (the deadline came first), or any failure."""
    found = [f"no {kind!r} requests recorded" for kind in REQUEST_KINDS if kind not in stats]
    total = stats.get("Aggregated")
    if total is None or not total["Request Count"]:
        found.append("no requests recorded")
        return found
    if requests is not None and total["Request Count"] < requests:
        found.append(f"{total['Request Count']} requests before the deadline, not {requests}")
    if total["Failure Count"]:
        found.append(f"{total['Failure Count']} failed requests")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Run locust against a fresh twin; exit 0 only without failures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--spawn-rate", type=int, default=16)
    parser.add_argument("--duration", type=int, default=45, help="seconds")
    parser.add_argument(
        "--requests",
        type=int,
        default=None,
        help="end after this many requests instead (--duration is then the deadline)",
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers of the twin")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--name", default="locust", help="file prefix of the reports")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    prefix = args.out_dir / args.name
    before = machine()
    with running_twin(workers=args.workers) as twin:
        command = locust_command(
            twin.base_url,
            twin.api_key,
            users=args.users,
            spawn_rate=args.spawn_rate,
            seconds=args.duration,
            csv_prefix=prefix,
            html=args.out_dir / f"{args.name}.html",
            requests=args.requests,
        )
        done = subprocess.run(
            command,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=args.duration + 120,
            check=False,
        )
    stats = read_stats(prefix) if Path(f"{prefix}_stats.csv").exists() else {}
    found = problems(stats, requests=args.requests)
    if done.returncode not in (0, 1):  # locust exits 1 when a request failed
        found.append(f"locust exited with {done.returncode}: {done.stderr[-1000:]}")
    summary = {
        "command": shown_command(
            command[3:], program="locust", port=twin.port, secret=twin.api_key
        ),
        "server": {"workers": args.workers, "handler_log_level": "WARNING"},
        "users": args.users,
        "spawn_rate": args.spawn_rate,
        "duration_s": args.duration,
        "requests": args.requests,
        "stats": stats,
        "machine_before": before,
        "machine_after": machine(),
        "checks": {"problems": found, "passed": not found},
    }
    path = write_json(f"{args.name}.json", summary, directory=args.out_dir)
    print("\n".join((done.stdout + done.stderr).strip().splitlines()[-30:]))
    print(f"written {path} and {prefix}_*.csv")
    return verdict(found, "every kind of request recorded, no failure")


if __name__ == "__main__":
    sys.exit(main())
