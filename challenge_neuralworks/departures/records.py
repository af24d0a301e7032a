"""The departure record, SCL's clock, and the interface every departures store implements.

A store keeps one record per (airline, flight number, scheduled time): reporting the same
departure again replaces it (a correction wins, a repeat changes nothing), so the feed may retry,
report late and report out of order. Records expire :data:`RETENTION` after the actual departure
(DynamoDB's TTL attribute ``expires_at``; the SQLite store deletes them itself), and reads never
return an expired record even before the backend has deleted it.
"""

from __future__ import annotations

import datetime as _dt
import functools
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Final, NamedTuple

#: The time zone of every time in the data set, the API and the store (naive wall-clock).
SCL_TIMEZONE: Final[str] = "America/Santiago"
#: How long a departure is kept after it happened: the longest feature window of the nowcast
#: (7 days of the same flight) plus a day of reads for flights scheduled in the past, plus slack.
RETENTION: Final[_dt.timedelta] = _dt.timedelta(days=9)
#: ISO format of stored times (the DynamoDB sort keys): fixed width, so text order is time order.
TIME_FORMAT: Final[str] = "%Y-%m-%dT%H:%M:%S"


class StoreUnavailableError(RuntimeError):
    """The store could not be read or written (network, permissions, a read-only disk).

    The message is safe to show a client; the cause (``__cause__``) goes to the log only.
    """


class Departure(NamedTuple):
    """One reported departure; times are naive SCL local time."""

    airline: str
    flight_number: str
    scheduled: _dt.datetime
    actual: _dt.datetime
    destination: str

    @property
    def partition_key(self) -> str:
        """``<airline>#<flight_number>`` (DynamoDB ``pk``)."""
        return f"{self.airline}#{self.flight_number}"

    @property
    def sort_key(self) -> str:
        """The scheduled time, ISO (DynamoDB ``sk``)."""
        return self.scheduled.strftime(TIME_FORMAT)

    @property
    def actual_key(self) -> str:
        """The actual time, ISO (DynamoDB ``actual``, the ``by_day`` index's sort key)."""
        return self.actual.strftime(TIME_FORMAT)

    @property
    def day(self) -> str:
        """The actual departure's date, ``YYYY-MM-DD`` (DynamoDB ``day``, the index's partition)."""
        return self.actual.date().isoformat()

    @property
    def delay_minutes(self) -> float:
        """Actual minus scheduled departure, in minutes (negative: early)."""
        return (self.actual - self.scheduled).total_seconds() / 60.0


@functools.cache
def _zone() -> _dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(SCL_TIMEZONE)


def local_time(epoch: float) -> _dt.datetime:
    """The naive SCL wall-clock time of an instant (epoch seconds), to the second."""
    return _dt.datetime.fromtimestamp(int(epoch), _zone()).replace(tzinfo=None)


def epoch_of(local: _dt.datetime) -> float:
    """The instant (epoch seconds) of a naive SCL wall-clock time (the first one in a DST fold)."""
    return local.replace(tzinfo=_zone()).timestamp()


def expires_at(departure: Departure) -> int:
    """Epoch second after which the record is gone (DynamoDB TTL ``expires_at``)."""
    return int(epoch_of(departure.actual) + RETENTION.total_seconds())


def parse_time(text: str) -> _dt.datetime:
    """A stored time (:data:`TIME_FORMAT`) back as a naive datetime.

    A store read parses two per departure: ``fromisoformat`` takes 0.1 µs where ``strptime``
    takes 5 µs (17 of the 31 ms an uncached read of 1,660 departures took in ``make bench``).
    It accepts more ISO shapes than :data:`TIME_FORMAT`, so it is used only on text of exactly
    that shape; anything else goes through ``strptime``, which refuses what is not.
    """
    if (
        len(text) == 19
        and text[4] == text[7] == "-"
        and text[10] == "T"
        and text[13] == text[16] == ":"
    ):
        try:
            value = _dt.datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if value.tzinfo is None:
                return value
    return _dt.datetime.strptime(text, TIME_FORMAT)


class WriteResult(NamedTuple):
    """What one :meth:`DepartureStore.put` did."""

    #: Distinct departures written (new ones, and replacements of earlier reports).
    stored: int
    #: Reports older than the retention, not written (they would expire at once).
    expired: int


class DepartureStore(ABC):
    """The one interface of a departures store; both backends pass the same tests."""

    def put(self, departures: Iterable[Departure], *, now: float) -> WriteResult:
        """Write ``departures`` idempotently: one record per (airline, flight number, scheduled
        time), the last report in ``departures`` winning; expired reports are skipped."""
        latest: dict[tuple[str, str], tuple[Departure, int]] = {}
        expired = 0
        for departure in departures:
            expiry = expires_at(departure)
            if expiry <= now:
                expired += 1
                continue
            latest[(departure.partition_key, departure.sort_key)] = (departure, expiry)
        if latest:
            self._write(list(latest.values()), now=now)
        return WriteResult(stored=len(latest), expired=expired)

    def between(self, start: _dt.datetime, end: _dt.datetime, *, now: float) -> list[Departure]:
        """Unexpired departures whose actual time is in ``[start, end]``, by actual time."""
        if end < start:
            return []
        found = self._read(start.strftime(TIME_FORMAT), end.strftime(TIME_FORMAT), now=now)
        return sorted(found, key=lambda d: (d.actual, d.partition_key, d.sort_key))

    @abstractmethod
    def _write(self, items: Sequence[tuple[Departure, int]], *, now: float) -> None:
        """Upsert each (departure, expires_at); keys are distinct. Raise
        :class:`StoreUnavailableError` when the backend fails."""

    @abstractmethod
    def _read(self, start: str, end: str, *, now: float) -> Iterable[Departure]:
        """Departures with ``start <= actual <= end`` (ISO text) and ``expires_at > now``. Raise
        :class:`StoreUnavailableError` when the backend fails."""

    def describe(self) -> str:
        """What the store is, for logs (no secrets: a table name or a file path)."""
        return type(self).__name__
