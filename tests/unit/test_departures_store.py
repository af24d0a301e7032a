"""Both departures stores pass the same tests: SQLite on disk, DynamoDB through moto.

The DynamoDB table is created exactly as Terraform creates it (``infra/``): on demand, ``pk``/
``sk`` keys, the ``by_day`` index on (``day``, ``actual``) projecting everything, TTL on
``expires_at``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from challenge_neuralworks.departures import store_from_environment
from challenge_neuralworks.departures.dynamodb import DynamoDBDepartureStore
from challenge_neuralworks.departures.records import (
    RETENTION,
    TIME_FORMAT,
    Departure,
    DepartureStore,
    StoreUnavailableError,
    epoch_of,
    parse_time,
)
from challenge_neuralworks.departures.sqlite import SQLiteDepartureStore

TABLE = "cnw-test-departures"
#: The service's clock in these tests: 2025-03-10 12:00 at SCL.
NOW_LOCAL = dt.datetime(2025, 3, 10, 12, 0)
NOW = epoch_of(NOW_LOCAL)


def departure(
    number: str = "226",
    scheduled: str = "2025-03-10 09:00",
    actual: str = "2025-03-10 09:20",
    airline: str = "Grupo LATAM",
    destination: str = "La Serena",
) -> Departure:
    return Departure(
        airline,
        number,
        dt.datetime.fromisoformat(scheduled),
        dt.datetime.fromisoformat(actual),
        destination,
    )


def create_table(client: Any, name: str = TABLE) -> None:
    """The table as infra/modules/departures declares it."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": "S"}
            for attribute in ("pk", "sk", "day", "actual")
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_day",
                "KeySchema": [
                    {"AttributeName": "day", "KeyType": "HASH"},
                    {"AttributeName": "actual", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in process, with fake credentials (nothing can reach AWS)."""
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


def make_store(kind: str, tmp_path: Path, **options: Any) -> DepartureStore:
    if kind == "sqlite":
        return SQLiteDepartureStore(tmp_path / "nested" / "departures.sqlite")
    import boto3

    create_table(boto3.client("dynamodb"))
    return DynamoDBDepartureStore(TABLE, **options)


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> DepartureStore:
    if request.param == "dynamodb":
        request.getfixturevalue("aws")
    return make_store(request.param, tmp_path)


def between(store: DepartureStore, start: str, end: str, now: float = NOW) -> list[Departure]:
    return store.between(dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end), now=now)


def test_reads_return_the_window_by_actual_time_bounds_included(store: DepartureStore) -> None:
    early = departure("1", "2025-03-10 08:00", "2025-03-10 08:00")
    late = departure("2", "2025-03-10 07:00", "2025-03-10 09:30")
    outside = departure("3", "2025-03-10 09:00", "2025-03-10 09:31")
    assert store.put([outside, late, early], now=NOW).stored == 3
    assert between(store, "2025-03-10 08:00", "2025-03-10 09:30") == [early, late]
    assert between(store, "2025-03-10 09:30:01", "2025-03-10 09:30:59") == []
    assert between(store, "2025-03-10 10:00", "2025-03-10 09:00") == []


def test_a_repeated_report_is_idempotent_and_a_correction_replaces(
    store: DepartureStore,
) -> None:
    first = departure(actual="2025-03-10 09:20")
    assert store.put([first], now=NOW).stored == 1
    assert store.put([first], now=NOW).stored == 1
    assert between(store, "2025-03-10 00:00", "2025-03-10 23:59") == [first]
    # the same airline, flight number and scheduled time with another actual time replaces it,
    # even when the correction moves it to the next day (another partition of the index)
    corrected = departure(scheduled="2025-03-10 23:50", actual="2025-03-11 00:40")
    store.put([departure(scheduled="2025-03-10 23:50", actual="2025-03-10 23:55")], now=NOW)
    store.put([corrected], now=NOW)
    assert between(store, "2025-03-10 00:00", "2025-03-11 23:59") == [first, corrected]


def test_in_one_batch_the_last_report_of_a_departure_wins(store: DepartureStore) -> None:
    reports = [departure(actual=f"2025-03-10 09:{m:02d}") for m in (5, 40, 15)]
    result = store.put([*reports, departure("9")], now=NOW)
    assert (result.stored, result.expired) == (2, 0)
    found = between(store, "2025-03-10 00:00", "2025-03-10 23:59")
    assert found == [reports[-1], departure("9", actual="2025-03-10 09:20")]


def test_late_and_out_of_order_reports_are_all_kept(store: DepartureStore) -> None:
    times = ["2025-03-09 22:10", "2025-03-10 11:00", "2025-03-08 06:00", "2025-03-10 03:15"]
    reports = [departure(str(i), t, t) for i, t in enumerate(times)]
    for report in reports:  # one request each, newest first and oldest last
        store.put([report], now=NOW)
    found = between(store, "2025-03-01 00:00", "2025-03-10 12:00")
    assert found == sorted(reports, key=lambda d: d.actual)


def test_windows_spanning_several_days_read_every_day(store: DepartureStore) -> None:
    reports = [
        departure(str(day), f"2025-03-{day:02d} 23:30", f"2025-03-{day:02d} 23:50")
        for day in range(2, 11)
    ]
    store.put(reports, now=NOW)
    found = between(store, "2025-03-03 23:50", "2025-03-09 23:50")
    assert [d.flight_number for d in found] == [str(day) for day in range(3, 10)]


def test_reports_older_than_the_retention_are_not_stored(store: DepartureStore) -> None:
    old_time = (NOW_LOCAL - RETENTION - dt.timedelta(minutes=1)).isoformat(sep=" ")
    result = store.put([departure("1", old_time, old_time), departure("2")], now=NOW)
    assert (result.stored, result.expired) == (1, 1)
    assert [d.flight_number for d in between(store, "2025-01-01", "2025-03-11")] == ["2"]


def test_expired_records_are_never_read_even_before_they_are_deleted(
    store: DepartureStore,
) -> None:
    store.put([departure()], now=NOW)
    expiry = epoch_of(dt.datetime(2025, 3, 10, 9, 20)) + RETENTION.total_seconds()
    assert len(between(store, "2025-03-10", "2025-03-11", now=expiry - 1)) == 1
    assert between(store, "2025-03-10", "2025-03-11", now=expiry) == []


def test_a_large_batch_round_trips(store: DepartureStore) -> None:
    reports = [
        departure(str(n), f"2025-03-10 {n % 12:02d}:{n % 60:02d}", f"2025-03-10 11:{n % 60:02d}")
        for n in range(1000)
    ]
    assert store.put(reports, now=NOW).stored == 1000
    found = between(store, "2025-03-10 00:00", "2025-03-10 12:00")
    assert sorted(found) == sorted(reports)


@pytest.mark.usefixtures("aws")
def test_dynamodb_follows_pages(tmp_path: Path) -> None:
    store = make_store("dynamodb", tmp_path, page_size=2)
    reports = [departure(str(n), "2025-03-10 09:00", f"2025-03-10 09:{n:02d}") for n in range(7)]
    store.put(reports, now=NOW)
    assert between(store, "2025-03-10 00:00", "2025-03-10 23:59") == reports


class _ThrottlingClient:
    """Leaves the first item of every batch unprocessed ``throttled`` times, then accepts."""

    def __init__(self, throttled: int) -> None:
        self.throttled = throttled
        self.calls: list[int] = []

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        ((table, requests),) = RequestItems.items()
        self.calls.append(len(requests))
        if self.throttled:
            self.throttled -= 1
            return {"UnprocessedItems": {table: requests[:1]}}
        return {"UnprocessedItems": {}}


def test_dynamodb_resends_unprocessed_items_then_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("challenge_neuralworks.departures.dynamodb._BACKOFF_S", 0.0)
    client = _ThrottlingClient(throttled=2)
    store = DynamoDBDepartureStore(TABLE, client=client)
    store.put([departure(str(n)) for n in range(30)], now=NOW)
    assert client.calls == [25, 1, 1, 5]  # 25 + 5 items, the unprocessed one re-sent twice
    stubborn = DynamoDBDepartureStore(TABLE, client=_ThrottlingClient(throttled=100))
    with pytest.raises(StoreUnavailableError, match="throttling"):
        stubborn.put([departure()], now=NOW)


@pytest.mark.usefixtures("aws")
def test_a_missing_table_is_unavailable_not_a_crash() -> None:
    store = DynamoDBDepartureStore("no-such-table")
    with pytest.raises(StoreUnavailableError):
        store.put([departure()], now=NOW)
    with pytest.raises(StoreUnavailableError):
        between(store, "2025-03-10", "2025-03-11")


def test_an_unwritable_sqlite_path_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    store = SQLiteDepartureStore(blocker / "departures.sqlite")
    with pytest.raises(StoreUnavailableError):
        store.put([departure()], now=NOW)
    with pytest.raises(StoreUnavailableError):
        between(store, "2025-03-10", "2025-03-11")


def test_the_environment_chooses_the_backend(tmp_path: Path) -> None:
    chosen = store_from_environment({"CNW_DEPARTURES_TABLE": TABLE})
    assert isinstance(chosen, DynamoDBDepartureStore) and chosen.table_name == TABLE
    local = store_from_environment({"CNW_DEPARTURES_DB": str(tmp_path / "d.sqlite")})
    assert isinstance(local, SQLiteDepartureStore) and local.path == tmp_path / "d.sqlite"
    default = store_from_environment({})
    assert isinstance(default, SQLiteDepartureStore)
    assert default.path.parent.name == ".data"
    assert not default.path.exists() or default.path.is_file()  # nothing created by choosing


@pytest.mark.parametrize(
    "text",
    ["2017-12-08T11:59:00", "2024-02-29T00:00:00", "1999-01-01T23:59:59"],
)
def test_stored_times_parse_as_strptime_parses_them(text: str) -> None:
    assert parse_time(text) == dt.datetime.strptime(text, TIME_FORMAT)
    assert parse_time(text).tzinfo is None


@pytest.mark.parametrize(
    "text",
    [
        "2017-W49-5T11:59:00",  # ISO week date: fromisoformat takes it, TIME_FORMAT does not
        "2017-12-08T11:59:00+03:00",  # an offset
        "2017-12-08 11:59:00",
        "2017-12-08",
        "2017-12-08T11:59:00.5",
        "2017-12-32T11:59:00",
    ],
)
def test_times_of_another_shape_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"time data|unconverted data"):
        parse_time(text)
