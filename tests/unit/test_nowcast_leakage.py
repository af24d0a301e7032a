"""Leakage: a nowcast made at time T is the same whatever happened after T.

Each flight is predicted 2 hours before its scheduled time from the real departures of the data
set. Every departure whose actual time is after that moment is then scrambled (their airlines,
flight numbers, destinations and delays permuted, their times shuffled among themselves, so they
all stay after it): the prediction must not move. The same scrambling applied to the departures
*before* the moment must move most predictions, or the test would prove nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from challenge_neuralworks.data import Flights
from challenge_neuralworks.departures.feed import DepartureSnapshot
from challenge_neuralworks.departures.records import Departure
from challenge_neuralworks.model import Context, Model
from challenge_neuralworks.registry import Registry

LEAD = dt.timedelta(hours=2)
#: Departures around each prediction time that can matter (the features look back 7 days).
AROUND = dt.timedelta(days=9)

pytestmark = pytest.mark.slow


def departures_of(flights: Flights) -> list[Departure]:
    frame = flights.frame
    return [
        Departure(airline, str(number).lstrip("0"), scheduled, actual, city)
        for airline, number, scheduled, actual, city in zip(
            frame["OPERA"],
            frame["Vlo-I"],
            frame["scheduled"].dt.to_pydatetime(),
            frame["operated"].dt.to_pydatetime(),
            frame["destination"],
            strict=True,
        )
    ]


def scrambled(departures: list[Departure], rng: np.random.Generator) -> list[Departure]:
    """The same number of departures over the same actual times, everything else permuted."""
    if len(departures) < 2:
        return departures
    who = rng.permutation(len(departures))
    when = rng.permutation([d.actual for d in departures])
    out = []
    for i, actual in zip(who, when, strict=True):
        other = departures[i]
        delay = other.actual - other.scheduled
        out.append(
            Departure(other.airline, other.flight_number, actual - delay, actual, other.destination)
        )
    return out


def nowcast(model: Model, item: object, departures: list[Departure]) -> dict:
    """The model's answer 2 h before the flight from ``departures`` (all it is told)."""
    context = Context(lead_hours=2.0, departures=DepartureSnapshot(tuple(departures)))
    (answer,) = model.predict([item], context)
    assert answer["context"]["mode"] == "live"
    return answer


def test_departures_after_the_prediction_time_change_nothing(
    fast_models_dir: Path, flights: Flights
) -> None:
    model = Registry(fast_models_dir).get("delay_nowcast")
    everything = departures_of(flights)
    frame = flights.frame
    rng = np.random.default_rng(7)
    picks = rng.choice(np.flatnonzero(frame["scheduled"] >= "2017-11-01"), 40, replace=False)
    unchanged, moved = 0, 0
    for row in picks:
        request = {
            "FECHA-I": frame["Fecha-I"][row],
            "OPERA": frame["OPERA"][row],
            "TIPOVUELO": frame["TIPOVUELO"][row],
            "SIGLADES": frame["destination"][row],
            "VLO-I": frame["Vlo-I"][row],
        }
        item = model.parse(request)
        as_of = frame["scheduled"][row].to_pydatetime() - LEAD
        near = [d for d in everything if abs(d.actual - as_of) <= AROUND]
        before = [d for d in near if d.actual <= as_of]
        after = [d for d in near if d.actual > as_of]

        reference = nowcast(model, item, before + after)
        shuffled_after = nowcast(model, item, before + scrambled(after, rng))
        assert shuffled_after == reference, request
        assert all(d.actual > as_of for d in scrambled(after, rng))
        unchanged += 1
        shuffled_before = nowcast(model, item, scrambled(before, rng) + after)
        if shuffled_before["prediction"] != reference["prediction"]:
            moved += 1
    assert unchanged == len(picks)
    assert moved >= 0.8 * len(picks), f"scrambling the past moved only {moved} predictions"
