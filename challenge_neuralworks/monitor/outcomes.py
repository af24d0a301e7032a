"""Realised quality: captured predictions joined with what actually happened.

The labels are a file like ``data/dataset_SCL.csv`` (scheduled and actual departure of each
flight), validated by :func:`challenge_neuralworks.data.load_flights`, which also defines the
target, so "delayed" means here exactly what it meant in training.

A capture joins a flight on (scheduled date and time, airline, flight number). Requests in the
original contract (day, month, hour and weekday, no ``FECHA-I``) have an inferred year and no
minute, and requests without ``VLO-I`` name no flight: they cannot be joined and are counted
by reason, never guessed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from challenge_neuralworks.capture import CaptureRecord
from challenge_neuralworks.delay.features import normalize_flight_number
from challenge_neuralworks.monitor.drift import answer_value, is_positive, request_mode

if TYPE_CHECKING:
    from challenge_neuralworks.data import Flights

#: Why a capture could not be joined with an outcome, in report order.
UNJOINABLE_REASONS: Final[tuple[str, ...]] = (
    "no_scheduled_date",  # no FECHA-I: year inferred, minute possibly absent
    "no_flight_number",
    "not_in_labels",
    "ambiguous_in_labels",  # two flights in the file share the key
)
#: Bins of the reliability curve (equal-frequency, as the model card's calibration chart).
RELIABILITY_BINS: Final[int] = 10


@dataclass(frozen=True)
class Joined:
    """Captures that found their flight, with its outcome."""

    records: list[CaptureRecord]
    delayed: np.ndarray  # 0/1
    delay_minutes: np.ndarray
    unjoinable: Counter[str]


def join_outcomes(records: Sequence[CaptureRecord], labels: Flights) -> Joined:
    """Each capture's flight in ``labels``, or the reason it has none."""
    frame = labels.frame
    keys = [
        _key(when, airline, normalize_flight_number(number))
        for when, airline, number in zip(
            frame["scheduled"].dt.strftime("%Y-%m-%dT%H:%M:%S"),
            frame["OPERA"],
            frame["Vlo-I"],
            strict=True,
        )
    ]
    counts = Counter(keys)
    row_of = {key: i for i, key in enumerate(keys) if counts[key] == 1}
    delayed = frame["delayed"].to_numpy(np.int64)
    minutes = frame["delay_minutes"].to_numpy(np.float64)
    unjoinable: Counter[str] = Counter()
    joined: list[CaptureRecord] = []
    rows: list[int] = []
    for record in records:
        reason, row = _find(record, row_of, counts)
        if row is None:
            unjoinable[reason] += 1
            continue
        joined.append(record)
        rows.append(row)
    index = np.asarray(rows, dtype=np.int64)
    return Joined(joined, delayed[index], minutes[index], unjoinable)


def _key(scheduled: str, airline: str, number: str | None) -> str:
    return f"{scheduled}|{airline}|{number}"


def _find(
    record: CaptureRecord, row_of: Mapping[str, int], counts: Mapping[str, int]
) -> tuple[str, int | None]:
    if "FECHA-I" not in record.item:
        return "no_scheduled_date", None
    number = record.input.get("flight_number")
    if not number:
        return "no_flight_number", None
    key = _key(str(record.input.get("scheduled")), str(record.input.get("airline")), number)
    if key in row_of:
        return "joined", row_of[key]
    return ("ambiguous_in_labels" if counts.get(key, 0) > 1 else "not_in_labels"), None


def realised_quality(
    joined: Joined, reference: Mapping[str, Any], manifest: Mapping[str, Any]
) -> dict[str, Any]:
    """Realised metrics of the joined captures, their reliability curve, the weekly base and
    predicted rates, and the temporal protocol's figures of the same request mode to compare."""
    spec = reference["score"]
    records = joined.records
    out: dict[str, Any] = {
        "joined": len(records),
        "unjoinable": {reason: joined.unjoinable.get(reason, 0) for reason in UNJOINABLE_REASONS},
    }
    if not records:
        return {**out, "metrics": None}
    scores = np.array([answer_value(r.answer, spec["answer_path"]) for r in records], dtype=float)
    flagged = np.array(
        [is_positive(r.answer, spec["positive"], s) for r, s in zip(records, scores, strict=True)]
    )
    usable = ~np.isnan(scores)
    modes = Counter(request_mode(r, reference) for r in records)
    mode = modes.most_common(1)[0][0]
    out["modes"] = dict(sorted(modes.items()))
    out["realised_delay_rate"] = float(joined.delayed.mean())
    out["weekly"] = weekly_rates(records, joined.delayed, scores, flagged)
    if spec["target"] == "delayed":
        out.update(_classification(joined.delayed[usable], scores[usable], spec, reference))
    else:
        out.update(_regression(joined.delay_minutes[usable], scores[usable]))
    temporal = (manifest.get("metrics") or {}).get("temporal") or {}
    out["temporal_protocol"] = (
        {"mode": mode, "test_rows": temporal.get("test_rows"), **temporal[mode]}
        if isinstance(temporal.get(mode), dict)
        else None
    )
    return out


def _classification(
    delayed: np.ndarray, p: np.ndarray, spec: Mapping[str, Any], reference: Mapping[str, Any]
) -> dict[str, Any]:
    from sklearn.calibration import calibration_curve

    from challenge_neuralworks.delay.evaluate import classification_metrics

    if len(np.unique(delayed)) < 2:
        return {"metrics": None, "reason": "the joined flights are all of one class"}
    metrics = classification_metrics(
        delayed, p, spec["positive"]["threshold"], reference["delay_rate"]
    )
    observed, predicted = calibration_curve(
        delayed, p, n_bins=RELIABILITY_BINS, strategy="quantile"
    )
    return {
        "metrics": metrics,
        "reliability": [
            {"predicted": float(x), "observed": float(y)}
            for x, y in zip(predicted, observed, strict=True)
        ],
    }


def _regression(minutes: np.ndarray, expected: np.ndarray) -> dict[str, Any]:
    error = expected - minutes
    return {
        "metrics": {
            "mae": float(np.mean(np.abs(error))),
            "rmse": float(np.sqrt(np.mean(error**2))),
            "bias": float(np.mean(error)),
            "mean_actual_minutes": float(np.mean(minutes)),
        }
    }


def weekly_rates(
    records: Sequence[CaptureRecord], delayed: np.ndarray, scores: np.ndarray, flagged: np.ndarray
) -> list[dict[str, Any]]:
    """Per week of scheduled departure (starting Monday): flights, realised delay rate, mean
    score and share flagged."""
    weeks = [_week(str(r.input.get("scheduled"))) for r in records]
    out = []
    for week in sorted(set(weeks)):
        pick = np.array([w == week for w in weeks])
        out.append(
            {
                "week": week,
                "flights": int(pick.sum()),
                "delay_rate": float(delayed[pick].mean()),
                "mean_score": float(np.nanmean(scores[pick])),
                "predicted_positive_rate": float(flagged[pick].mean()),
            }
        )
    return out


def _week(scheduled: str) -> str:
    day = date.fromisoformat(scheduled[:10])
    return (day - timedelta(days=day.weekday())).isoformat()
