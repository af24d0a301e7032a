"""``POST /departures`` and the nowcast it feeds, through the real handler and committed models.

The handler is built with :func:`create_handler` around a SQLite store in a temporary directory
and a fixed clock, so nothing here touches ``.data/`` or depends on the machine's time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from challenge_neuralworks.delay.features import FlightColumns
from challenge_neuralworks.departures.records import (
    Departure,
    DepartureStore,
    StoreUnavailableError,
    epoch_of,
)
from challenge_neuralworks.departures.sqlite import SQLiteDepartureStore
from challenge_neuralworks.ensemble import sigmoid
from challenge_neuralworks.environment import DEFAULT_MODELS_DIR
from challenge_neuralworks.handler import create_handler
from challenge_neuralworks.local.samples import SampleRequest, render_event
from challenge_neuralworks.registry import Registry
from challenge_neuralworks.schemas import (
    DeparturesAccepted,
    ErrorResponse,
    NowcastPrediction,
    batch_response,
    single_response,
)

#: The handler's clock: 2025-03-10 12:00 at SCL.
NOW_LOCAL = dt.datetime(2025, 3, 10, 12, 0)
NOW = epoch_of(NOW_LOCAL)
REGISTRY = Registry(DEFAULT_MODELS_DIR)

Handler = Callable[[Any, Any], dict[str, Any]]


def report(minutes_ago: int, late: int = 0, number: str = "226", **changes: str) -> dict[str, str]:
    """A departure that left ``minutes_ago`` minutes before the clock, ``late`` minutes late."""
    actual = NOW_LOCAL - dt.timedelta(minutes=minutes_ago)
    scheduled = actual - dt.timedelta(minutes=late)
    return {
        "FECHA-I": f"{scheduled:%Y-%m-%d %H:%M}",
        "FECHA-O": f"{actual:%Y-%m-%d %H:%M}",
        "OPERA": "Grupo LATAM",
        "VLO-I": number,
        "SIGLADES": "La Serena",
        **changes,
    }


def call(handler: Handler, method: str, path: str, body: Any = None, raw: str | None = None):
    event = render_event(SampleRequest("test", method, path, body))
    if raw is not None:
        event["body"] = raw
    response = handler(event, None)
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def store(tmp_path: Path) -> SQLiteDepartureStore:
    return SQLiteDepartureStore(tmp_path / "departures.sqlite")


@pytest.fixture
def handler(store: SQLiteDepartureStore) -> Handler:
    return create_handler(REGISTRY, clock=lambda: NOW, departures=store)


def stored(store: DepartureStore) -> list[Departure]:
    return store.between(NOW_LOCAL - dt.timedelta(days=2), NOW_LOCAL, now=NOW)


def test_reports_are_stored_and_counted(handler: Handler, store: DepartureStore) -> None:
    body = {"departures": [report(90, 25), report(30, 0, "1050"), report(5, 40, "33")]}
    status, answer = call(handler, "POST", "/departures", body)
    assert status == 200
    assert DeparturesAccepted.model_validate(answer).model_dump() == {
        "received": 3,
        "stored": 3,
        "expired": 0,
    }
    found = stored(store)
    assert [(d.flight_number, d.delay_minutes) for d in found] == [
        ("226", 25.0),
        ("1050", 0.0),
        ("33", 40.0),
    ]


def test_reporting_again_is_idempotent_and_corrections_win(
    handler: Handler, store: DepartureStore
) -> None:
    body = {"departures": [report(90, 25), report(30, 0, "0050")]}
    assert call(handler, "POST", "/departures", body)[0] == 200
    first = stored(store)
    assert call(handler, "POST", "/departures", body)[1]["stored"] == 2
    assert stored(store) == first
    corrected = {**body["departures"][0], "FECHA-O": f"{NOW_LOCAL:%Y-%m-%d} 10:50"}
    call(handler, "POST", "/departures", {"departures": [corrected]})
    assert [d.actual.time() for d in stored(store)] == [dt.time(10, 50), dt.time(11, 30)]
    assert stored(store)[1].flight_number == "50"  # leading zeros normalised like VLO-I


def test_late_reports_count_and_those_past_the_retention_do_not_(
    handler: Handler, store: DepartureStore
) -> None:
    body = {"departures": [report(60 * 24 * 3), report(60 * 24 * 30, number="9")]}
    status, answer = call(handler, "POST", "/departures", body)
    assert (status, answer) == (200, {"received": 2, "stored": 1, "expired": 1})


@pytest.mark.parametrize(
    ("item", "code", "field"),
    [
        ({"FECHA-O": None}, "missing_field", "departures[1].FECHA-O"),
        ({"VLO-O": "226"}, "unknown_field", "departures[1].VLO-O"),
        ({"VLO-I": 226}, "wrong_type", "departures[1].VLO-I"),
        ({"FECHA-I": "10/03/2025 09:00"}, "invalid_format", "departures[1].FECHA-I"),
        ({"FECHA-I": "2025-02-30 09:00"}, "invalid_date", "departures[1].FECHA-I"),
        ({"FECHA-O": "2025-03-10 12:30"}, "out_of_range", "departures[1].FECHA-O"),
        ({"FECHA-I": "2025-03-08 09:00"}, "inconsistent_date", "departures[1].FECHA-O"),
        ({"OPERA": ""}, "invalid_field", "departures[1].OPERA"),
    ],
)
def test_invalid_reports_are_refused_with_the_field_and_nothing_is_stored(
    handler: Handler, store: DepartureStore, item: dict[str, Any], code: str, field: str
) -> None:
    bad = {k: v for k, v in {**report(10), **item}.items() if v is not None}
    status, answer = call(handler, "POST", "/departures", {"departures": [report(20), bad]})
    assert status == 400, answer
    error = ErrorResponse.model_validate(answer).error
    assert (error.code, error.field) == (code, field)
    assert stored(store) == []


@pytest.mark.parametrize(
    ("body", "raw", "code"),
    [
        ({"departures": []}, None, "invalid_field"),
        ({"departures": {"FECHA-I": "x"}}, None, "wrong_type"),
        ({"flights": [report(10)]}, None, "missing_field"),  # departures first
        ([report(10)], None, "invalid_body"),
        (None, "", "empty_body"),
        (None, '{"departures": [', "invalid_json"),
    ],
)
def test_malformed_bodies_are_400(handler: Handler, body: Any, raw: str | None, code: str) -> None:
    status, answer = call(handler, "POST", "/departures", body, raw=raw)
    assert status == 400
    assert ErrorResponse.model_validate(answer).error.code == code


def test_oversized_values_give_bounded_errors(handler: Handler) -> None:
    huge = "\U0001f6eb" * 50_000  # 600 kB as escaped JSON: under the body limit
    for field in ("FECHA-I", "OPERA", "SIGLADES", "VLO-I", "x" * 100_000):
        body = {"departures": [{**report(5), field: huge}]}
        status, answer = call(handler, "POST", "/departures", body)
        assert status == 400
        assert len(json.dumps(answer).encode()) < 8192, field


def test_batches_over_the_limit_are_413(handler: Handler, store: DepartureStore) -> None:
    status, answer = call(handler, "POST", "/departures", {"departures": [report(5)] * 1001})
    assert status == 413
    assert (answer["error"]["code"], answer["error"]["field"]) == ("batch_too_large", "departures")
    assert call(handler, "POST", "/departures", {"departures": [report(5)] * 1000})[0] == 200


def test_without_a_store_the_route_is_503_and_says_why() -> None:
    handler = create_handler(REGISTRY, clock=lambda: NOW, departures=None)
    status, answer = call(handler, "POST", "/departures", {"departures": [report(5)]})
    assert status == 503
    assert answer["error"]["code"] == "departures_unavailable"


class BrokenStore(DepartureStore):
    def _write(self, items: Sequence[tuple[Departure, int]], *, now: float) -> None:
        raise StoreUnavailableError("the departures table cannot be reached") from OSError(
            "secret-host.internal refused the connection"
        )

    def _read(self, start: str, end: str, *, now: float) -> Iterable[Departure]:
        raise StoreUnavailableError("the departures table cannot be reached")


def test_a_failing_store_is_503_without_leaking_the_cause() -> None:
    handler = create_handler(REGISTRY, clock=lambda: NOW, departures=BrokenStore())
    status, answer = call(handler, "POST", "/departures", {"departures": [report(5)]})
    assert status == 503
    assert answer["error"]["code"] == "departures_unavailable"
    assert "secret-host" not in json.dumps(answer)


# ---------------------------------------------------------------------------- the nowcast
FLIGHT = {
    "FECHA-I": "2025-03-10 14:00",
    "OPERA": "Grupo LATAM",
    "TIPOVUELO": "N",
    "SIGLADES": "La Serena",
    "VLO-I": "226",
}


def nowcast(handler: Handler, body: Any) -> dict[str, Any]:
    status, answer = call(handler, "POST", "/inference/delay_nowcast", body)
    assert status == 200, answer
    return answer


def test_reported_departures_sharpen_the_nowcast(handler: Handler) -> None:
    before = nowcast(handler, FLIGHT)
    single_response(NowcastPrediction).model_validate(before)
    assert before["context"]["mode"] == "schedule_only"
    assert before["context"]["reason"] == "no_departures"
    reports = [report(m, 45 if m < 120 else 0, str(100 + m)) for m in range(10, 600, 20)]
    yesterday = report(60 * 24 - 120, 70)  # flight 226 the day before, 70 minutes late
    call(handler, "POST", "/departures", {"departures": [*reports, yesterday]})
    after = nowcast(handler, FLIGHT)
    single_response(NowcastPrediction).model_validate(after)
    context = after["context"]
    assert context["mode"] == "live" and context["reason"] is None
    assert context["as_of"] == "2025-03-10 12:00:00"
    assert context["lead_hours"] == 2.0
    assert context["departures_seen"] == len(reports) + 1
    assert context["scl_last_3h"] == {"departures": 9, "delayed_share": round(6 / 9, 4)}
    assert context["previous_day_delay_minutes"] == 70.0
    assert after["prediction"][1] != before["prediction"][1]


def test_a_batch_costs_at_most_one_store_read(handler: Handler) -> None:
    call(handler, "POST", "/departures", {"departures": [report(30, 20), report(50)]})
    feed = handler.departures  # type: ignore[attr-defined]
    reads = feed.reads
    flights = [FLIGHT, {**FLIGHT, "FECHA-I": "2025-03-11 08:00"}, {**FLIGHT, "VLO-I": "1"}]
    answer = nowcast(handler, {"flights": flights})
    batch_response(NowcastPrediction).model_validate(answer)
    assert feed.reads == reads + 1
    nowcast(handler, FLIGHT)  # the next request within the cache period reads nothing
    nowcast(handler, {"flights": flights})
    assert feed.reads == reads + 1
    call(handler, "GET", "/models/delay")  # nor does any other model or route
    call(handler, "POST", "/inference/delay", FLIGHT)
    assert feed.reads == reads + 1


def test_without_departures_the_nowcast_is_the_schedule_only_prediction() -> None:
    model = REGISTRY.get("delay_nowcast")
    columns = FlightColumns.from_flights([model.parse(FLIGHT)])
    expected = float(sigmoid(model.schedule.raw(model.encoder.encode(columns)))[0])
    for departures in (None, BrokenStore()):
        handler = create_handler(REGISTRY, clock=lambda: NOW, departures=departures)
        answer = nowcast(handler, FLIGHT)
        assert answer["context"]["mode"] == "schedule_only"
        assert answer["context"]["reason"] == "departures_unavailable"
        assert answer["prediction"][1] == round(expected, 6)
        assert answer["threshold"] == round(model.schedule_threshold, 6)
