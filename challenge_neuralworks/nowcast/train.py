"""Fit ``delay_nowcast`` (training-time only: scikit-learn is imported lazily).

The recipe, each step measured in notebooks/02_improvements.ipynb (last section):

1. the schedule-only classifier is ``delay``'s recipe
   (:func:`~challenge_neuralworks.delay.train.fit_classifier`) on the same rows: its encoder
   gives the schedule features of both ensembles, its trees and threshold are the answer when
   there is no live context;
2. every training flight is copied ``leads_per_flight`` times, each copy predicted at its own
   simulated time ``S - L`` with ``L`` log-uniform in [0.5, 24] h (as many rows per doubling of
   the lead at 0.5-1 h, where the departures just seen change fastest, as at 12-24 h);
   ``blanked_leads`` of the copies have the optional request fields blanked (no minute, no
   flight number), so one model serves both request shapes, like ``delay``;
3. the live features of a copy come from the departures whose actual time is at or before its
   prediction time (:class:`~challenge_neuralworks.nowcast.live.DepartureLog`), the schedule
   features from the shared encoder with out-of-fold flight delay rates;
4. boosted trees on [schedule | live], compiled to a numpy :class:`TreeEnsemble`;
5. the decision threshold comes from out-of-fold predictions, folds grouped by scheduled day (the
   copies of a flight, and the flights of a day, never sit on both sides of a fold).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from challenge_neuralworks.delay.features import FeatureEncoder, FlightColumns, encode_training
from challenge_neuralworks.delay.train import (
    FAST_CONFIG,
    OPTIONAL_FEATURES,
    BoostingParams,
    TrainingConfig,
    blank_optional,
    choose_threshold,
    classifier_factory,
    fit_classifier,
    stratified_folds,
)
from challenge_neuralworks.ensemble import TreeEnsemble, sigmoid
from challenge_neuralworks.nowcast.live import (
    DAY,
    FLIGHT_FEATURES,
    HOUR,
    DepartureLog,
    LiveEncoder,
    local_seconds,
    scheduled_seconds,
)

if TYPE_CHECKING:
    import pandas as pd

#: The adopted live features (notebook 02, last section): SCL's recent hours and day, the
#: airline's last 6 and 24 hours, the destination's last 6 hours, the same flight over the last
#: week and the day before, the route (airline + destination: known without a flight number)
#: over the last day and week, and the lead itself.
DEFAULT_LIVE_FEATURES: Final[tuple[str, ...]] = (
    "lead_hours",
    "scl_1h_departures",
    "scl_1h_delayed_share",
    "scl_1h_mean_delay",
    "scl_3h_departures",
    "scl_3h_delayed_share",
    "scl_3h_mean_delay",
    "scl_6h_delayed_share",
    "scl_24h_delayed_share",
    "scl_7d_delayed_share",
    "airline_6h_departures",
    "airline_6h_delayed_share",
    "airline_6h_mean_delay",
    "airline_24h_delayed_share",
    "destination_6h_delayed_share",
    "flight_7d_departures",
    "flight_7d_delayed_share",
    "flight_7d_mean_delay",
    "scl_last10_mean_delay",
    "scl_today_delayed_share",
    "previous_day_delay",
    "route_24h_delayed_share",
    "route_7d_departures",
    "route_7d_delayed_share",
    "route_7d_mean_delay",
)


@dataclass(frozen=True)
class NowcastConfig:
    """Everything that defines a nowcast training run; stored in the manifest."""

    #: The schedule-only classifier and the schedule features: ``delay``'s recipe.
    schedule: TrainingConfig = field(default_factory=TrainingConfig)
    live_features: tuple[str, ...] = DEFAULT_LIVE_FEATURES
    #: ``delay``'s boosting with larger leaves (200 -> 400 rows): chosen with the route features
    #: on a validation split inside the training window (train Jan-Aug, score Sep-Oct), never on
    #: the temporal test months (docs/architecture.md, "The nowcast's recipe").
    boosting: BoostingParams = field(default_factory=lambda: BoostingParams(min_samples_leaf=400))
    leads_per_flight: int = 2
    #: Of the copies of each flight, how many have the optional request fields blanked.
    blanked_leads: int = 1
    min_lead_hours: float = 0.5
    max_lead_hours: float = 24.0
    #: Day-grouped folds of the out-of-fold threshold (two: each fold model is one fit on half
    #: the days, the cheapest honest out-of-fold estimate).
    folds: int = 2
    seed: int = 42
    threshold_rule: str = "recall:0.62"

    def __post_init__(self) -> None:
        if not 0 <= self.blanked_leads <= self.leads_per_flight:
            raise ValueError("blanked_leads must be between 0 and leads_per_flight")
        if not 0 < self.min_lead_hours < self.max_lead_hours:
            raise ValueError("leads must satisfy 0 < min_lead_hours < max_lead_hours")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the manifest."""
        return {
            "schedule": self.schedule.as_dict(),
            "live_features": list(self.live_features),
            "boosting": self.boosting.as_kwargs(),
            "leads_per_flight": self.leads_per_flight,
            "blanked_leads": self.blanked_leads,
            "lead_hours": [self.min_lead_hours, self.max_lead_hours],
            "lead_sampling": "log-uniform",
            "folds": self.folds,
            "seed": self.seed,
            "threshold_rule": self.threshold_rule,
        }


#: Small and quick: tests and CI smoke runs. Same recipe, fewer and shallower trees.
FAST_NOWCAST_CONFIG: Final[NowcastConfig] = NowcastConfig(
    schedule=FAST_CONFIG,
    boosting=BoostingParams(max_iter=60, learning_rate=0.15, max_leaf_nodes=15, max_depth=6),
)


@dataclass(frozen=True, eq=False)
class FittedNowcast:
    """Everything :class:`~challenge_neuralworks.nowcast.model.NowcastClassifier` is made of."""

    encoder: FeatureEncoder
    schedule: TreeEnsemble
    schedule_threshold: float
    live: LiveEncoder
    ensemble: TreeEnsemble
    threshold: float

    def predict_proba(
        self, flights: FlightColumns, log: DepartureLog, lead_hours: float
    ) -> np.ndarray:
        """P(delay) of each flight predicted ``lead_hours`` before its scheduled time."""
        scheduled = scheduled_seconds(flights)
        live = self.live.encode(log, flights, scheduled, scheduled - round(lead_hours * HOUR))
        return sigmoid(self.ensemble.raw(np.hstack([self.encoder.encode(flights), live])))

    def schedule_proba(self, flights: FlightColumns) -> np.ndarray:
        """P(delay) from the schedule alone (the answer without live context)."""
        return sigmoid(self.schedule.raw(self.encoder.encode(flights)))


def departure_log(frame: pd.DataFrame) -> DepartureLog:
    """The departures of a validated data frame as the feed would have reported them:
    scheduled and actual time (``Fecha-I``, ``Fecha-O``), airline, flight number, scheduled
    destination."""
    from challenge_neuralworks.schemas import normalize_flight_number

    def seconds(column: str) -> np.ndarray:
        t = frame[column].dt
        year, month, day, hour, minute, second = (
            part.to_numpy(np.int64) for part in (t.year, t.month, t.day, t.hour, t.minute, t.second)
        )
        seconds = local_seconds(year, month, day, hour, minute=minute, second=second)
        return np.asarray(seconds, dtype=np.int64)

    return DepartureLog(
        scheduled=seconds("scheduled"),
        actual=seconds("operated"),
        airline=frame["OPERA"].tolist(),
        flight_number=[normalize_flight_number(v) for v in frame["Vlo-I"].tolist()],
        destination=frame["destination"].tolist(),
    )


def sample_leads(rng: np.random.Generator, n: int, config: NowcastConfig) -> np.ndarray:
    """``n`` lead times in hours, log-uniform in [min_lead_hours, max_lead_hours]."""
    low, high = np.log(config.min_lead_hours), np.log(config.max_lead_hours)
    return np.exp(rng.uniform(low, high, n))


def training_rows(
    encoder: FeatureEncoder,
    live: LiveEncoder,
    flights: FlightColumns,
    delayed: np.ndarray,
    *,
    log: DepartureLog,
    config: NowcastConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """The training matrix (every copy of every flight) and the flight index of each row."""
    folds = stratified_folds(delayed, config.schedule.folds, config.schedule.seed)
    schedule = encode_training(encoder, flights, delayed, folds)
    blanked_schedule = schedule.copy()
    optional = [encoder.features.index(f) for f in OPTIONAL_FEATURES if f in encoder.features]
    blanked_schedule[:, optional] = np.nan
    basic = blank_optional(flights)
    rng = np.random.default_rng(config.seed)
    blocks = []
    for copy in range(config.leads_per_flight):
        blank = copy >= config.leads_per_flight - config.blanked_leads
        shown = basic if blank else flights
        scheduled = scheduled_seconds(shown)
        lead = np.round(sample_leads(rng, len(flights), config) * HOUR).astype(np.int64)
        features = live.encode(log, shown, scheduled, scheduled - lead)
        blocks.append(np.hstack([blanked_schedule if blank else schedule, features]))
    index = np.tile(np.arange(len(flights)), config.leads_per_flight)
    return np.vstack(blocks), index


def fit_nowcast(
    flights: FlightColumns, delayed: np.ndarray, log: DepartureLog, config: NowcastConfig
) -> FittedNowcast:
    """The full recipe (module docstring) on ``flights`` with departures from ``log``."""
    delayed = np.asarray(delayed, dtype=np.int64)
    schedule = fit_classifier(flights, delayed, config.schedule)
    encoder = schedule.scorer.encoder
    live = LiveEncoder(tuple(config.live_features))
    X, index = training_rows(encoder, live, flights, delayed, log=log, config=config)
    y = delayed[index]
    ensemble = _fit_ensemble(X, y, config)
    out_of_fold = _out_of_fold(X, y, (scheduled_seconds(flights) // DAY)[index], config)
    return FittedNowcast(
        encoder=encoder,
        schedule=schedule.scorer.ensemble,
        schedule_threshold=schedule.threshold,
        live=live,
        ensemble=ensemble,
        threshold=choose_threshold(out_of_fold, y, config.threshold_rule),
    )


def _fit_ensemble(X: np.ndarray, y: np.ndarray, config: NowcastConfig) -> TreeEnsemble:
    estimator = classifier_factory(config.boosting.as_kwargs() | {"random_state": config.seed})
    estimator.fit(X, y)
    return TreeEnsemble.from_hist_gradient_boosting(estimator)


def _out_of_fold(
    X: np.ndarray, y: np.ndarray, days: np.ndarray, config: NowcastConfig
) -> np.ndarray:
    """P(delay) of each row from a model fitted on the other days' rows."""
    from sklearn.model_selection import GroupKFold

    out = np.empty(len(y))
    for train, held in GroupKFold(n_splits=config.folds).split(X, y, groups=days):
        out[held] = sigmoid(_fit_ensemble(X[train], y[train], config).raw(X[held]))
    return out


def without_flight_features(features: tuple[str, ...]) -> tuple[str, ...]:
    """``features`` minus those of the flight's own number (an ablation of the notebook)."""
    return tuple(f for f in features if f not in FLIGHT_FEATURES)


def with_features(config: NowcastConfig, features: tuple[str, ...]) -> NowcastConfig:
    """The same recipe with other live features (the notebook's variants)."""
    return replace(config, live_features=tuple(features))
