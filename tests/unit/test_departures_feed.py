"""The departures feed: at most one store read per cache period, shared, dropped on writes."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence

import pytest

from challenge_neuralworks.departures.feed import CACHE_SECONDS, DepartureFeed, DepartureSnapshot
from challenge_neuralworks.departures.records import (
    Departure,
    DepartureStore,
    StoreUnavailableError,
    epoch_of,
)

NOW = epoch_of(dt.datetime(2025, 3, 10, 12, 0))
HOUR = 3600.0


class CountingStore(DepartureStore):
    """An in-memory store that counts reads and can be made to fail."""

    def __init__(self, departures: Sequence[Departure] = ()) -> None:
        self.departures = list(departures)
        self.reads: list[tuple[str, str]] = []
        self.failing = False

    def _write(self, items: Sequence[tuple[Departure, int]], *, now: float) -> None:
        self.departures.extend(d for d, _ in items)

    def _read(self, start: str, end: str, *, now: float) -> Iterable[Departure]:
        self.reads.append((start, end))
        if self.failing:
            raise StoreUnavailableError("down") from OSError("network unreachable")
        return [d for d in self.departures if start <= d.actual_key <= end]


def departure(actual: str) -> Departure:
    when = dt.datetime.fromisoformat(actual)
    return Departure("Grupo LATAM", "226", when - dt.timedelta(minutes=20), when, "La Serena")


def test_requests_within_the_cache_period_share_one_read() -> None:
    store = CountingStore([departure("2025-03-10 11:00")])
    feed = DepartureFeed(store)
    first = feed.snapshot(NOW, 6 * HOUR)
    assert feed.snapshot(NOW + CACHE_SECONDS - 1, 6 * HOUR) is first
    assert feed.snapshot(NOW + 10, 2 * HOUR) is first  # a shorter lookback is covered
    assert len(store.reads) == 1 and feed.reads == 1
    assert first is not None and list(first.departures) == store.departures
    assert (first.start, first.end) == (dt.datetime(2025, 3, 10, 6), dt.datetime(2025, 3, 10, 12))


def test_the_cache_expires_and_a_longer_lookback_reads_again() -> None:
    store = CountingStore()
    feed = DepartureFeed(store)
    feed.snapshot(NOW, 6 * HOUR)
    feed.snapshot(NOW + CACHE_SECONDS, 6 * HOUR)
    assert len(store.reads) == 2
    feed.snapshot(NOW + CACHE_SECONDS, 48 * HOUR)
    assert store.reads[-1] == ("2025-03-08T12:00:30", "2025-03-10T12:00:30")
    feed.snapshot(NOW - 5, 6 * HOUR)  # a clock that went backwards never reuses the future
    assert len(store.reads) == 4


def test_a_write_through_the_feed_is_seen_by_the_next_request() -> None:
    store = CountingStore()
    feed = DepartureFeed(store)
    assert feed.snapshot(NOW, HOUR) is not None
    store.put([departure("2025-03-10 11:30")], now=NOW)
    feed.invalidate()
    snapshot = feed.snapshot(NOW + 1, HOUR)
    assert snapshot is not None and len(snapshot) == 1


def test_an_unreadable_store_gives_no_snapshot_and_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = CountingStore()
    store.failing = True
    feed = DepartureFeed(store)
    with caplog.at_level(logging.WARNING, logger="challenge_neuralworks.departures"):
        assert feed.snapshot(NOW, HOUR) is None
        assert feed.snapshot(NOW + 1, HOUR) is None  # the failure is cached too: no hammering
    assert len(store.reads) == 1
    assert "network unreachable" in caplog.records[0].error  # type: ignore[attr-defined]


def test_snapshots_know_what_they_cover_and_memoise() -> None:
    bounded = DepartureSnapshot((), start=dt.datetime(2025, 3, 9), end=dt.datetime(2025, 3, 10))
    assert bounded.covers(dt.datetime(2025, 3, 9), dt.datetime(2025, 3, 10))
    assert not bounded.covers(dt.datetime(2025, 3, 8, 23), dt.datetime(2025, 3, 10))
    assert not bounded.covers(dt.datetime(2025, 3, 9), dt.datetime(2025, 3, 10, 0, 1))
    assert DepartureSnapshot(()).covers(dt.datetime(2000, 1, 1), dt.datetime(2060, 1, 1))
    built: list[int] = []

    def build(snapshot: DepartureSnapshot) -> int:
        built.append(1)
        return len(snapshot)

    assert bounded.memo("n", build) == 0 and bounded.memo("n", build) == 0
    assert built == [1]
