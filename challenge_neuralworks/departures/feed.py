"""What a request sees of the departures store: a snapshot of the recent window, cached.

A nowcast needs the departures of the hours (or days) before its prediction time. Reading them
from the store on every request would make each prediction pay a DynamoDB round trip, so the
handler asks a :class:`DepartureFeed`, which reads the window at most once per request and keeps
it for :data:`CACHE_SECONDS`: every request in that time shares one snapshot (and whatever a
model derived from it, :meth:`DepartureSnapshot.memo`). A report to ``POST /departures`` through
the same container drops the cache, so its own writes are seen at once; other containers see
them within :data:`CACHE_SECONDS`.
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from challenge_neuralworks.departures.records import (
    Departure,
    DepartureStore,
    StoreUnavailableError,
    local_time,
)

logger = logging.getLogger("challenge_neuralworks.departures")

#: How long a container reuses one read of the store (seconds of the request clock).
CACHE_SECONDS: Final[float] = 30.0

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class DepartureSnapshot:
    """Reported departures whose actual time lies in ``[start, end]`` (naive SCL time).

    ``start``/``end`` ``None`` mean unbounded (a departures file scored offline). A model must
    not assume anything about departures outside the bounds: they were not read.
    """

    departures: Sequence[Departure]
    start: _dt.datetime | None = None
    end: _dt.datetime | None = None
    _memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False)

    def __len__(self) -> int:
        return len(self.departures)

    def covers(self, start: _dt.datetime, end: _dt.datetime) -> bool:
        """Whether every departure with actual time in ``[start, end]`` was read."""
        return (self.start is None or self.start <= start) and (self.end is None or end <= self.end)

    def memo(self, key: Any, build: Callable[[DepartureSnapshot], T]) -> T:
        """``build(self)``, computed once per snapshot and ``key`` (a model's window aggregates
        are built once and shared by every request the snapshot serves)."""
        if key not in self._memo:
            self._memo[key] = build(self)
        return self._memo[key]


class DepartureFeed:
    """The recent departures of one store, read at most once per :data:`CACHE_SECONDS`."""

    def __init__(self, store: DepartureStore, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cached: tuple[float, float, DepartureSnapshot | None] | None = None
        #: Store reads so far (what the one-read-per-request budget is tested with).
        self.reads = 0

    def snapshot(self, now: float, lookback: float) -> DepartureSnapshot | None:
        """Departures with actual time in ``[now - lookback, now]`` (seconds), or ``None`` when
        the store cannot be read (logged; the model then says it had no live context)."""
        with self._lock:
            cached = self._cached
            if cached is not None:
                read_at, covered, snapshot = cached
                if 0 <= now - read_at < self.cache_seconds and covered >= lookback:
                    return snapshot
            end = local_time(now)
            start = end - _dt.timedelta(seconds=lookback)
            self.reads += 1
            try:
                departures = self.store.between(start, end, now=now)
            except StoreUnavailableError as exc:
                logger.warning(
                    "departures store unreadable; predictions fall back to the schedule",
                    extra={"store": self.store.describe(), "error": repr(exc.__cause__ or exc)},
                )
                snapshot = None
            else:
                snapshot = DepartureSnapshot(tuple(departures), start=start, end=end)
            self._cached = (now, lookback, snapshot)
            return snapshot

    def invalidate(self) -> None:
        """Forget the cached window (after this container wrote to the store)."""
        with self._lock:
            self._cached = None
