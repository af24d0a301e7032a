"""The departures store in a DynamoDB table (in AWS; built by Terraform, ``infra/``).

The table: on demand; partition key ``pk`` = ``<airline>#<flight_number>``, sort key ``sk`` =
scheduled time (ISO), so a repeated report of a departure replaces the earlier one; the global
secondary index ``by_day`` (partition ``day`` = date of the actual departure, sort ``actual`` =
actual time ISO, projection ALL) answers "what left between two times" with one ``Query`` per
day the range touches; TTL on ``expires_at`` (epoch seconds). The function needs
``dynamodb:BatchWriteItem`` on the table and ``dynamodb:Query`` on its ``by_day`` index, nothing
else.

boto3 is imported when the store is first used, not when this module is: a container that only
serves ``delay`` never pays for it, and the first departures read or write of a container pays
it once (measured in docs/model_card.md, "Serving the nowcast").
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any, Final

from challenge_neuralworks.departures.records import (
    Departure,
    DepartureStore,
    StoreUnavailableError,
    parse_time,
)

logger = logging.getLogger("challenge_neuralworks.departures")

INDEX_NAME: Final[str] = "by_day"
#: BatchWriteItem's limit per request.
BATCH_SIZE: Final[int] = 25
#: Rounds of re-sending the items DynamoDB left unprocessed (throttling), with backoff.
UNPROCESSED_ROUNDS: Final[int] = 6
_BACKOFF_S: Final[float] = 0.05


class DynamoDBDepartureStore(DepartureStore):
    """Departures in one DynamoDB table (see the module docstring for its shape)."""

    def __init__(
        self, table_name: str, *, client: Any = None, page_size: int | None = None
    ) -> None:
        self.table_name = table_name
        self._client = client
        #: Items per ``Query`` page (``Limit``); ``None``: DynamoDB's 1 MB pages.
        self.page_size = page_size
        self._lock = threading.Lock()

    def describe(self) -> str:
        """``dynamodb:<table>``."""
        return f"dynamodb:{self.table_name}"

    @property
    def client(self) -> Any:
        """The low-level DynamoDB client, created on first use (region and credentials from
        the Lambda environment), with botocore's standard retry mode and short timeouts: the
        API Gateway integration gives up after 29 s."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    config = Config(
                        retries={"mode": "standard", "max_attempts": 4},
                        connect_timeout=2,
                        read_timeout=5,
                    )
                    self._client = boto3.client("dynamodb", config=config)
        return self._client

    # ------------------------------------------------------------------ writing
    def _write(self, items: Sequence[tuple[Departure, int]], *, now: float) -> None:
        requests = [{"PutRequest": {"Item": _item(d, expiry)}} for d, expiry in items]
        for start in range(0, len(requests), BATCH_SIZE):
            self._batch_write(requests[start : start + BATCH_SIZE])

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        pending = {self.table_name: requests}
        for attempt in range(UNPROCESSED_ROUNDS):
            answer = self._call("batch_write_item", RequestItems=pending)
            pending = answer.get("UnprocessedItems") or {}
            if not pending:
                return
            time.sleep(_BACKOFF_S * 2**attempt)
        raise StoreUnavailableError("the departures table is throttling writes; retry later")

    # ------------------------------------------------------------------ reading
    def _read(self, start: str, end: str, *, now: float) -> Iterable[Departure]:
        found: list[Departure] = []
        for day in _days(start, end):
            query: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": INDEX_NAME,
                "KeyConditionExpression": "#day = :day AND #actual BETWEEN :start AND :end",
                # TTL deletes expired items within about two days, not at once.
                "FilterExpression": "#expires > :now",
                "ExpressionAttributeNames": {
                    "#day": "day",
                    "#actual": "actual",
                    "#expires": "expires_at",
                },
                "ExpressionAttributeValues": {
                    ":day": {"S": day},
                    ":start": {"S": start},
                    ":end": {"S": end},
                    ":now": {"N": str(int(now))},
                },
            }
            if self.page_size is not None:
                query["Limit"] = self.page_size
            while True:
                answer = self._call("query", **query)
                found.extend(_departure(item) for item in answer.get("Items", ()))
                last = answer.get("LastEvaluatedKey")
                if not last:
                    break
                query["ExclusiveStartKey"] = last
        return found

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(**kwargs)
        except (BotoCoreError, ClientError) as exc:
            logger.warning(
                "departures table call failed",
                extra={"operation": operation, "table": self.table_name, "error": repr(exc)},
            )
            raise StoreUnavailableError("the departures table cannot be reached") from exc


def _item(departure: Departure, expiry: int) -> dict[str, dict[str, str]]:
    return {
        "pk": {"S": departure.partition_key},
        "sk": {"S": departure.sort_key},
        "day": {"S": departure.day},
        "actual": {"S": departure.actual_key},
        "airline": {"S": departure.airline},
        "flight_number": {"S": departure.flight_number},
        "destination": {"S": departure.destination},
        "expires_at": {"N": str(expiry)},
    }


def _departure(item: dict[str, dict[str, str]]) -> Departure:
    return Departure(
        airline=item["airline"]["S"],
        flight_number=item["flight_number"]["S"],
        scheduled=parse_time(item["sk"]["S"]),
        actual=parse_time(item["actual"]["S"]),
        destination=item["destination"]["S"],
    )


def _days(start: str, end: str) -> list[str]:
    """Every ``YYYY-MM-DD`` from the date of ``start`` to the date of ``end`` (ISO times)."""
    first = _dt.date.fromisoformat(start[:10])
    last = _dt.date.fromisoformat(end[:10])
    return [(first + _dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
