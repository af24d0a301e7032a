"""The departure log's window queries agree with a brute-force count, bounds and all."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest

from challenge_neuralworks.delay.features import FlightColumns
from challenge_neuralworks.departures.records import Departure
from challenge_neuralworks.nowcast.live import (
    DAY,
    DELAY_CLIP,
    GROUPINGS,
    HOUR,
    LIVE_FEATURES,
    WINDOW_COLUMNS,
    DepartureLog,
    LiveEncoder,
    LiveRows,
    scheduled_seconds,
    seconds_of,
    time_of,
)

AIRLINES = ("Grupo LATAM", "Sky Airline", "JetSMART SPA")
START = seconds_of(dt.datetime(2017, 6, 1))


def random_log(rng: np.random.Generator, n: int = 400) -> DepartureLog:
    scheduled = START + rng.integers(0, 10 * DAY, n)
    delay = rng.choice([-10, 0, 5, 14 * 60 + 59, 15 * 60, 16 * 60, 40 * 60, 300 * 60], n)
    return DepartureLog(
        scheduled=scheduled,
        actual=scheduled + delay,
        airline=[AIRLINES[i] for i in rng.integers(0, 3, n)],
        flight_number=[str(i) for i in rng.integers(1, 30, n)],
        destination=["Calama" if i else "Lima" for i in rng.integers(0, 2, n)],
    )


def flights_for(airlines: list[str], numbers: list[str | None], when: np.ndarray) -> FlightColumns:
    days = when // DAY
    moments = [time_of(int(t)) for t in when]
    return FlightColumns(
        year=np.array([m.year for m in moments]),
        month=np.array([m.month for m in moments]),
        day=np.array([m.day for m in moments]),
        hour=np.array([m.hour for m in moments]),
        minute=np.array([m.minute for m in moments], dtype=np.float64),
        airline=airlines,
        destination=["Calama"] * len(days),
        flight_type=["N"] * len(days),
        flight_number=numbers,
    )


@pytest.mark.parametrize("seed", range(5))
def test_windows_match_a_brute_force_count(seed: int) -> None:
    rng = np.random.default_rng(seed)
    log = random_log(rng)
    # prediction times on, just before and just after departures, and anywhere
    as_of = np.concatenate(
        [log.actual[:20], log.actual[:20] - 1, START + rng.integers(0, 11 * DAY, 40)]
    )
    airlines = [AIRLINES[i] for i in rng.integers(0, 3, len(as_of))]
    delay = (log.actual - log.scheduled) / 60.0
    for seconds in (HOUR, 3 * HOUR, DAY, 7 * DAY):
        scl = log.by_time.window(None, as_of, seconds)
        mine = log.by_airline.window(airlines, as_of, seconds)
        for i, t in enumerate(as_of):
            inside = (log.actual > t - seconds) & (log.actual <= t)
            same = inside & (np.array(log.airline) == airlines[i])
            for window, mask in ((scl, inside), (mine, same)):
                assert window.count[i] == mask.sum()
                if mask.any():
                    assert window.delayed_share[i] == pytest.approx((delay[mask] > 15).mean())
                    clipped = np.clip(delay[mask], *DELAY_CLIP)
                    assert window.mean_delay[i] == pytest.approx(clipped.mean())
                else:
                    assert np.isnan(window.delayed_share[i]) and np.isnan(window.mean_delay[i])


@pytest.mark.parametrize("seed", range(3))
def test_every_feature_window_of_the_stacked_search_matches_a_brute_force_count(seed: int) -> None:
    """One search over the stacked indexes gives every grouping's windows (unseen groups too)."""
    rng = np.random.default_rng(seed)
    log = random_log(rng)
    n = 60
    as_of = np.concatenate([log.actual[:20], START + rng.integers(0, 11 * DAY, n - 20)])
    flights = flights_for(
        [(*AIRLINES, "Nobody Air")[i] for i in rng.integers(0, 4, n)],
        [None if i == 0 else str(i) for i in rng.integers(0, 40, n)],
        as_of + HOUR,
    )
    flights = replace(
        flights, destination=[("Calama", "Lima", "Ushuaia")[i] for i in rng.integers(0, 3, n)]
    )
    rows = LiveRows(log, flights, as_of + HOUR, as_of)
    delay = (log.actual - log.scheduled) / 60.0
    columns = {
        "scl": lambda i: np.ones(len(log), dtype=bool),
        "airline": lambda i: np.array(log.airline) == flights.airline[i],
        "destination": lambda i: np.array(log.destination) == flights.destination[i],
        "flight": lambda i: (
            np.array(
                [
                    None if f is None else f"{a}|{f}"
                    for a, f in zip(log.airline, log.flight_number, strict=True)
                ]
            )
            == (
                None
                if flights.flight_number[i] is None
                else f"{flights.airline[i]}|{flights.flight_number[i]}"
            )
        ),
        "route": lambda i: (
            (np.array(log.airline) == flights.airline[i])
            & (np.array(log.destination) == flights.destination[i])
        ),
    }
    assert set(columns) == set(GROUPINGS)
    for group, span in WINDOW_COLUMNS:
        window = rows.window(group, span)
        for i, t in enumerate(as_of):
            mask = (log.actual > t - span) & (log.actual <= t) & columns[group](i)
            assert window.count[i] == mask.sum(), (group, span, i)
            if mask.any():
                assert window.delayed_share[i] == (delay[mask] > 15).sum() / mask.sum()
                assert window.mean_delay[i] == pytest.approx(
                    np.clip(delay[mask], *DELAY_CLIP).mean()
                )
            else:
                assert np.isnan(window.delayed_share[i]) and np.isnan(window.mean_delay[i])


def test_a_group_the_log_never_saw_has_an_empty_window() -> None:
    log = random_log(np.random.default_rng(0))
    window = log.by_airline.window(["Nobody Air"], np.array([START + 5 * DAY]), 7 * DAY)
    assert window.count.tolist() == [0] and np.isnan(window.delayed_share[0])


def test_the_same_flight_the_day_before_counts_only_once_it_has_left() -> None:
    yesterday = dt.datetime(2017, 6, 1, 10, 0)
    left = yesterday + dt.timedelta(minutes=50)
    log = DepartureLog.from_departures([Departure("Sky Airline", "71", yesterday, left, "Calama")])
    today = seconds_of(yesterday + dt.timedelta(days=1))
    flights = flights_for(["Sky Airline"] * 4, ["71", "71", "72", None], np.full(4, today))
    scheduled = np.full(4, today)
    as_of = np.array([seconds_of(left), seconds_of(left) - 1, seconds_of(left), seconds_of(left)])
    delays = log.same_flight_days_before(flights, scheduled, as_of, 1)
    assert delays[0] == 50.0
    assert np.isnan(delays[1:]).all()  # not left yet; another number; no number


def test_last_departures_and_today() -> None:
    base = dt.datetime(2017, 6, 1, 0, 0)
    departures = [
        Departure(
            "Sky Airline",
            str(i),
            base + dt.timedelta(hours=i),
            base + dt.timedelta(hours=i, minutes=20 * (i % 2)),
            "Calama",
        )
        for i in range(30)
    ]
    log = DepartureLog.from_departures(departures)
    as_of = np.array([seconds_of(base + dt.timedelta(hours=25, minutes=30))])
    encoder = LiveEncoder(("scl_today_delayed_share", "scl_last10_mean_delay"))
    flights = flights_for(["Sky Airline"], ["1"], as_of + HOUR)
    today, last10 = encoder.encode(log, flights, as_of + HOUR, as_of)[0].tolist()
    # since midnight of 2 June: departures at 00:20, 01:00 -> one of two late
    assert today == 0.5
    # the last ten (15:00 to 01:00, every other one 20 minutes late)
    assert last10 == pytest.approx(10.0)
    rows = LiveRows(log, flights, as_of + HOUR, as_of)
    assert rows.recent[1].count.tolist() == [10]
    midnight = np.array([seconds_of(dt.datetime(2017, 6, 2))])
    assert LiveRows(log, flights, midnight + HOUR, midnight).recent[0].count.tolist() == [1]


def test_the_encoder_knows_its_features_and_lookback() -> None:
    with pytest.raises(ValueError, match="unknown live features"):
        LiveEncoder(("scl_1h_departures", "tomorrow_delay"))
    assert LiveEncoder(("lead_hours", "scl_3h_departures")).lookback == 3 * HOUR
    assert LiveEncoder(tuple(LIVE_FEATURES)).lookback == 7 * DAY
    log = random_log(np.random.default_rng(1))
    when = np.array([START + 3 * DAY, START + 4 * DAY])
    flights = flights_for(["Sky Airline", "Grupo LATAM"], ["3", None], when)
    matrix = LiveEncoder(tuple(LIVE_FEATURES)).encode(log, flights, when, when - 2 * HOUR)
    assert matrix.shape == (2, len(LIVE_FEATURES))
    assert matrix[:, 0].tolist() == [2.0, 2.0]  # lead_hours comes first


def test_times_round_trip_and_an_unknown_minute_is_the_start_of_the_hour() -> None:
    moment = dt.datetime(2017, 12, 31, 23, 59, 59)
    assert time_of(seconds_of(moment)) == moment
    flights = flights_for(["Sky Airline"], ["1"], np.array([seconds_of(moment)]))
    unknown = FlightColumns(**{**flights.__dict__, "minute": np.array([np.nan])})
    assert scheduled_seconds(unknown).tolist() == [seconds_of(dt.datetime(2017, 12, 31, 23))]
