"""Why the ``delay`` model gave a flight its risk: contributions in the request's terms, and
the top three reasons in words.

The numbers come from :class:`~challenge_neuralworks.explain.TreeExplainer` (exact TreeSHAP on
the served trees, numpy only); this module only says them the way an operations team reads
them: the airline's and the destination's names instead of their codes, the scheduled time as
``HH:MM``, "no flight number given" instead of a missing value. Each feature's wording is
:data:`WORDS`; a feature without one (e.g. added to the encoder later) is still explained, named
by its feature name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Final, NamedTuple

import numpy as np

from challenge_neuralworks import dates
from challenge_neuralworks.delay.features import FeatureEncoder, flight_key
from challenge_neuralworks.schemas import ScheduledFlight

#: How many contributions the answer puts into words.
REASONS: Final[int] = 3
MONTHS: Final[tuple[str, ...]] = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
#: English names, Monday first (``dates.WEEKDAYS`` are the data set's Spanish ones).
WEEKDAYS_EN: Final[tuple[str, ...]] = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)


class Described(NamedTuple):
    """One feature of one flight: its value as the answer reports it, and in words."""

    value: str | int | float | bool | None
    words: str


#: (encoder, flight, the feature's model input) -> the feature described.
Describe = Callable[[FeatureEncoder, ScheduledFlight, float], Described]


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _scheduled_time(encoder: FeatureEncoder, flight: ScheduledFlight, x: float) -> Described:
    if math.isnan(x):
        return Described(None, "no departure minute given")
    clock = f"{int(x) // 60:02d}:{int(x) % 60:02d}"
    return Described(clock, f"scheduled at {clock}")


def _flight_history(encoder: FeatureEncoder, flight: ScheduledFlight, x: float) -> Described:
    if flight.flight_number is None or math.isnan(x):
        return Described(None, "no flight number given")
    rate = round(x, 4)
    if flight_key(flight.airline, flight.flight_number) not in encoder.flight_rates:
        return Described(
            rate, f"flight {flight.flight_number} new to the model (average delay rate {x:.0%})"
        )
    return Described(rate, f"flight {flight.flight_number}'s past delay rate {x:.0%}")


def _to_holiday(encoder: FeatureEncoder, flight: ScheduledFlight, x: float) -> Described:
    n = int(x)
    return Described(n, "on a public holiday" if n == 0 else f"{_days(n)} to the next holiday")


def _since_holiday(encoder: FeatureEncoder, flight: ScheduledFlight, x: float) -> Described:
    n = int(x)
    return Described(n, "on a public holiday" if n == 0 else f"{_days(n)} after a holiday")


def _weekday(encoder: FeatureEncoder, flight: ScheduledFlight, x: float) -> Described:
    return Described(dates.WEEKDAYS[int(x)], f"departure on a {WEEKDAYS_EN[int(x)]}")


def _density(encoder: FeatureEncoder, flight: ScheduledFlight, x: float) -> Described:
    return Described(round(x, 2), f"{x:.1f} departures a week scheduled in this weekday and hour")


#: The wording of each feature of :data:`~challenge_neuralworks.delay.features.ALL_FEATURES`.
WORDS: Final[dict[str, Describe]] = {
    "airline": lambda e, f, x: Described(f.airline, f"airline {f.airline}"),
    "destination": lambda e, f, x: Described(f.destination, f"destination {f.destination}"),
    "international": lambda e, f, x: Described(
        bool(x), "international flight" if x else "domestic flight"
    ),
    "month": lambda e, f, x: Described(int(x), f"month {MONTHS[int(x) - 1]}"),
    "day": lambda e, f, x: Described(int(x), f"day {int(x)} of the month"),
    "weekday": _weekday,
    "hour": lambda e, f, x: Described(int(x), f"departure hour {int(x)}"),
    "minute_of_day": _scheduled_time,
    "day_of_year": lambda e, f, x: Described(int(x), f"day {int(x)} of the year"),
    "is_holiday": lambda e, f, x: Described(
        bool(x), "a public holiday" if x else "not a public holiday"
    ),
    "days_to_holiday": _to_holiday,
    "days_since_holiday": _since_holiday,
    "high_season": lambda e, f, x: Described(
        bool(x), "high season" if x else "outside high season"
    ),
    "schedule_density": _density,
    "flight_delay_rate": _flight_history,
}


def _generic(feature: str) -> Describe:
    """A feature without wording: its name and its value (``None`` when missing)."""
    label = feature.replace("_", " ")

    def describe(encoder: FeatureEncoder, flight: ScheduledFlight, x: float) -> Described:
        if math.isnan(x):
            return Described(None, f"no {label}")
        value: int | float = int(x) if float(x).is_integer() else round(float(x), 4)
        return Described(value, f"{label} {value}")

    return describe


def explanations(
    encoder: FeatureEncoder,
    flights: Sequence[ScheduledFlight],
    *,
    X: np.ndarray,
    raw: np.ndarray,
    contributions: np.ndarray,
    base_value: float,
    calibrated: bool,
) -> list[dict[str, Any]]:
    """The ``explanation`` of each flight (``X``: its model input, ``raw``: its log-odds):
    base value, log-odds, every feature's contribution (largest first) and the top reasons in
    words."""
    describe = [WORDS.get(name) or _generic(name) for name in encoder.features]
    out = []
    for flight, x, log_odds, phi in zip(
        flights, X.tolist(), raw.tolist(), contributions.tolist(), strict=True
    ):
        order = sorted(range(len(phi)), key=lambda k: -abs(phi[k]))
        described = {k: describe[k](encoder, flight, x[k]) for k in order}
        out.append(
            {
                "base_value": base_value,
                "log_odds": log_odds,
                "explains": "uncalibrated_log_odds" if calibrated else "log_odds",
                "contributions": [
                    {
                        "feature": encoder.features[k],
                        "value": described[k].value,
                        "contribution": phi[k],
                    }
                    for k in order
                ],
                "reasons": [
                    f"{described[k].words}: {phi[k]:+.2f}"
                    for k in order[:REASONS]
                    if round(phi[k], 2) != 0
                ],
            }
        )
    return out
