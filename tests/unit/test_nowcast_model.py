"""``delay_nowcast``: when it uses live context, what it says, and what it falls back to."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from challenge_neuralworks.delay.features import FlightColumns
from challenge_neuralworks.departures.feed import DepartureSnapshot
from challenge_neuralworks.departures.records import Departure, epoch_of
from challenge_neuralworks.ensemble import sigmoid
from challenge_neuralworks.model import Context
from challenge_neuralworks.nowcast.live import DAY
from challenge_neuralworks.nowcast.model import PAST_SLACK, NowcastClassifier
from challenge_neuralworks.registry import Registry
from challenge_neuralworks.schemas import NowcastPrediction

NOW_LOCAL = dt.datetime(2025, 3, 10, 12, 0)
NOW = epoch_of(NOW_LOCAL)


@pytest.fixture(scope="module")
def model(fast_models_dir: Path) -> NowcastClassifier:
    return Registry(fast_models_dir).get("delay_nowcast")


def flight(scheduled: dt.datetime, number: str | None = "226") -> dict[str, str]:
    item = {
        "FECHA-I": f"{scheduled:%Y-%m-%d %H:%M}",
        "OPERA": "Grupo LATAM",
        "TIPOVUELO": "N",
        "SIGLADES": "La Serena",
    }
    return item if number is None else {**item, "VLO-I": number}


def snapshot(departures: list[Departure], lookback: float) -> DepartureSnapshot:
    """What the feed would hand the model at NOW."""
    start = NOW_LOCAL - dt.timedelta(seconds=lookback)
    return DepartureSnapshot(tuple(departures), start=start, end=NOW_LOCAL)


def evening(late: int) -> list[Departure]:
    """A departure every 20 minutes over the 10 hours before NOW, ``late`` minutes late."""
    out = []
    for i in range(30):
        actual = NOW_LOCAL - dt.timedelta(minutes=20 * i + 5)
        scheduled = actual - dt.timedelta(minutes=late)
        out.append(Departure("Grupo LATAM", str(1000 + i), scheduled, actual, "Calama"))
    return out


def answer(model: NowcastClassifier, item: dict, context: Context) -> dict:
    (result,) = model.predict([model.parse(item, "", context)], context)
    NowcastPrediction.model_validate(result)
    return result


def test_the_reason_for_no_live_context_is_stated(model: NowcastClassifier) -> None:
    reported = snapshot(evening(30), model.departures_lookback)
    soon = flight(NOW_LOCAL + dt.timedelta(hours=2))
    cases = {
        "departures_unavailable": (soon, Context(now=NOW)),
        "no_departures": (soon, Context(now=NOW, departures=snapshot([], 8 * DAY))),
        "beyond_horizon": (
            flight(NOW_LOCAL + dt.timedelta(hours=24, minutes=31)),
            Context(now=NOW, departures=reported),
        ),
        "outside_window": (
            flight(NOW_LOCAL - dt.timedelta(seconds=PAST_SLACK + 3600)),
            Context(now=NOW, departures=reported),
        ),
    }
    for reason, (item, context) in cases.items():
        result = answer(model, item, context)
        assert (result["context"]["mode"], result["context"]["reason"]) == (
            "schedule_only",
            reason,
        )
        assert result["context"]["scl_last_3h"] is None
    live = answer(model, soon, Context(now=NOW, departures=reported))
    assert (live["context"]["mode"], live["context"]["reason"]) == ("live", None)
    # a flight that should have left 20 hours ago (within PAST_SLACK) is still predicted live,
    # as of 30 minutes before its scheduled time, from the departures before that
    two_days = [
        Departure("Sky Airline", str(i), when - dt.timedelta(minutes=5), when, "Calama")
        for i in range(72)
        for when in [NOW_LOCAL - dt.timedelta(minutes=40 * i)]
    ]
    context = Context(now=NOW, departures=snapshot(two_days, model.departures_lookback))
    yesterday = answer(model, flight(NOW_LOCAL - dt.timedelta(hours=20)), context)["context"]
    assert (yesterday["mode"], yesterday["lead_hours"]) == ("live", 0.5)
    assert yesterday["departures_seen"] == sum(
        NOW_LOCAL - dt.timedelta(hours=44, minutes=30)
        < d.actual
        <= NOW_LOCAL - dt.timedelta(hours=20, minutes=30)
        for d in two_days
    )


def live_context(model: NowcastClassifier) -> Context:
    return Context(now=NOW, departures=snapshot(evening(30), model.departures_lookback))


def test_schedule_only_answers_are_the_schedule_models(model: NowcastClassifier) -> None:
    item = flight(NOW_LOCAL + dt.timedelta(hours=3))
    columns = FlightColumns.from_flights([model.parse(item)])
    expected = float(sigmoid(model.schedule.raw(model.encoder.encode(columns)))[0])
    result = answer(model, item, Context(now=NOW))
    assert result["prediction"] == [round(1 - expected, 6), round(expected, 6)]
    assert result["threshold"] == round(model.schedule_threshold, 6)
    live = answer(model, item, live_context(model))
    assert live["threshold"] == round(model.threshold, 6)


def test_the_prediction_time_is_now_or_half_an_hour_before_departure(
    model: NowcastClassifier,
) -> None:
    context = live_context(model)
    later = answer(model, flight(NOW_LOCAL + dt.timedelta(hours=5)), context)["context"]
    assert (later["as_of"], later["lead_hours"]) == ("2025-03-10 12:00:00", 5.0)
    soon = answer(model, flight(NOW_LOCAL + dt.timedelta(minutes=10)), context)["context"]
    assert (soon["as_of"], soon["lead_hours"]) == ("2025-03-10 11:40:00", 0.5)
    basic = answer(model, flight(NOW_LOCAL + dt.timedelta(hours=5, minutes=45), None), context)
    assert basic["context"]["lead_hours"] == 5.75
    # the departures' read time is the prediction time, not the request's clock
    read_earlier = DepartureSnapshot(
        tuple(evening(30)), start=NOW_LOCAL - dt.timedelta(days=9), end=NOW_LOCAL
    )
    stale = Context(now=NOW + 25, departures=read_earlier)
    assert answer(model, flight(NOW_LOCAL + dt.timedelta(hours=5)), stale)["context"]["as_of"] == (
        "2025-03-10 12:00:00"
    )


def test_a_late_evening_raises_the_risk_and_the_context_says_what_was_seen(
    model: NowcastClassifier,
) -> None:
    item = flight(NOW_LOCAL + dt.timedelta(hours=1))
    calm = answer(model, item, Context(now=NOW, departures=snapshot(evening(0), 9 * DAY)))
    stormy = answer(model, item, Context(now=NOW, departures=snapshot(evening(60), 9 * DAY)))
    assert stormy["prediction"][1] > calm["prediction"][1]
    seen = stormy["context"]
    assert seen["departures_seen"] == 30
    assert seen["scl_last_3h"] == {"departures": 9, "delayed_share": 1.0}
    assert seen["airline_last_6h"] == {"departures": 18, "delayed_share": 1.0}
    assert calm["context"]["scl_last_3h"] == {"departures": 9, "delayed_share": 0.0}


def test_batches_mixing_modes_agree_with_single_predictions(model: NowcastClassifier) -> None:
    context = live_context(model)
    items = [
        flight(NOW_LOCAL + dt.timedelta(hours=h), number)
        for h, number in ((1, "226"), (30, "226"), (3, None), (-30, "12"), (0, "7"))
    ]
    parsed = [model.parse(item, "", context) for item in items]
    batch = model.predict(parsed, context)
    assert batch == [model.predict([p], context)[0] for p in parsed]
    assert [b["context"]["mode"] for b in batch] == [
        "live",
        "schedule_only",
        "live",
        "schedule_only",
        "live",
    ]


def test_offline_leads_are_those_the_model_was_trained_for(model: NowcastClassifier) -> None:
    item = model.parse(flight(NOW_LOCAL + dt.timedelta(hours=2)))
    everything = DepartureSnapshot(tuple(evening(20)))
    (result,) = model.predict([item], Context(lead_hours=2.0, departures=everything))
    assert result["context"]["as_of"] == "2025-03-10 12:00:00"
    assert result["context"]["mode"] == "live"
    for lead in (0.25, 25.0):
        with pytest.raises(ValueError, match="outside the trained"):
            model.predict([item], Context(lead_hours=lead, departures=everything))


def test_the_handler_reads_the_features_lookback_plus_a_day(model: NowcastClassifier) -> None:
    assert model.departures_lookback == model.live.lookback + PAST_SLACK
    assert np.isclose(model.departures_lookback, 8 * DAY)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.datetime(2017, 3, 1, 10, 0, 0), dt.datetime(2017, 3, 2, 10, 0, 0)),
        (dt.datetime(2017, 3, 1, 10, 0, 0, 500_000), dt.datetime(2017, 3, 2, 10, 0, 0, 250_000)),
        (None, dt.datetime(2017, 3, 2, 10, 0, 0, 1)),
        (dt.datetime(2017, 3, 1, 23, 59, 59, 999_999), None),
        (None, None),
    ],
)
def test_the_covered_seconds_are_where_the_snapshot_covers(
    start: dt.datetime | None, end: dt.datetime | None
) -> None:
    """The plan compares whole local seconds with the snapshot's bounds computed once; at every
    second around both bounds that agrees with ``DepartureSnapshot.covers`` on datetimes."""
    from challenge_neuralworks.nowcast.live import seconds_of, time_of
    from challenge_neuralworks.nowcast.model import _covered

    snapshot = DepartureSnapshot((), start=start, end=end)
    first, last = _covered(snapshot)
    near_start = range(
        seconds_of(start or dt.datetime(2017, 3, 1)) - 3,
        7 + seconds_of(start or dt.datetime(2017, 3, 1)),
    )
    near_end = range(
        seconds_of(end or dt.datetime(2017, 3, 2)) - 3,
        7 + seconds_of(end or dt.datetime(2017, 3, 2)),
    )
    for low in near_start:
        for high in near_end:
            expected = snapshot.covers(time_of(low), time_of(high))
            assert (first <= low and high <= last) == expected, (low, high)
