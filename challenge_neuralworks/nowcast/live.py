"""Live features of the nowcast: what the departures reported up to the prediction time say.

Delays cluster in time (weather, congestion, an airline's bad morning), so the departures that
have already left are evidence about the ones that have not. One implementation serves training
and the API: a :class:`DepartureLog` keeps departures as arrays sorted by actual time, grouped
(all of SCL, each airline, each destination, each flight, each route), with prefix sums of
"delayed" (more than 15 minutes) and of the delay in minutes, so the count, delayed share and mean
delay of any window is two binary searches; the groupings' indexes are also stacked end to end, so
one search finds every window a request's features read. Training builds one log from the data
set and asks for each flight's features "as of" a simulated prediction time; the API builds one
from the snapshot the handler read (once per snapshot) and asks "as of" now.

The leakage rule is structural: every window ends at the prediction time, inclusive, and every
lookup of a single earlier departure checks its actual time, so a departure whose actual time is
later than the prediction time can change nothing (``tests/unit/test_nowcast_leakage.py``).

Times are integer "local seconds": seconds since 1970-01-01 00:00 on SCL's wall clock, the
time base of the data set, of ``FECHA-I`` and of the reports.
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Final, NamedTuple

import numpy as np

from challenge_neuralworks import dates
from challenge_neuralworks.artifacts import artifact_type
from challenge_neuralworks.data import DELAY_THRESHOLD_MINUTES
from challenge_neuralworks.delay.features import FlightColumns, flight_key
from challenge_neuralworks.lazy import computed_once

if TYPE_CHECKING:
    from challenge_neuralworks.departures.records import Departure

HOUR: Final[int] = 3600
DAY: Final[int] = 24 * HOUR
#: Reported delays are clipped to this range (minutes) before averaging: one flight hours late
#: must not dominate a window's mean.
DELAY_CLIP: Final[tuple[float, float]] = (-30.0, 180.0)
#: How many of SCL's latest departures ``scl_last10_mean_delay`` averages.
LAST_DEPARTURES: Final[int] = 10
#: Larger than any local-seconds value up to 2060 (~2.8e9): groups are ``code * _SPAN + time``.
_SPAN: Final[int] = 10**10


def route_keys(airlines: Sequence[str], destinations: Sequence[str]) -> list[str]:
    """The route (airline + destination city) of each departure or flight."""
    return [f"{a}|{d}" for a, d in zip(airlines, destinations, strict=True)]


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
    minute = np.asarray(flights.minute, dtype=np.float64)
    minute = np.where(np.isnan(minute), 0.0, minute).astype(np.int64)
    days = dates.day_numbers(flights.year, flights.month, flights.day)
    return days * DAY + np.asarray(flights.hour, dtype=np.int64) * HOUR + minute * 60


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

    def _offsets(self, groups: Sequence[Hashable] | None) -> np.ndarray | int:
        """Each flight's group code times :data:`_SPAN` (-1 for a group the log never saw, whose
        ranges are then empty: no key is negative)."""
        if groups is None:
            return 0
        codes = np.fromiter((self.codes.get(g, -1) for g in groups), np.int64, count=len(groups))
        return codes * _SPAN

    def window(self, groups: Sequence[Hashable] | None, as_of: np.ndarray, seconds: int) -> Window:
        """Each flight's group's departures with actual time in ``(as_of - seconds, as_of]``
        (empty for a group the log never saw). A request's feature windows come from
        :class:`_Stacked` instead, all in one search."""
        top = self._offsets(groups) + as_of
        high = np.searchsorted(self.key, top, side="right")
        return self.summarise(np.searchsorted(self.key, top - seconds, side="right"), high)

    def summarise(self, low: np.ndarray, high: np.ndarray) -> Window:
        """The window of each index range ``[low, high)`` (arrays of one shape, or broadcast)."""
        return _summarise(self.delayed, self.delay, low, high, high - low)


def _summarise(
    delayed: np.ndarray, delay: np.ndarray, low: np.ndarray, high: np.ndarray, count: np.ndarray
) -> Window:
    """Windows from prefix sums: ``count`` departures between prefix rows ``low`` and ``high``."""
    share = np.full(count.shape, np.nan)
    mean = np.full(count.shape, np.nan)
    some = count > 0
    np.divide(delayed[high] - delayed[low], count, out=share, where=some)
    np.divide(delay[high] - delay[low], count, out=mean, where=some)
    return Window(count, share, mean)


class _Stacked:
    """Several :class:`_Index` end to end, so one binary search finds windows of all of them.

    The keys of each index are shifted past the previous index's (which also leaves one empty
    group slot per index, where a group it never saw is looked up), and their prefix sums are
    laid side by side: a position ``p`` of index ``b``'s block is prefix row ``p + b``. The sums
    are each index's own, so every window is bit for bit what :meth:`_Index.window` gives.
    """

    def __init__(self, indexes: Sequence[_Index]) -> None:
        self.indexes = tuple(indexes)
        slots = [(len(index.codes) + 1) * _SPAN for index in self.indexes]
        self.base = np.array([0, *np.cumsum(slots)[:-1].tolist()], dtype=np.int64)
        self.key = np.concatenate(
            [index.key + base for index, base in zip(self.indexes, self.base, strict=True)]
        )
        self.delayed = np.concatenate([index.delayed for index in self.indexes])
        self.delay = np.concatenate([index.delay for index in self.indexes])

    def windows(
        self,
        groups: Sequence[Sequence[Hashable] | None],
        as_of: np.ndarray,
        spans: tuple[tuple[int, ...], ...],
    ) -> Window:
        """The windows of ``spans[b]`` in index ``b`` for each flight's ``groups[b]``, from one
        search: each statistic an (n_flights, n_windows) matrix, windows in ``spans`` order.
        Every edge is computed in one array expression from each flight's group code in each
        index (a code past the last for a group the index never saw); ~10 µs less per request
        than an expression per index."""
        n = len(as_of)
        codes = np.array(
            [
                [0] * n if names is None else [index.codes.get(g, len(index.codes)) for g in names]
                for index, names in zip(self.indexes, groups, strict=True)
            ],
            dtype=np.int64,
        ).reshape(len(self.indexes), n)
        tops = (self.base[:, None] + codes * _SPAN).T + np.reshape(as_of, (n, 1))
        block, span, low_columns, high_columns = _stacked_layout(spans)
        prefix = np.searchsorted(self.key, tops[:, block] - span, side="right") + block
        low, high = prefix[:, low_columns], prefix[:, high_columns]
        return _summarise(self.delayed, self.delay, low, high, high - low)


@functools.lru_cache(maxsize=16)
def _stacked_layout(
    spans: tuple[tuple[int, ...], ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Column layout of :meth:`_Stacked.windows`' edges (each block's span edges, then its top):
    each column's block number and how far before the top it lies, and the low and high edge
    column of each window."""
    block, span, low, high = [], [], [], []
    for b, block_spans in enumerate(spans):
        start = len(block)
        low += range(start, start + len(block_spans))
        high += [start + len(block_spans)] * len(block_spans)
        block += [b] * (len(block_spans) + 1)
        span += [*block_spans, 0]
    return np.array(block), np.array(span, dtype=np.int64), np.array(low), np.array(high)


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
    def by_route(self) -> _Index:
        """The airline's departures to one destination (known without a flight number)."""
        return self._index(route_keys(self.airline, self.destination))

    @cached_property
    def stacked(self) -> _Stacked:
        """The indexes of :data:`GROUPINGS`, stacked (the windows of a request in one search)."""
        return _Stacked(
            [self.by_time, self.by_airline, self.by_destination, self.by_flight, self.by_route]
        )

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
        """Cached window of ``group`` (one of :data:`GROUPINGS`); those the live features read
        (:data:`GROUP_SPANS`) come from :attr:`feature_windows`."""
        cache_key = (group, seconds)
        if cache_key not in self._windows:
            column = WINDOW_COLUMNS.get(cache_key)
            if column is not None:
                count, share, mean = self.feature_windows
                window = Window(count[:, column], share[:, column], mean[:, column])
            else:
                b = GROUPINGS.index(group)
                window = self.log.stacked.indexes[b].window(self._groups[b], self.as_of, seconds)
            self._windows[cache_key] = window
        return self._windows[cache_key]

    @computed_once
    def feature_windows(self) -> Window:
        """Every window a live feature reads, as (n_flights, len(WINDOW_COLUMNS)) matrices, from
        one search of the stacked indexes (numpy's per-call cost paid once, not per window)."""
        spans = tuple(GROUP_SPANS.get(group, ()) for group in GROUPINGS)
        return self.log.stacked.windows(self._groups, self.as_of, spans)

    def window_statistics(self, columns: np.ndarray) -> np.ndarray:
        """Columns of ``[count | delayed_share | mean_delay]`` of :attr:`feature_windows`."""
        return np.concatenate(self.feature_windows, axis=1, dtype=np.float64)[:, columns]

    @computed_once
    def _groups(self) -> tuple[Sequence[Hashable] | None, ...]:
        """Each flight's group in each of :data:`GROUPINGS` (``None``: all of SCL)."""
        flights = self.flights
        routes = route_keys(flights.airline, flights.destination)
        return (None, flights.airline, flights.destination, self._flight_keys, routes)

    @computed_once
    def _flight_keys(self) -> list[str | None]:
        return [
            None if number is None else flight_key(airline, number)
            for airline, number in zip(
                self.flights.airline, self.flights.flight_number, strict=True
            )
        ]

    @computed_once
    def previous_day_delay(self) -> np.ndarray:
        """Delay of the same flight scheduled the day before, if it had left by the prediction
        time (:meth:`DepartureLog.same_flight_days_before`)."""
        return self.log.same_flight_days_before(self.flights, self.scheduled, self.as_of, 1)

    @computed_once
    def recent(self) -> tuple[Window, Window]:
        """SCL's departures since local midnight of the prediction time, and its last
        :data:`LAST_DEPARTURES` at or before it (fewer if the log has fewer): one search."""
        index, n = self.log.by_time, len(self.as_of)
        midnight = self.as_of - self.as_of % DAY
        # keys are integers: "right of midnight - 1" is "left of midnight" (midnight included)
        edges = np.searchsorted(index.key, np.concatenate([midnight - 1, self.as_of]), "right")
        since_midnight, high = edges[:n], edges[n:]
        low = np.concatenate([since_midnight, np.maximum(high - LAST_DEPARTURES, 0)])
        count, share, mean = index.summarise(low, np.concatenate([high, high]))
        today = Window(count[:n], share[:n], mean[:n])
        return today, Window(count[n:], share[n:], mean[n:])


class LiveFeature(NamedTuple):
    """One live feature: its formula and how far before the prediction time it looks."""

    formula: Callable[[LiveRows], np.ndarray]
    lookback: int  # seconds
    window: tuple[str, int, str] | None = None  # (group, seconds, statistic) of a window


def _window(group: str, seconds: int, statistic: str) -> LiveFeature:
    return LiveFeature(
        lambda rows: getattr(rows.window(group, seconds), statistic),
        seconds,
        (group, seconds, statistic),
    )


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
    "destination_24h_delayed_share": _window("destination", DAY, "delayed_share"),
    "airline_7d_delayed_share": _window("airline", 7 * DAY, "delayed_share"),
    "route_24h_delayed_share": _window("route", DAY, "delayed_share"),
    "route_7d_departures": _window("route", 7 * DAY, "count"),
    "route_7d_delayed_share": _window("route", 7 * DAY, "delayed_share"),
    "route_7d_mean_delay": _window("route", 7 * DAY, "mean_delay"),
    "flight_7d_departures": _window("flight", 7 * DAY, "count"),
    "flight_7d_delayed_share": _window("flight", 7 * DAY, "delayed_share"),
    "flight_7d_mean_delay": _window("flight", 7 * DAY, "mean_delay"),
    "scl_last10_mean_delay": LiveFeature(lambda r: r.recent[1].mean_delay, DAY),
    "scl_today_delayed_share": LiveFeature(lambda r: r.recent[0].delayed_share, DAY),
    "previous_day_delay": LiveFeature(lambda r: r.previous_day_delay, 2 * DAY),
}

#: The groupings a window can count departures in: all of SCL, the flight's airline, its
#: destination, its airline + flight number, its route (airline + destination), in the order of
#: :attr:`DepartureLog.stacked` and :attr:`LiveRows._groups`.
GROUPINGS: Final[tuple[str, ...]] = ("scl", "airline", "destination", "flight", "route")
#: group -> the window spans (seconds) its live features read, computed together per request.
GROUP_SPANS: Final[dict[str, tuple[int, ...]]] = {
    group: tuple(
        sorted({f.window[1] for f in LIVE_FEATURES.values() if f.window and f.window[0] == group})
    )
    for group in dict.fromkeys(f.window[0] for f in LIVE_FEATURES.values() if f.window)
}

#: (group, span) -> column of :attr:`LiveRows.feature_windows` (groups in GROUPINGS order).
WINDOW_COLUMNS: Final[dict[tuple[str, int], int]] = {
    key: column
    for column, key in enumerate(
        (group, span) for group in GROUPINGS for span in GROUP_SPANS.get(group, ())
    )
}
#: The window statistics, in the order :meth:`LiveRows.window_statistics` lays them side by side.
_STATISTICS: Final[tuple[str, ...]] = Window._fields

#: Features of the flight's own number: blank (NaN) when a request gives no ``VLO-I``.
FLIGHT_FEATURES: Final[frozenset[str]] = frozenset(
    name for name in LIVE_FEATURES if name.startswith("flight_") or name == "previous_day_delay"
)


@functools.lru_cache(maxsize=16)
def _lookback(features: tuple[str, ...]) -> int:
    """Computed once per feature set (every nowcast request asks, several times)."""
    return max((LIVE_FEATURES[name].lookback for name in features), default=0)


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
        return _lookback(self.features)

    def encode(
        self, log: DepartureLog, flights: FlightColumns, scheduled: np.ndarray, as_of: np.ndarray
    ) -> np.ndarray:
        """Feature matrix (n_flights, len(features)) as of ``as_of`` (local seconds)."""
        return self.encode_rows(LiveRows(log, flights, scheduled, as_of))

    def encode_rows(self, rows: LiveRows) -> np.ndarray:
        """:meth:`encode` of prepared rows (whose windows a caller may reuse): the window
        statistics in one gather, the other features by their formulas."""
        out = np.empty((len(rows.flights), len(self.features)), dtype=np.float64)
        positions, columns, others = _layout(self.features)
        if positions.size:
            out[:, positions] = rows.window_statistics(columns)
        for position, name in others:
            out[:, position] = LIVE_FEATURES[name].formula(rows)
        return out


@functools.lru_cache(maxsize=16)
def _layout(
    features: tuple[str, ...],
) -> tuple[np.ndarray, np.ndarray, tuple[tuple[int, str], ...]]:
    """Where :meth:`LiveEncoder.encode_rows` takes each feature from: matrix positions of the
    window statistics and their columns in :meth:`LiveRows.window_statistics`, and the
    (position, name) of the features computed by formula."""
    positions, columns, others = [], [], []
    for position, name in enumerate(features):
        feature = LIVE_FEATURES[name]
        if feature.window is None:
            others.append((position, name))
            continue
        group, span, statistic = feature.window
        positions.append(position)
        columns.append(
            _STATISTICS.index(statistic) * len(WINDOW_COLUMNS) + WINDOW_COLUMNS[(group, span)]
        )
    return np.array(positions, dtype=np.intp), np.array(columns, dtype=np.intp), tuple(others)
