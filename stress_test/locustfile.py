"""Locust users sending realistic traffic to the API: the local twin or a deployed stage.

Traffic (per user, no think time unless ``--think-time``): 85 % single predictions of real
scheduled flights from ``data/dataset_SCL.csv`` (original contract, with optional fields, or
``FECHA-I``), 8 % batches of 2-50 flights, 5 % invalid requests that must be answered 400 with
the expected error code (a 400 is their *success*; anything else fails them), 1 % model
description, 1 % health. Every answer is checked, not only its status.

    # against the local twin (make stress-locust starts one for you)
    locust -f stress_test/locustfile.py --headless -u 64 -r 16 -t 45s \\
        --host http://127.0.0.1:8000/dev --api-key local-dev-key \\
        --csv stress_test/results/locust --html stress_test/results/locust.html

    # against a deployed stage: the host includes the stage; the key comes from the environment
    CNW_API_KEY=... locust -f stress_test/locustfile.py --headless -u 20 -r 5 -t 2m \\
        --host https://<api-id>.execute-api.<region>.amazonaws.com/dev --think-time 0.2

    # distributed: one master, N workers (other machines: add --master-host=<master ip>)
    locust -f stress_test/locustfile.py --master --headless -u 400 -r 40 -t 5m \\
        --expect-workers 4 --host ... --csv ...
    locust -f stress_test/locustfile.py --worker          # once per worker (per core)

Against a deployed stage, keep users x rate under the usage plan (see docs/infra.md), or the
gateway's own 429s will (rightly) count as failures.

``--stop-after-requests N`` ends the run once N requests have completed (``-t`` is then only
the deadline): a run sized by its sample rather than by the machine's speed, as the tests need,
and a bounded cost against a deployed stage's quota. The request bodies are built before the
run starts, so the ``-t`` window holds traffic only, and the ``--csv`` files are completed when
the run stops (see :func:`_write_final_csv`).
"""

from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, events, task
from locust.env import Environment
from locust.runners import (
    STATE_CLEANUP,
    STATE_STOPPED,
    STATE_STOPPING,
    MasterRunner,
    WorkerRunner,
)
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

# locust imports this file by path; its helper package sits next to it in the repository.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from challenge_neuralworks.model import discover
from challenge_neuralworks.schemas import validate_answer
from stress_test.traffic import (
    DATA_PATH,
    InvalidRequest,
    batch_body,
    invalid_requests,
    load_requests,
)

SINGLE_WEIGHT, BATCH_WEIGHT, INVALID_WEIGHT, DESCRIBE_WEIGHT, HEALTH_WEIGHT = 85, 8, 5, 1, 1
BATCH_SIZES = (2, 50)
#: How often the request budget is compared with the run's count (a condition, not a wait).
_BUDGET_POLL_S = 0.1


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument(
        "--api-key",
        env_var="CNW_API_KEY",
        default="local-dev-key",
        is_secret=True,
        help="x-api-key value (default: the local twin's development key; env CNW_API_KEY)",
    )
    parser.add_argument("--model", default="delay", help="model to call (default delay)")
    parser.add_argument(
        "--flights-csv", default=str(DATA_PATH), help="data set the requests are drawn from"
    )
    parser.add_argument(
        "--think-time",
        type=float,
        default=0.0,
        help="mean seconds between a user's requests (exponential; 0: back to back)",
    )
    parser.add_argument(
        "--stop-after-requests",
        type=int,
        default=0,
        help="end the run once this many requests have completed (0: only -t ends it)",
    )


class _Traffic:
    """Request bodies, built once per locust process from the data set."""

    def __init__(self, csv_path: str) -> None:
        requests = load_requests(csv_path)
        self.singles = [json.dumps(r) for r in requests]
        self.requests = requests
        classic = [r for r in requests if "DIA-I" in r]
        self.invalid: list[InvalidRequest] = [
            bad for valid in random.Random(1).sample(classic, 50) for bad in invalid_requests(valid)
        ]


_TRAFFIC: dict[str, _Traffic] = {}


def traffic(csv_path: str) -> _Traffic:
    """The process's traffic for ``csv_path`` (loaded on first use)."""
    if csv_path not in _TRAFFIC:
        _TRAFFIC[csv_path] = _Traffic(csv_path)
    return _TRAFFIC[csv_path]


@events.init.add_listener
def _build_traffic_before_the_run(environment: Environment, **_kwargs: Any) -> None:
    """Read the data set now (about a second of CPU), not in the first user's ``on_start``
    inside the ``-t`` window, where it also starves locust's own greenlets."""
    options = environment.parsed_options
    if options is not None and not isinstance(environment.runner, MasterRunner):
        traffic(options.flights_csv)


@events.test_start.add_listener
def _watch_request_budget(environment: Environment, **_kwargs: Any) -> None:
    """With ``--stop-after-requests``, end the run when the count reaches it (on the process
    that owns the run: a master counts its workers' reports, a worker does not decide)."""
    options = environment.parsed_options
    budget = options.stop_after_requests if options is not None else 0
    if budget > 0 and not isinstance(environment.runner, WorkerRunner):
        gevent.spawn(_end_at_budget, environment, budget)


def _end_at_budget(environment: Environment, budget: int) -> None:
    runner = environment.runner
    while runner.state not in (STATE_CLEANUP, STATE_STOPPING, STATE_STOPPED):
        if environment.stats.total.num_requests >= budget:
            # as locust does when -t runs out: headless runs end, the web UI only stops
            if environment.parsed_options.headless:
                runner.quit()
            else:
                runner.stop()
            return
        gevent.sleep(_BUDGET_POLL_S)


@events.test_stop.add_listener
def _write_final_csv(environment: Environment, **_kwargs: Any) -> None:
    """Write the ``--csv`` stats, failures and exceptions of the finished run.

    Locust rewrites these files once per ``CSV_STATS_INTERVAL_SEC`` (1 s) and not at exit
    (locust issues #1806, #2299), so they miss the last interval's requests: on a slow machine,
    all of a short run's. When the test stops the numbers are final; locust's own row writers
    write them here (a later tick of locust's writer writes the same rows). The
    ``_stats_history.csv`` time series stays locust's: one row per tick.
    """
    options = environment.parsed_options
    prefix = getattr(options, "csv_prefix", None)
    if not prefix or isinstance(environment.runner, WorkerRunner):
        return
    rows = StatsCSV(environment, PERCENTILES_TO_REPORT)
    for suffix, write in (
        ("_stats.csv", rows.requests_csv),
        ("_failures.csv", rows.failures_csv),
        ("_exceptions.csv", rows.exceptions_csv),
    ):
        with Path(f"{prefix}{suffix}").open("w", encoding="utf-8", newline="") as handle:
            write(csv.writer(handle))


class ApiClient(FastHttpUser):
    """One API client: mostly single predictions, some batches and mistakes."""

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.model = options.model
        self.think_time = options.think_time
        self.traffic = traffic(options.flights_csv)
        self.headers = {"x-api-key": options.api_key, "content-type": "application/json"}
        self.path = f"/inference/{self.model}"
        self.output_model = discover()[self.model].output_model

    def _answers(self, payload: Any) -> bool:
        """The served model's published answer shape (raises ``ValidationError`` otherwise)."""
        validate_answer(self.output_model, payload)
        return True

    def wait_time(self) -> float:
        return random.expovariate(1 / self.think_time) if self.think_time > 0 else 0.0

    @task(SINGLE_WEIGHT)
    def single(self) -> None:
        body = random.choice(self.traffic.singles)
        with self.client.post(
            self.path, data=body, headers=self.headers, name="single", catch_response=True
        ) as response:
            _expect(response, 200, self._answers)

    @task(BATCH_WEIGHT)
    def batch(self) -> None:
        size = random.randint(*BATCH_SIZES)
        flights = random.sample(self.traffic.requests, size)
        with self.client.post(
            self.path,
            data=batch_body(flights),
            headers=self.headers,
            name="batch",
            catch_response=True,
        ) as response:
            _expect(
                response,
                200,
                lambda payload: self._answers(payload) and len(payload["predictions"]) == size,
            )

    @task(INVALID_WEIGHT)
    def invalid(self) -> None:
        bad = random.choice(self.traffic.invalid)
        with self.client.post(
            self.path,
            data=bad.body,
            headers=self.headers,
            name="invalid (400 expected)",
            catch_response=True,
        ) as response:
            _expect(response, 400, lambda payload: payload["error"]["code"] == bad.code)

    @task(DESCRIBE_WEIGHT)
    def describe(self) -> None:
        with self.client.get(
            f"/models/{self.model}", headers=self.headers, name="describe", catch_response=True
        ) as response:
            _expect(response, 200, lambda payload: payload.get("name") == self.model)

    @task(HEALTH_WEIGHT)
    def health(self) -> None:
        with self.client.get(
            "/health", headers=self.headers, name="health", catch_response=True
        ) as response:
            _expect(response, 200, lambda payload: payload.get("status") == "ok")


def _expect(response: Any, status: int, valid: Any) -> None:
    """Success only for the expected status and a JSON body that passes ``valid``."""
    if response.status_code != status:
        response.failure(f"status {response.status_code}, expected {status}")
        return
    try:
        payload = json.loads(response.text)
        ok = bool(valid(payload))
    except (ValueError, KeyError, TypeError, AttributeError):  # ValidationError is a ValueError
        ok = False
    if ok:
        response.success()
    else:
        response.failure(f"unexpected body for status {status}: {response.text[:200]}")
