"""The documented requests, and their real answers from the handler behind the local twin.

Every example response in ``docs/openapi.yaml`` and ``docs/api.md`` is produced here by sending
the scenario's request over HTTP to the local API Gateway twin in front of the real
``lambda_handler`` serving the committed artifacts: nothing is typed in by hand, so the
documentation cannot promise what the service does not do. Each scenario states the status it
documents and :func:`run_scenarios` refuses an answer with another one.

Two things are pinned so that the examples change only when an artifact changes: the handler's
clock (it decides the year of a ``DIA-I``/``MES-I``/``DIANOM`` request, and the features depend
on the year, e.g. the distance to the next holiday), and the twin's clock, so that the throttling
and quota examples are exact. Both are injected
(:func:`~challenge_neuralworks.handler.create_handler` and ``GatewayApp(clock=...)``): nothing
is patched.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from challenge_neuralworks.local.config import ApiKey, GatewayConfig, UsagePlan
from challenge_neuralworks.local.samples import EXAMPLE_FLIGHT, SECOND_FLIGHT

#: The documented stage and the development key of the twin (not a secret).
STAGE: Final[str] = "dev"
DOCS_KEY: Final[str] = "local-dev-key"
#: The twin's stand-in for a SigV4 signature on ``AWS_IAM`` routes (header ``x-ingest-key``).
DOCS_INGEST_KEY: Final[str] = "local-dev-ingest-key"
INGEST_HEADER: Final[str] = "x-ingest-key"
THROTTLED_KEY: Final[str] = "docs-throttled-key"
QUOTA_KEY: Final[str] = "docs-quota-key"
#: 2025-01-01T00:00:00Z: the "now" of the examples (see the module docstring).
REFERENCE_EPOCH: Final[float] = 1_735_689_600.0
#: Flights in the 413 "body over 1 MB" example (each copy of the example is 125 characters).
LARGE_BODY_FLIGHTS: Final[int] = 8_100

Group = Literal["route", "error", "gateway"]
_NO_BODY: Final[object] = object()


@dataclass(frozen=True)
class Scenario:
    """One documented request and the status it must get."""

    name: str
    summary: str
    method: str
    path: str  # below the stage: /inference/delay
    status: int
    group: Group
    #: The documented route (``routes.ROUTES`` name) a 200 example belongs to.
    route: str = ""
    body: Any = _NO_BODY  # sent as JSON
    raw: str | None = None  # sent as is (malformed bodies)
    key: str | None = DOCS_KEY  # x-api-key; None sends no key
    ingest: bool = False  # send the ingest key (AWS_IAM routes)
    repeat: int = 1  # send this many times; the last answer is the example
    broken_models: bool = False  # serve from a models directory whose `delay` artifact is gone
    large_flights: int = 0  # body = {"flights": [EXAMPLE_FLIGHT] * large_flights}

    def payload(self) -> bytes | None:
        """The exact request body."""
        if self.large_flights:
            return json.dumps({"flights": [EXAMPLE_FLIGHT] * self.large_flights}).encode()
        if self.raw is not None:
            return self.raw.encode()
        if self.body is _NO_BODY:
            return None
        return json.dumps(self.body, ensure_ascii=False).encode()

    @property
    def has_json_body(self) -> bool:
        """Whether ``body`` is a JSON value the docs can print."""
        return self.body is not _NO_BODY


@dataclass(frozen=True)
class Example:
    """A scenario's real answer."""

    scenario: Scenario
    status: int
    body: Any  # parsed JSON, or text when the answer is not JSON
    headers: dict[str, str] = field(default_factory=dict)  # the documented ones only


def _flight(**changes: Any) -> dict[str, Any]:
    flight = {**EXAMPLE_FLIGHT, **changes}
    return {k: v for k, v in flight.items() if v is not None}


def _departure(scheduled: str, actual: str, airline: str, number: str, city: str) -> dict[str, str]:
    return {
        "FECHA-I": scheduled,
        "FECHA-O": actual,
        "OPERA": airline,
        "VLO-I": number,
        "SIGLADES": city,
    }


#: What the operations feed reported by the examples' "now" (2024-12-31 21:00 at SCL): an
#: evening running late, and flight 226 of the day before.
REPORTED_DEPARTURES: Final[tuple[dict[str, str], ...]] = (
    _departure("2024-12-30 22:30", "2024-12-30 23:10", "Grupo LATAM", "226", "La Serena"),
    _departure("2024-12-31 17:30", "2024-12-31 17:34", "Grupo LATAM", "140", "Antofagasta"),
    _departure("2024-12-31 17:45", "2024-12-31 17:52", "Sky Airline", "71", "Calama"),
    _departure("2024-12-31 18:20", "2024-12-31 18:49", "Grupo LATAM", "290", "Puerto Montt"),
    _departure("2024-12-31 18:40", "2024-12-31 19:05", "JetSMART SPA", "3", "Concepcion"),
    _departure("2024-12-31 19:00", "2024-12-31 19:41", "Grupo LATAM", "62", "Lima"),
    _departure("2024-12-31 19:30", "2024-12-31 19:52", "Sky Airline", "128", "Iquique"),
    _departure("2024-12-31 20:05", "2024-12-31 20:38", "Grupo LATAM", "333", "Arica"),
    _departure("2024-12-31 20:15", "2024-12-31 20:19", "Grupo LATAM", "1450", "Temuco"),
)
#: A flight to nowcast 90 minutes before it is scheduled to leave.
NOWCAST_FLIGHT: Final[dict[str, str]] = {
    "FECHA-I": "2024-12-31 22:30",
    "OPERA": "Grupo LATAM",
    "TIPOVUELO": "N",
    "SIGLADES": "La Serena",
    "VLO-I": "226",
}


SCENARIOS: Final[tuple[Scenario, ...]] = (
    # ------------------------------------------------------------------ routes
    Scenario(
        "single",
        "One flight (the original challenge request)",
        "POST",
        "/inference/delay",
        200,
        "route",
        route="inference",
        body=EXAMPLE_FLIGHT,
    ),
    Scenario(
        "batch",
        "A batch: predictions come back in request order",
        "POST",
        "/inference/delay",
        200,
        "route",
        route="inference",
        body={"flights": [EXAMPLE_FLIGHT, SECOND_FLIGHT]},
    ),
    Scenario(
        "richer_fields",
        "Optional richer fields: full scheduled datetime and flight number",
        "POST",
        "/inference/delay",
        200,
        "route",
        route="inference",
        body={
            "FECHA-I": "2017-02-03 09:25",
            "OPERA": "Grupo LATAM",
            "TIPOVUELO": "N",
            "SIGLADES": "La Serena",
            "VLO-I": "226",
        },
    ),
    Scenario(
        "airport_code",
        "The destination by airport code: ICAO `DES-I` (as in the data) or IATA, any case",
        "POST",
        "/inference/delay",
        200,
        "route",
        route="inference",
        body={
            "flights": [
                {
                    "FECHA-I": "2017-02-03 09:25",
                    "OPERA": "Grupo LATAM",
                    "TIPOVUELO": "N",
                    "DES-I": "SCSE",
                },
                {
                    "FECHA-I": "2017-02-03 13:40",
                    "OPERA": "Sky Airline",
                    "TIPOVUELO": "I",
                    "DES-I": "eze",
                },
            ]
        },
    ),
    Scenario(
        "unseen_destination",
        "A real destination no training flight went to: served, with a warning",
        "POST",
        "/inference/delay",
        200,
        "route",
        route="inference",
        body={
            "FECHA-I": "2017-12-01 07:45",
            "OPERA": "Sky Airline",
            "TIPOVUELO": "I",
            "DES-I": "SLA",
            "VLO-I": "1701",
        },
    ),
    Scenario(
        "explained",
        "Why: the prediction with its explanation (`?explain=true`)",
        "POST",
        "/inference/delay?explain=true",
        200,
        "route",
        route="inference",
        body={
            "FECHA-I": "2017-12-22 14:45",
            "OPERA": "Grupo LATAM",
            "TIPOVUELO": "I",
            "SIGLADES": "Buenos Aires",
            "VLO-I": "445",
        },
    ),
    Scenario(
        "minutes",
        "Expected delay in minutes with quantiles (`delay_minutes`)",
        "POST",
        "/inference/delay_minutes",
        200,
        "route",
        route="inference",
        body=EXAMPLE_FLIGHT,
    ),
    Scenario(
        "report_departures",
        "The operations feed reports departures (idempotent; late reports are fine)",
        "POST",
        "/departures",
        200,
        "route",
        route="report_departures",
        body={"departures": list(REPORTED_DEPARTURES)},
        ingest=True,
    ),
    Scenario(
        "nowcast",
        "A nowcast from the departures reported so far (`delay_nowcast`)",
        "POST",
        "/inference/delay_nowcast",
        200,
        "route",
        route="inference",
        body=NOWCAST_FLIGHT,
    ),
    Scenario(
        "nowcast_schedule_only",
        "More than 24 hours ahead: the schedule-only answer, and why",
        "POST",
        "/inference/delay_nowcast",
        200,
        "route",
        route="inference",
        body={**NOWCAST_FLIGHT, "FECHA-I": "2025-01-03 22:30"},
    ),
    Scenario(
        "models", "Every model with its version", "GET", "/models", 200, "route", "list_models"
    ),
    Scenario(
        "describe",
        "Input schema and allowed values",
        "GET",
        "/models/delay",
        200,
        "route",
        "describe_model",
    ),
    Scenario("health", "Liveness and model load state", "GET", "/health", 200, "route", "health"),
    # ---------------------------------------------------------- handler errors
    Scenario(
        "month_13",
        "Out of range: month 13",
        "POST",
        "/inference/delay",
        400,
        "error",
        body=_flight(**{"MES-I": 13}),
    ),
    Scenario(
        "february_31",
        "Not a real date: 31 February",
        "POST",
        "/inference/delay",
        400,
        "error",
        body=_flight(**{"DIA-I": 31}),
    ),
    Scenario(
        "unknown_airline",
        "Unknown airline (allowed values and the nearest spellings)",
        "POST",
        "/inference/delay",
        400,
        "error",
        body=_flight(OPERA="Grupo LATM"),
    ),
    Scenario(
        "unknown_destination",
        "Unknown destination",
        "POST",
        "/inference/delay",
        400,
        "error",
        body=_flight(SIGLADES="La Serenna"),
    ),
    Scenario(
        "destination_contradiction",
        "`SIGLADES` and `DES-I` name different places",
        "POST",
        "/inference/delay",
        400,
        "error",
        body=_flight(**{"DES-I": "SCFA"}),
    ),
    Scenario(
        "ambiguous_destination",
        "A city of several airports the model does not know (their codes are listed)",
        "POST",
        "/inference/delay",
        400,
        "error",
        body=_flight(SIGLADES="San Jose", TIPOVUELO="I"),
    ),
    Scenario(
        "wrong_type",
        "Wrong type: a string where an integer is expected",
        "POST",
        "/inference/delay",
        400,
        "error",
        body=_flight(**{"MES-I": "2"}),
    ),
    Scenario(
        "wrong_type_bool",
        "Wrong type: a boolean is not an integer",
        "POST",
        "/inference/delay",
        400,
        "error",
        body=_flight(**{"DIA-I": True}),
    ),
    Scenario(
        "missing_field",
        "Missing required field",
        "POST",
        "/inference/delay",
        400,
        "error",
        body=_flight(OPERA=None),
    ),
    Scenario(
        "unknown_field",
        "Unknown field (typo protection, with the nearest field names)",
        "POST",
        "/inference/delay",
        400,
        "error",
        body={**_flight(DIANOM=None), "DIANON": "Viernes"},
    ),
    Scenario(
        "inconsistent_date",
        "`FECHA-I` contradicts `DIANOM`",
        "POST",
        "/inference/delay",
        400,
        "error",
        body=_flight(**{"FECHA-I": "2017-02-03 09:00", "DIANOM": "Lunes"}),
    ),
    Scenario(
        "flight_type_contradiction",
        "`TIPOVUELO` contradicts the destination",
        "POST",
        "/inference/delay",
        400,
        "error",
        body=_flight(TIPOVUELO="I"),
    ),
    Scenario(
        "batch_item",
        "Invalid item inside a batch (the field path names the item)",
        "POST",
        "/inference/delay",
        400,
        "error",
        body={"flights": [EXAMPLE_FLIGHT, _flight(**{"MES-I": 13})]},
    ),
    Scenario(
        "departure_in_future",
        "A departure reported before it happened",
        "POST",
        "/departures",
        400,
        "error",
        body={"departures": [{**REPORTED_DEPARTURES[1], "FECHA-O": "2024-12-31 23:59"}]},
        ingest=True,
    ),
    Scenario("empty_body", "Empty body", "POST", "/inference/delay", 400, "error", raw=""),
    Scenario(
        "invalid_json",
        "Body is not JSON",
        "POST",
        "/inference/delay",
        400,
        "error",
        raw='{"DIA-I": 3,',
    ),
    Scenario(
        "not_an_object",
        "JSON that is not an object",
        "POST",
        "/inference/delay",
        400,
        "error",
        body=[EXAMPLE_FLIGHT],
    ),
    Scenario(
        "unknown_model",
        "Unknown model (the allowed names are listed)",
        "POST",
        "/inference/delay_typo",
        404,
        "error",
        body=EXAMPLE_FLIGHT,
    ),
    Scenario(
        "wrong_method",
        "Wrong method (`Allow` lists the right one)",
        "GET",
        "/inference/delay",
        405,
        "error",
    ),
    Scenario(
        "batch_too_large",
        "Batch larger than the model's `max_batch`",
        "POST",
        "/inference/delay",
        413,
        "error",
        large_flights=1_001,
    ),
    Scenario(
        "body_too_large",
        "Body larger than 1 MB",
        "POST",
        "/inference/delay",
        413,
        "error",
        large_flights=LARGE_BODY_FLIGHTS,
    ),
    Scenario(
        "model_unavailable",
        "The model's artifact is missing, tampered with or incompatible",
        "GET",
        "/models/delay",
        503,
        "error",
        broken_models=True,
    ),
    # ---------------------------------------------------- API Gateway's answers
    Scenario("no_key", "No or unknown API key", "GET", "/models", 403, "gateway", key=None),
    Scenario(
        "unknown_path",
        "Path that is not an API resource",
        "POST",
        "/predict",
        403,
        "gateway",
        body=EXAMPLE_FLIGHT,
    ),
    Scenario(
        "throttled",
        "Over the key's rate or burst",
        "GET",
        "/health",
        429,
        "gateway",
        key=THROTTLED_KEY,
        repeat=2,
    ),
    Scenario(
        "quota",
        "The key's quota for the period is used up",
        "GET",
        "/health",
        429,
        "gateway",
        key=QUOTA_KEY,
        repeat=2,
    ),
)


def gateway_config() -> GatewayConfig:
    """The twin as documented: the development key, plus one key per usage-plan refusal."""
    return GatewayConfig(
        stage=STAGE,
        api_keys=(
            ApiKey("developer", DOCS_KEY),
            ApiKey("throttled", THROTTLED_KEY, usage_plan="throttled"),
            ApiKey("quota", QUOTA_KEY, usage_plan="quota"),
        ),
        usage_plans={
            "default": UsagePlan("default"),
            "throttled": UsagePlan("throttled", rate=1, burst=1),
            "quota": UsagePlan("quota", quota_limit=1, quota_period="DAY"),
        },
    )


def run_scenarios(models_dir: Path, scenarios: Sequence[Scenario] = SCENARIOS) -> list[Example]:
    """Send every scenario through the twin; the answers, in order (``health`` runs last).

    Two twins serve: one in front of the committed models, one in front of a copy whose
    artifacts are missing (the 503 example).
    """
    from challenge_neuralworks.departures.sqlite import SQLiteDepartureStore
    from challenge_neuralworks.handler import create_handler
    from challenge_neuralworks.local.app import GatewayApp
    from challenge_neuralworks.local.testing import FakeClock, serve_in_thread
    from challenge_neuralworks.registry import Registry

    ordered = sorted(scenarios, key=lambda s: s.name == "health")
    examples: dict[str, Example] = {}

    def twin(directory: Path, departures: Path | None) -> GatewayApp:
        handler = create_handler(
            Registry(directory),
            clock=lambda: REFERENCE_EPOCH,
            departures=None if departures is None else SQLiteDepartureStore(departures),
        )
        return GatewayApp(gateway_config(), handler, clock=FakeClock(REFERENCE_EPOCH))

    with (
        _broken_models_dir(models_dir) as broken_dir,
        tempfile.TemporaryDirectory(prefix="cnw-docs-departures-") as departures_dir,
        serve_in_thread(twin(models_dir, Path(departures_dir) / "departures.sqlite")) as url,
        serve_in_thread(twin(broken_dir, None)) as broken_url,
    ):
        for scenario in ordered:
            base = broken_url if scenario.broken_models else url
            example = _send(f"{base}/{STAGE}", scenario)
            if example.status != scenario.status:
                raise RuntimeError(
                    f"scenario {scenario.name!r} documents {scenario.status} but got "
                    f"{example.status}: {example.body!r}"[:2000]
                )
            examples[scenario.name] = example
    return [examples[s.name] for s in scenarios]


def _send(base_url: str, scenario: Scenario) -> Example:
    payload = scenario.payload()
    headers = {} if scenario.key is None else {"x-api-key": scenario.key}
    if scenario.ingest:
        headers[INGEST_HEADER] = DOCS_INGEST_KEY
    if payload is not None:
        headers["content-type"] = "application/json"
    for _ in range(scenario.repeat):
        request = urllib.request.Request(
            base_url + scenario.path, data=payload, headers=headers, method=scenario.method
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, raw, got = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, got = error.code, error.read(), error.headers
    text = raw.decode("utf-8")
    is_json = got.get("content-type", "").startswith("application/json")
    body = json.loads(text, parse_float=_documented_float) if is_json else text
    kept = {name: got[name] for name in ("Allow",) if got.get(name)}
    return Example(scenario, status, body, kept)


#: Significant digits a documented number keeps. An explanation's TreeSHAP sums differ in their
#: last bit between CPUs (numpy picks its SIMD summation by CPU), so full precision made the
#: committed docs stale on another machine; 12 digits are far finer than any figure read there.
DOCUMENTED_DIGITS: Final[int] = 12


def _documented_float(text: str) -> float:
    """A JSON number of an answer as the docs print it: :data:`DOCUMENTED_DIGITS` significant
    digits, so the generated files are the same on every machine."""
    return float(f"{float(text):.{DOCUMENTED_DIGITS}g}")


@contextlib.contextmanager
def _broken_models_dir(models_dir: Path) -> Iterator[Path]:
    """A copy of the manifests only: every artifact is missing, so each model answers 503."""
    with tempfile.TemporaryDirectory(prefix="cnw-docs-") as tmp:
        for manifest in sorted(models_dir.glob("*/manifest.json")):
            target = Path(tmp) / manifest.parent.name
            target.mkdir()
            shutil.copy(manifest, target / manifest.name)
        yield Path(tmp)
