"""A ``delay`` model trained on January-October (fast recipe) and captures replayed through it.

The replay goes through the model's own parse / predict / feature_values path and the real
:class:`~challenge_neuralworks.capture.Capture`, as the handler does per request.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from challenge_neuralworks.capture import Capture, Sink
from challenge_neuralworks.cli import main
from challenge_neuralworks.data import Flights
from challenge_neuralworks.dates import WEEKDAYS
from challenge_neuralworks.delay.build import DelayTrainer
from challenge_neuralworks.delay.evaluate import TEMPORAL_CUTOFF
from challenge_neuralworks.delay.model import DelayClassifier
from challenge_neuralworks.delay.train import FAST_CONFIG
from challenge_neuralworks.errors import InputError
from challenge_neuralworks.registry import Registry

Replay = Callable[..., Counter]


@pytest.fixture(scope="session")
def jan_oct_models(tmp_path_factory: pytest.TempPathFactory, flights: Flights) -> Path:
    """``delay`` fitted on flights up to the temporal protocol's cut-off, saved with its
    manifest (and so with its training reference)."""
    out = tmp_path_factory.mktemp("jan-oct-models")
    DelayTrainer().fit(
        flights, config=FAST_CONFIG, evaluate=False, train_until=TEMPORAL_CUTOFF
    ).save(out)
    return out


@pytest.fixture(scope="session")
def jan_oct_model(jan_oct_models: Path) -> DelayClassifier:
    """The saved model, loaded the way the Lambda function loads it."""
    return Registry(jan_oct_models).get("delay")


def request_item(row: Any, full: bool) -> dict[str, Any]:
    """The API item a client would send for one flight of the data set: the richer contract
    (scheduled datetime and flight number) or the original one (day, month, hour, weekday)."""
    when = row.scheduled
    common = {"OPERA": row.OPERA, "TIPOVUELO": row.TIPOVUELO, "SIGLADES": row.destination}
    if full:
        return {"FECHA-I": when.strftime("%Y-%m-%d %H:%M"), "VLO-I": row.flight_number, **common}
    return {
        "DIA-I": when.day,
        "MES-I": when.month,
        "HORA-I": when.hour,
        "DIANOM": WEEKDAYS[when.weekday()],
        **common,
    }


def replay(
    model: DelayClassifier,
    frame: pd.DataFrame,
    sink: Sink,
    *,
    full_share: float = 0.7,
    seed: int = 0,
    event: dict[str, Any] | None = None,
) -> Counter:
    """One request per scheduled day with that day's flights, captured at 23:00 UTC the day
    before; ``full_share`` of the items use the richer contract. Items the model refuses are
    captured as rejections with the error body the API returns."""
    rng = random.Random(seed)
    clock = [0.0]
    capture = Capture(sink, stage="dev", clock=lambda: clock[0])
    event = event or {"requestContext": {"requestId": "replay", "stage": "dev"}}
    counts: Counter = Counter()
    rows = frame.assign(flight_number=frame["Vlo-I"].str.strip())
    for day, flights in rows.groupby(rows["scheduled"].dt.date):
        clock[0] = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() - 3600
        items, parsed = [], []
        for row in flights.itertuples(index=False):
            item = request_item(row, rng.random() < full_share)
            try:
                parsed.append(model.parse(item))
            except InputError as exc:
                body = {"error": {"code": exc.code, "message": exc.message, "field": exc.field}}
                counts["rejected"] += capture.record_rejection(
                    model=model, event=event, context=None, item=item, error=body
                )
                continue
            items.append(item)
        counts["captured"] += capture.record(
            model=model,
            event=event,
            context=None,
            items=items,
            parsed=parsed,
            answers=model.predict(parsed),
        )
    counts["failures"] = capture.failures
    return counts


@pytest.fixture(scope="session")
def replay_flights() -> Callable[..., Counter]:
    """:func:`replay`, for the test modules."""
    return replay


def after_cutoff(flights: Flights) -> pd.DataFrame:
    """November-December: the temporal protocol's test side."""
    frame = flights.frame
    return frame[frame["scheduled"] >= pd.Timestamp(TEMPORAL_CUTOFF) + pd.Timedelta(days=1)]


def before_cutoff(flights: Flights) -> pd.DataFrame:
    """January-October: the training side."""
    frame = flights.frame
    return frame[frame["scheduled"] < pd.Timestamp(TEMPORAL_CUTOFF) + pd.Timedelta(days=1)]


@pytest.fixture(scope="session")
def nov_dec(flights: Flights) -> pd.DataFrame:
    """Flights scheduled after the cut-off."""
    return after_cutoff(flights)


@pytest.fixture(scope="session")
def jan_oct(flights: Flights) -> pd.DataFrame:
    """Flights scheduled up to the cut-off."""
    return before_cutoff(flights)


@pytest.fixture(scope="session")
def run_monitor() -> Callable[..., int]:
    """``python -m challenge_neuralworks monitor``, in process; the exit status."""

    def run(
        models: Path, captures: Path | str, out: Path, *extra: str, model: str = "delay"
    ) -> int:
        return main(
            [
                "monitor",
                "--model",
                model,
                "--captures",
                str(captures),
                "--models-dir",
                str(models),
                "--out",
                str(out),
                *extra,
            ]
        )

    return run
