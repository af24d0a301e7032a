"""The departures store in an embedded SQLite file (the local twin's default, ``.data/``).

One connection per operation: the twin's workers are separate processes (and tests call from
several threads), SQLite's own locking keeps them consistent, and WAL mode lets readers go on
while a batch is written. The file and its directory are created on first use, never at import.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final

from challenge_neuralworks.departures.records import (
    Departure,
    DepartureStore,
    StoreUnavailableError,
    parse_time,
)

logger = logging.getLogger("challenge_neuralworks.departures")

#: The same attributes as the DynamoDB items; ``actual`` is indexed like the ``by_day`` GSI.
_SCHEMA: Final[tuple[str, ...]] = (
    """CREATE TABLE IF NOT EXISTS departures (
        pk TEXT NOT NULL,
        sk TEXT NOT NULL,
        day TEXT NOT NULL,
        actual TEXT NOT NULL,
        airline TEXT NOT NULL,
        flight_number TEXT NOT NULL,
        destination TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (pk, sk)
    )""",
    "CREATE INDEX IF NOT EXISTS by_actual ON departures (actual)",
    "CREATE INDEX IF NOT EXISTS by_expiry ON departures (expires_at)",
)
#: Seconds a writer waits for another process's lock before giving up.
_BUSY_TIMEOUT_S: Final[float] = 10.0


class SQLiteDepartureStore(DepartureStore):
    """Departures in one SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def describe(self) -> str:
        """``sqlite:<path>``."""
        return f"sqlite:{self.path}"

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailableError("the departures store cannot be opened") from exc
        try:
            with connection:  # one transaction: committed on success, rolled back on error
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")  # durable enough with WAL
                for statement in _SCHEMA:
                    connection.execute(statement)
                yield connection
        except sqlite3.Error as exc:
            raise StoreUnavailableError("the departures store failed") from exc
        finally:
            connection.close()

    def _write(self, items: Sequence[tuple[Departure, int]], *, now: float) -> None:
        rows = [
            (
                departure.partition_key,
                departure.sort_key,
                departure.day,
                departure.actual_key,
                departure.airline,
                departure.flight_number,
                departure.destination,
                expiry,
            )
            for departure, expiry in items
        ]
        with self._connection() as connection:
            connection.executemany(
                "INSERT INTO departures VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (pk, sk) "
                "DO UPDATE SET day = excluded.day, actual = excluded.actual, "
                "airline = excluded.airline, flight_number = excluded.flight_number, "
                "destination = excluded.destination, expires_at = excluded.expires_at",
                rows,
            )
            # What DynamoDB's TTL does in the background, done here on each write.
            connection.execute("DELETE FROM departures WHERE expires_at <= ?", (int(now),))

    def _read(self, start: str, end: str, *, now: float) -> Iterable[Departure]:
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT airline, flight_number, sk, actual, destination FROM departures "
                "WHERE actual BETWEEN ? AND ? AND expires_at > ?",
                (start, end, int(now)),
            ).fetchall()
        return [
            Departure(airline, number, parse_time(scheduled), parse_time(actual), destination)
            for airline, number, scheduled, actual, destination in rows
        ]
