"""The training reference stored in a delay-family artifact's manifest (training time only).

What ``monitor`` compares captured predictions with: per feature, the distribution the model
saw in training; the distribution of its score; the training delay rate and the share of
flights it flags. The features are computed through the model's own
:meth:`~challenge_neuralworks.delay.model.DelayFamilyModel.feature_values`, the very function
the capture calls, so reference and captures describe values the same way (labels for
categories, ``None`` for missing).

Binning (see :mod:`challenge_neuralworks.monitor.distributions`):

* categorical features (airline, destination): the share of every label;
* discrete features, at most :data:`DISCRETE_MAX_VALUES` distinct values (flags, month,
  weekday, hour): one bin per value, so a value never seen in training (November for a model
  trained on January-October) is counted as such instead of vanishing into an end bin;
* other numeric features: :data:`NUMERIC_BINS` equal-frequency bins (deciles) on the training
  values; a value holding more than a bin's share (a point mass) keeps one bin of its own
  share because repeated quantiles are dropped.

The score reference uses **out-of-fold** probabilities for ``delay``: each training flight
scored by a model that did not see it, which is what the served model does to every request.
In-sample scores of the final model are more extreme than what it produces on new flights
(the flight delay rate it reads includes the flight's own outcome), so they would show a drift
where there is none (measured in docs/monitoring.md). ``delay_minutes`` has no out-of-fold
predictions; its reference is in-sample and says so (``source``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from challenge_neuralworks.data import DELAY_THRESHOLD_MINUTES
from challenge_neuralworks.delay.features import CATEGORICAL_FEATURES, ScheduledFlight
from challenge_neuralworks.delay.train import OPTIONAL_FEATURES, blank_optional
from challenge_neuralworks.monitor.distributions import (
    numeric_counts,
    quantile_edges,
    shares,
    value_counts,
)

if TYPE_CHECKING:
    from challenge_neuralworks.delay.features import FlightColumns
    from challenge_neuralworks.delay.model import (
        DelayClassifier,
        DelayFamilyModel,
        DelayMinutes,
    )

#: Version of the reference's layout (read by ``monitor``).
REFERENCE_SCHEMA: Final[int] = 1
#: Numeric features with at most this many distinct training values get one bin per value.
DISCRETE_MAX_VALUES: Final[int] = 31
#: Equal-frequency bins of continuous features and of the score.
NUMERIC_BINS: Final[int] = 10
#: Features fixed by the dates a window covers, not by who asks: a week of captures always
#: differs from a year of training in month and holiday distances, and a window of a few days
#: in weekday. Reported, never alerted on (docs/monitoring.md).
CALENDAR_FEATURES: Final[frozenset[str]] = frozenset(
    {
        "month",
        "day",
        "weekday",
        "day_of_year",
        "is_holiday",
        "days_to_holiday",
        "days_since_holiday",
        "high_season",
    }
)
#: Request modes of the score reference: what the client sent (see ``blank_optional``).
MODES: Final[tuple[str, ...]] = ("full", "basic")
_ROUND: Final[int] = 6  # shares and rates; edges stay exact (values sit on them)


def classifier_reference(
    model: DelayClassifier,
    flights: FlightColumns,
    delayed: np.ndarray,
    out_of_fold: Mapping[str, np.ndarray],
) -> dict[str, Any]:
    """Reference of ``delay``: features, out-of-fold ``p_delay`` and flagged share per mode."""
    return training_reference(
        model,
        flights,
        delayed,
        scores=out_of_fold,
        positive={mode: p >= model.threshold for mode, p in out_of_fold.items()},
        score={
            "name": "p_delay",
            "answer_path": ["prediction", 1],
            "target": "delayed",
            "source": "out_of_fold",
            "positive": {"answer_path": ["delayed"], "threshold": model.threshold},
        },
    )


def minutes_reference(
    model: DelayMinutes, flights: FlightColumns, delayed: np.ndarray
) -> dict[str, Any]:
    """Reference of ``delay_minutes``: features and in-sample expected minutes per mode."""
    scores = {
        "full": model.predict_minutes(flights)["expected"],
        "basic": model.predict_minutes(blank_optional(flights))["expected"],
    }
    return training_reference(
        model,
        flights,
        delayed,
        scores=scores,
        positive={mode: s > DELAY_THRESHOLD_MINUTES for mode, s in scores.items()},
        score={
            "name": "expected_minutes",
            "answer_path": ["prediction", "expected"],
            "target": "delay_minutes",
            "source": "in_sample",
            "positive": {"above": DELAY_THRESHOLD_MINUTES},
        },
    )


def training_reference(
    model: DelayFamilyModel,
    flights: FlightColumns,
    delayed: np.ndarray,
    *,
    scores: Mapping[str, np.ndarray],
    positive: Mapping[str, np.ndarray],
    score: dict[str, Any],
) -> dict[str, Any]:
    """The manifest's ``reference``: JSON-ready, deterministic."""
    values = model.feature_values(scheduled_flights(flights))
    encoder = model.encoder
    pooled = np.concatenate([np.asarray(scores[mode], dtype=np.float64) for mode in MODES])
    edges = quantile_edges(pooled, NUMERIC_BINS)
    return {
        "schema": REFERENCE_SCHEMA,
        "rows": len(flights),
        "delay_rate": round(float(np.mean(delayed)), _ROUND),
        "features": {
            name: feature_reference(name, [row[name] for row in values])
            for name in encoder.features
        },
        "known_flights": sorted(encoder.flight_rates),
        "score": {
            **score,
            "edges": edges,
            "shares": {
                mode: _rounded(shares(numeric_counts(np.asarray(scores[mode]), edges)))
                for mode in MODES
            },
            "mean": {mode: round(float(np.mean(scores[mode])), _ROUND) for mode in MODES},
        },
        "predicted_positive_rate": {
            mode: round(float(np.mean(positive[mode])), _ROUND) for mode in MODES
        },
    }


def feature_reference(name: str, values: Sequence[Any]) -> dict[str, Any]:
    """One feature's reference from its training values as :meth:`feature_values` gives them."""
    present = [v for v in values if v is not None]
    common = {
        "role": feature_role(name),
        "missing": round(1.0 - len(present) / len(values), _ROUND) if values else 0.0,
    }
    if name in CATEGORICAL_FEATURES:
        labels, counts = np.unique(np.asarray(present, dtype=object), return_counts=True)
        order = np.lexsort((labels, -counts))  # by share, then by name
        return {
            "kind": "categorical",
            "categories": [str(labels[i]) for i in order],
            "shares": _rounded(shares(counts[order])),
            **common,
        }
    column = np.asarray(present, dtype=np.float64)
    distinct = np.unique(column)
    if len(distinct) <= DISCRETE_MAX_VALUES:
        counts, _ = value_counts(column.tolist(), distinct.tolist())
        return {
            "kind": "discrete",
            "values": distinct.tolist(),
            "shares": _rounded(shares(counts)),
            **common,
        }
    edges = quantile_edges(column, NUMERIC_BINS)
    return {
        "kind": "numeric",
        "edges": edges,
        "shares": _rounded(shares(numeric_counts(column, edges))),
        **common,
    }


def feature_role(name: str) -> str:
    """``calendar`` (reported only), ``optional`` (the client may leave it out: its missing
    share is the request mix, not drift) or ``input``."""
    if name in CALENDAR_FEATURES:
        return "calendar"
    if name in OPTIONAL_FEATURES:
        return "optional"
    return "input"


def scheduled_flights(flights: FlightColumns) -> list[ScheduledFlight]:
    """Columns back to the validated items :meth:`feature_values` takes."""
    return [
        ScheduledFlight(
            int(year),
            int(month),
            int(day),
            int(hour),
            None if np.isnan(minute) else int(minute),
            airline,
            destination,
            flight_type,
            number,
        )
        for year, month, day, hour, minute, airline, destination, flight_type, number in zip(
            flights.year.tolist(),
            flights.month.tolist(),
            flights.day.tolist(),
            flights.hour.tolist(),
            flights.minute.tolist(),
            flights.airline,
            flights.destination,
            flights.flight_type,
            flights.flight_number,
            strict=True,
        )
    ]


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), _ROUND) for v in values]
