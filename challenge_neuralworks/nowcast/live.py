"""Live features of the nowcast: what the departures reported up to the prediction time say.

Delays cluster in time (weather, congestion, an airline's bad morning), so the departures that
have already left are evidence about the ones that have not. One implementation serves training
and the API: a :class:`DepartureLog` keeps departures as arrays sorted by actual time, grouped
(all of SCL, each airline, each destination, each flight), with prefix sums of "delayed" (more
than 15 minutes) and of the delay in minutes, so the count, delayed share and mean delay of any
window is two binary searches. Training builds one log from the data set and asks for each
flight's features "as of" a simulated prediction time; the API builds one from the snapshot the
handler read (once per snapshot) and asks "as of" now.

The leakage rule is structural: every window ends at the prediction time, inclusive, and every
lookup of a single earlier departure checks its actual time, so a departure whose actual time is
later than the prediction time can change nothing (``tests/unit/test_nowcast_leakage.py``).

Times are integer "local seconds": seconds since 1970-01-01 00:00 on SCL's wall clock, the
time base of the data set, of ``FECHA-I`` and of the reports.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Final, NamedTuple

import numpy as np

from challenge_neuralworks import dates
from challenge_neuralworks.artifacts import artifact_type
from challenge_neuralworks.data import DELAY_THRESHOLD_MINUTES
from challenge_neuralworks.delay.features import FlightColumns, flight_key

if TYPE_CHECKING:
    from challenge_neuralworks.departures.records import Departure

HOUR: Final[int] = 3600
DAY: Final[int] = 24 * HOUR
#: Reported delays are clipped to this range (minutes) before averaging: one flight hours late
#: must not dominate a window's mean.
DELAY_CLIP: Final[tuple[float, float]] = (-30.0, 180.0)
#: Larger than any local-seconds value up to 2060 (~2.8e9): groups are ``code * _SPAN + time``.
_SPAN: Final[int] = 10**10


def local_seconds(
    year: dates.IntLike,
    month: dates.IntLike,
    day: dates.IntLike,
    hour: dates.IntLike,
    *,
    minute: dates.IntLike = 0,
    second: dates.IntLike = 0,
) -> dates.IntLike:
    """Local seconds of a wall-clock time (element-wise on integer arrays too)."""
    return dates.days_from_civil(year, month, day) * DAY + hour * HOUR + minute * 60 + second


def seconds_of(when: _dt.datetime) -> int:
    """Local seconds of a naive datetime."""
    return int(
        local_seconds(
            when.year, when.month, when.day, when.hour, minute=when.minute, second=when.second
        )
    )


def time_of(seconds: int) -> _dt.datetime:
    """The naive datetime of local seconds (inverse of :func:`seconds_of`)."""
    return _dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=int(seconds))


def scheduled_seconds(flights: FlightColumns) -> np.ndarray:
    """Scheduled time of each flight in local seconds; an unknown minute counts as 0 (the start
    of the hour: the earliest the flight can be, so no window ever reaches past it)."""
    minute = np.nan_to_num(np.asarray(flights.minute, dtype=np.float64), nan=0.0)
    seconds = local_seconds(
        flights.year, flights.month, flights.day, flights.hour, minute=minute.astype(np.int64)
    )
    return np.asarray(seconds, dtype=np.int64)


class Window(NamedTuple):
    """Departures of one window per flight: how many, the delayed share, the mean delay."""

    count: np.ndarray
    delayed_share: np.ndarray  # NaN where count == 0
    mean_delay: np.ndarray  # minutes, clipped to DELAY_CLIP; NaN where count == 0


class _Index:
    """Departures of each group sorted by (group, actual time), with prefix sums."""

    def __init__(
        self, groups: Sequence[Hashable], actual: np.ndarray, delayed: np.ndarray, delay: np.ndarray
    ) -> None:
        self.codes = {group: code for code, group in enumerate(dict.fromkeys(groups))}
        code = np.fromiter((self.codes[g] for g in groups), dtype=np.int64, count=len(groups))
        key = code * _SPAN + actual
        order = np.argsort(key, kind="stable")
        self.key = key[order]
        self.delayed = np.concatenate(([0.0], np.cumsum(delayed[order])))
        self.delay = np.concatenate(([0.0], np.cumsum(delay[order])))

    def bounds(
        self, groups: Sequence[Hashable] | None, as_of: np.ndarray, seconds: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Index range of each flight's group with actual time in ``(as_of - seconds, as_of]``;
        a group the log never saw gets an empty range."""
        offset = 0
        if groups is not None:
            offset = (
                np.fromiter(
                    (self.codes.get(g, -1) for g in groups), dtype=np.int64, count=len(groups)
                )
                * _SPAN
            )
        high = np.searchsorted(self.key, offset + as_of, side="right")
        low = np.searchsorted(self.key, offset + as_of - seconds, side="right")
        return low, high

    def window(self, groups: Sequence[Hashable] | None, as_of: np.ndarray, seconds: int) -> Window:
        low, high = self.bounds(groups, as_of, seconds)
        return self.summarise(low, high)

    def summarise(self, low: np.ndarray, high: np.ndarray) -> Window:
        count = high - low
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(count > 0, (self.delayed[high] - self.delayed[low]) / count, np.nan)
            mean = np.where(count > 0, (self.delay[high] - self.delay[low]) / count, np.nan)
        return Window(count, share, mean)


@dataclass(frozen=True, eq=False)
class DepartureLog:
    """Reported departures, indexed for window queries (see the module docstring)."""

    scheduled: np.ndarray  # local seconds
    actual: np.ndarray  # local seconds
    airline: Sequence[str]
    flight_number: Sequence[str | None]
    destination: Sequence[str]

    def __post_init__(self) -> None:
        if not (len(self.scheduled) == len(self.actual) == len(self.airline)):
            raise ValueError("every column of a departure log has one entry per departure")

    def __len__(self) -> int:
        return len(self.actual)

    @classmethod
    def from_departures(cls, departures: Sequence[Departure]) -> DepartureLog:
        """The log of reported departures (a :class:`~.feed.DepartureSnapshot`'s)."""
        return cls(
            scheduled=np.array([seconds_of(d.scheduled) for d in departures], dtype=np.int64),
            actual=np.array([seconds_of(d.actual) for d in departures], dtype=np.int64),
            airline=[d.airline for d in departures],
            flight_number=[d.flight_number for d in departures],
            destination=[d.destination for d in departures],
        )

    # ------------------------------------------------------------------ indexes
    @cached_property
    def delay_minutes(self) -> np.ndarray:
        return (self.actual - self.scheduled) / 60.0

    @cached_property
    def _delayed(self) -> np.ndarray:
        return (self.delay_minutes > DELAY_THRESHOLD_MINUTES).astype(np.float64)

    @cached_property
    def _clipped(self) -> np.ndarray:
        return np.clip(self.delay_minutes, *DELAY_CLIP)

    def _index(self, groups: Sequence[Hashable]) -> _Index:
        return _Index(groups, self.actual, self._delayed, self._clipped)

    @cached_property
    def by_time(self) -> _Index:
        """All of SCL."""
        return self._index([0] * len(self))

    @cached_property
    def by_airline(self) -> _Index:
        return self._index(self.airline)

    @cached_property
    def by_destination(self) -> _Index:
        return self._index(self.destination)

    @cached_property
    def by_flight(self) -> _Index:
        return self._index(self._flight_keys)

    @cached_property
    def _flight_keys(self) -> list[str | None]:
        return [
            None if number is None else flight_key(airline, number)
            for airline, number in zip(self.airline, self.flight_number, strict=True)
        ]

    @cached_property
    def _by_flight_day(self) -> dict[tuple[str, int], list[int]]:
        """(flight key, scheduled day number) -> positions (a flight number may be scheduled
        more than once a day)."""
        index: dict[tuple[str, int], list[int]] = {}
        days = (self.scheduled // DAY).tolist()
        for i, (key, day) in enumerate(zip(self._flight_keys, days, strict=True)):
            if key is not None:
                index.setdefault((key, day), []).append(i)
        return index

    # ------------------------------------------------------------------ queries
    def same_flight_days_before(
        self, flights: FlightColumns, scheduled: np.ndarray, as_of: np.ndarray, days: int
    ) -> np.ndarray:
        """Delay (minutes, clipped) of the same airline and flight number scheduled ``days``
        days earlier, among those that had left by ``as_of`` the one scheduled closest to the
        same time of day; NaN when none had (no such flight, not reported, or not left yet).

        Only departures at or before ``as_of`` are candidates, so nothing reported later can
        change the answer, not even by being a closer match.
        """
        out = np.full(len(flights), np.nan)
        index = self._by_flight_day
        target_days = (scheduled // DAY - days).tolist()
        for i, (airline, number, day) in enumerate(
            zip(flights.airline, flights.flight_number, target_days, strict=True)
        ):
            if number is None:
                continue
            left = [
                p
                for p in index.get((flight_key(airline, number), day), ())
                if self.actual[p] <= as_of[i]
            ]
            if left:
                target = scheduled[i] - days * DAY
                closest = min(left, key=lambda p: (abs(self.scheduled[p] - target), p))
                out[i] = self._clipped[closest]
        return out

    def last(self, as_of: np.ndarray, k: int) -> Window:
        """The last ``k`` departures of SCL at or before ``as_of`` (fewer if the log has fewer)."""
        index = self.by_time
        high = np.searchsorted(index.key, as_of, side="right")
        return index.summarise(np.maximum(high - k, 0), high)


class LiveRows:
    """One encoding call: the flights, their prediction times and shared intermediates."""

    def __init__(
        self, log: DepartureLog, flights: FlightColumns, scheduled: np.ndarray, as_of: np.ndarray
    ) -> None:
        self.log = log
        self.flights = flights
        self.scheduled = np.asarray(scheduled, dtype=np.int64)
        self.as_of = np.asarray(as_of, dtype=np.int64)
        self._windows: dict[tuple[str, int], Window] = {}

    def window(self, group: str, seconds: int) -> Window:
        """Cached window of ``group`` (``scl``, ``airline``, ``destination``, ``flight``)."""
        cache_key = (group, seconds)
        if cache_key not in self._windows:
            index, groups = {
                "scl": (self.log.by_time, None),
                "airline": (self.log.by_airline, self.flights.airline),
                "destination": (self.log.by_destination, self.flights.destination),
                "flight": (self.log.by_flight, self._flight_keys),
            }[group]
            self._windows[cache_key] = index.window(groups, self.as_of, seconds)
        return self._windows[cache_key]

    @cached_property
    def _flight_keys(self) -> list[str | None]:
        return [
            None if number is None else flight_key(airline, number)
            for airline, number in zip(
                self.flights.airline, self.flights.flight_number, strict=True
            )
        ]

    def today(self) -> Window:
        """SCL's departures since local midnight of the prediction time."""
        index = self.log.by_time
        high = np.searchsorted(index.key, self.as_of, side="right")
        low = np.searchsorted(index.key, self.as_of - self.as_of % DAY, side="left")
        return index.summarise(low, high)


class LiveFeature(NamedTuple):
    """One live feature: its formula and how far before the prediction time it looks."""

    formula: Callable[[LiveRows], np.ndarray]
    lookback: int  # seconds


def _window(group: str, seconds: int, statistic: str) -> LiveFeature:
    return LiveFeature(lambda rows: getattr(rows.window(group, seconds), statistic), seconds)


#: Every live feature, by name. ``scl``: all departures; ``airline``, ``destination``,
#: ``flight``: those of the flight's airline, destination, airline + flight number.
LIVE_FEATURES: Final[dict[str, LiveFeature]] = {
    "lead_hours": LiveFeature(lambda r: (r.scheduled - r.as_of) / HOUR, 0),
    "scl_1h_departures": _window("scl", HOUR, "count"),
    "scl_1h_delayed_share": _window("scl", HOUR, "delayed_share"),
    "scl_1h_mean_delay": _window("scl", HOUR, "mean_delay"),
    "scl_3h_departures": _window("scl", 3 * HOUR, "count"),
    "scl_3h_delayed_share": _window("scl", 3 * HOUR, "delayed_share"),
    "scl_3h_mean_delay": _window("scl", 3 * HOUR, "mean_delay"),
    "scl_6h_delayed_share": _window("scl", 6 * HOUR, "delayed_share"),
    "scl_24h_departures": _window("scl", DAY, "count"),
    "scl_24h_delayed_share": _window("scl", DAY, "delayed_share"),
    "scl_7d_delayed_share": _window("scl", 7 * DAY, "delayed_share"),
    "airline_6h_departures": _window("airline", 6 * HOUR, "count"),
    "airline_6h_delayed_share": _window("airline", 6 * HOUR, "delayed_share"),
    "airline_6h_mean_delay": _window("airline", 6 * HOUR, "mean_delay"),
    "airline_24h_delayed_share": _window("airline", DAY, "delayed_share"),
    "destination_6h_delayed_share": _window("destination", 6 * HOUR, "delayed_share"),
    "flight_7d_departures": _window("flight", 7 * DAY, "count"),
    "flight_7d_delayed_share": _window("flight", 7 * DAY, "delayed_share"),
    "flight_7d_mean_delay": _window("flight", 7 * DAY, "mean_delay"),
    "scl_last10_mean_delay": LiveFeature(lambda r: r.log.last(r.as_of, 10).mean_delay, DAY),
    "scl_today_delayed_share": LiveFeature(lambda r: r.today().delayed_share, DAY),
    "previous_day_delay": LiveFeature(
        lambda r: r.log.same_flight_days_before(r.flights, r.scheduled, r.as_of, 1), 2 * DAY
    ),
}

#: Features of the flight's own number: blank (NaN) when a request gives no ``VLO-I``.
FLIGHT_FEATURES: Final[frozenset[str]] = frozenset(
    name for name in LIVE_FEATURES if name.startswith("flight_") or name == "previous_day_delay"
)


@artifact_type
@dataclass(frozen=True, eq=False)
class LiveEncoder:
    """The live features a nowcast uses (names from :data:`LIVE_FEATURES`, in matrix order)."""

    features: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = set(self.features) - set(LIVE_FEATURES)
        if unknown:
            raise ValueError(
                f"unknown live features {sorted(unknown)}; known: {list(LIVE_FEATURES)}"
            )

    @property
    def lookback(self) -> int:
        """Seconds of departures before the prediction time the features read."""
        return max((LIVE_FEATURES[name].lookback for name in self.features), default=0)

    def encode(
        self, log: DepartureLog, flights: FlightColumns, scheduled: np.ndarray, as_of: np.ndarray
    ) -> np.ndarray:
        """Feature matrix (n_flights, len(features)) as of ``as_of`` (local seconds)."""
        return self.encode_rows(LiveRows(log, flights, scheduled, as_of))

    def encode_rows(self, rows: LiveRows) -> np.ndarray:
        """:meth:`encode` of prepared rows (whose windows a caller may reuse)."""
        out = np.empty((len(rows.flights), len(self.features)), dtype=np.float64)
        for position, name in enumerate(self.features):
            out[:, position] = LIVE_FEATURES[name].formula(rows)
        return out
