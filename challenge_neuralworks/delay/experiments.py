"""One modelling experiment, fitted and scored on both evaluation protocols, as one row.

The improvements notebook tries many variants (features, encodings, weights, hyper-parameters,
baselines). Each must be judged the same way: fitted on the train side of the random 67/33 split
and of the temporal holdout, scored on the test side, for full and basic requests, with the row
counts next to the figures. This module is that loop, so that the notebook holds decisions and
numbers, not evaluation code, and so that a variant is never accidentally scored differently.

Experiments use the uncalibrated scorer (:func:`~challenge_neuralworks.delay.train.fit_scorer`):
ranking (ROC-AUC, PR-AUC) and Brier score are what decide a variant, and the full recipe
(calibration + threshold, :func:`~challenge_neuralworks.delay.evaluate.evaluate_classifier`)
costs six fits instead of one. Training-time only: imports pandas and scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from challenge_neuralworks import dates
from challenge_neuralworks.delay.evaluate import (
    PROTOCOLS,
    REQUEST_MODES,
    ProtocolResult,
    Split,
    classification_metrics,
    protocol_splits,
)
from challenge_neuralworks.delay.features import (
    FlightColumns,
    chilean_holidays,
    columns_from_frame,
    fit_encoder,
)
from challenge_neuralworks.delay.train import (
    TrainingConfig,
    blank_optional,
    classifier_factory,
    fit_scorer,
    training_matrix,
)
from challenge_neuralworks.ensemble import sigmoid

if TYPE_CHECKING:
    import pandas as pd

    from challenge_neuralworks.data import Flights

#: Threshold-free metrics: what an experiment is judged on.
RANKING_METRICS: Final[tuple[str, ...]] = (
    "roc_auc",
    "pr_auc",
    "brier",
    "brier_base_rate",
    "log_loss",
)

#: test row positions, request mode -> P(delay)
Predictor = Callable[[np.ndarray, str], np.ndarray]
#: train row positions -> fitted predictor
FitFunction = Callable[[np.ndarray], Predictor]
#: per-flight column computed from the flights themselves (weights, extra features)
FlightFunction = Callable[[FlightColumns], np.ndarray]


@dataclass(frozen=True, eq=False)
class Workbench:
    """The data set prepared once: frame, feature input columns, labels, both splits."""

    frame: pd.DataFrame
    columns: FlightColumns
    delayed: np.ndarray
    splits: dict[str, Split]
    holidays: np.ndarray

    @classmethod
    def from_flights(cls, data: Flights) -> Workbench:
        """Columns from the scheduled view (the leakage-free input of every model)."""
        from challenge_neuralworks.data import scheduled_view

        return cls(
            frame=data.frame,
            columns=columns_from_frame(scheduled_view(data)),
            delayed=data.frame["delayed"].to_numpy(np.int64),
            splits=protocol_splits(data.frame),
            holidays=chilean_holidays(),
        )

    def with_columns(self, columns: FlightColumns) -> Workbench:
        """The same rows, labels and splits with other model inputs (e.g. the leaky view)."""
        return replace(self, columns=columns)

    def flights(self, rows: np.ndarray, mode: str) -> FlightColumns:
        """Input columns of ``rows`` as a ``full`` or ``basic`` request sees them."""
        flights = self.columns.take(rows)
        return blank_optional(flights) if mode == "basic" else flights


@dataclass(frozen=True)
class ExperimentResult:
    """Metrics of one experiment: protocol -> row counts and mode -> ranking metrics."""

    name: str
    metrics: dict[str, dict[str, Any]]

    @classmethod
    def from_protocol_results(
        cls, name: str, results: dict[str, ProtocolResult]
    ) -> ExperimentResult:
        """The same view of a full-recipe evaluation (:func:`evaluate_classifier`)."""
        metrics: dict[str, dict[str, Any]] = {}
        for protocol, result in results.items():
            m = result.metrics
            metrics[protocol] = {
                "train_rows": m["train_rows"],
                "test_rows": m["test_rows"],
                "test_delay_rate": m["test_delay_rate"],
                **{mode: {k: m[mode][k] for k in RANKING_METRICS} for mode in REQUEST_MODES},
            }
        return cls(name=name, metrics=metrics)

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per protocol and request mode, row counts included."""
        out = []
        for protocol, m in self.metrics.items():
            for mode in REQUEST_MODES:
                if mode in m:
                    out.append(
                        {
                            "experiment": self.name,
                            "protocol": protocol,
                            "mode": mode,
                            "train_rows": m["train_rows"],
                            "test_rows": m["test_rows"],
                            "test_delay_rate": round(m["test_delay_rate"], 4),
                            **{k: round(v, 4) for k, v in m[mode].items()},
                        }
                    )
        return out

    def summary(self, decision: str, mode: str = "full") -> dict[str, Any]:
        """The summary-table row: both protocols' ranking and Brier against the base rate in
        ``mode``, plus the temporal ROC-AUC of basic requests (the original API contract)."""
        t, r = self.metrics["temporal"][mode], self.metrics["random"][mode]
        return {
            "experiment": self.name,
            "decision": decision,
            "T ROC-AUC": round(t["roc_auc"], 4),
            "T PR-AUC": round(t["pr_auc"], 4),
            "R ROC-AUC": round(r["roc_auc"], 4),
            "R PR-AUC": round(r["pr_auc"], 4),
            "T Brier": round(t["brier"], 4),
            "T Brier base rate": round(t["brier_base_rate"], 4),
            "R Brier": round(r["brier"], 4),
            "R Brier base rate": round(r["brier_base_rate"], 4),
            "T ROC-AUC basic": round(self.metrics["temporal"]["basic"]["roc_auc"], 4),
        }


def run_experiment(
    bench: Workbench,
    name: str,
    fit: FitFunction,
    *,
    modes: tuple[str, ...] = REQUEST_MODES,
    protocols: tuple[str, ...] = PROTOCOLS,
) -> ExperimentResult:
    """Fit on each protocol's train side, score its test side in each request mode."""
    metrics: dict[str, dict[str, Any]] = {}
    for protocol in protocols:
        split = bench.splits[protocol]
        predict = fit(split.train)
        labels = bench.delayed[split.test]
        train_rate = float(bench.delayed[split.train].mean())
        entry: dict[str, Any] = {
            "train_rows": len(split.train),
            "test_rows": len(split.test),
            "test_delay_rate": float(labels.mean()),
        }
        for mode in modes:
            scores = classification_metrics(labels, predict(split.test, mode), 0.5, train_rate)
            entry[mode] = {k: scores[k] for k in RANKING_METRICS}
        metrics[protocol] = entry
    return ExperimentResult(name=name, metrics=metrics)


def scorer_fit(
    bench: Workbench,
    config: TrainingConfig,
    *,
    make_estimator: Callable[[dict[str, Any]], Any] = classifier_factory,
    serve: Workbench | None = None,
) -> FitFunction:
    """The production scorer (:func:`fit_scorer`, compiled trees) with ``config``.

    It trains on ``bench``'s columns and scores ``serve``'s (default: the same): a different
    ``serve`` measures a train/serve mismatch, e.g. training on the file's leaky calendar and
    serving the scheduled one, as a deployed model would.
    """
    serve = bench if serve is None else serve

    def fit(train: np.ndarray) -> Predictor:
        scorer = fit_scorer(
            bench.columns.take(train),
            bench.delayed[train],
            config,
            make_estimator=make_estimator,
            holidays=bench.holidays,
        )
        return lambda rows, mode: sigmoid(scorer.raw(serve.flights(rows, mode)))

    return fit


def extended_fit(
    bench: Workbench,
    config: TrainingConfig,
    *,
    weight: FlightFunction | None = None,
    extra: FlightFunction | None = None,
    make_estimator: Callable[[dict[str, Any]], Any] = classifier_factory,
) -> FitFunction:
    """The scorer's recipe with what :func:`fit_scorer` does not take: per-row sample
    ``weight`` and one ``extra`` feature column appended to the encoder's matrix.

    Same encoder, out-of-fold encoding and blanked duplicates (:func:`training_matrix`); scored
    with scikit-learn's own ``predict_proba``. With neither option it reproduces
    :func:`scorer_fit` (tested), so a difference is the option's effect alone.
    """

    def fit(train: np.ndarray) -> Predictor:
        flights, labels = bench.columns.take(train), bench.delayed[train]
        encoder = fit_encoder(
            flights,
            labels,
            features=config.features,
            holidays=bench.holidays,
            smoothing=config.smoothing,
            unseen_destination=config.unseen_destination,
        )
        X, index = training_matrix(encoder, flights, labels, config)
        categorical = encoder.categorical_mask if config.native_categorical else None
        if extra is not None:
            X = np.column_stack([X, extra(flights)[index]])
            categorical = None if categorical is None else np.r_[categorical, False]
        estimator = make_estimator(
            config.boosting.as_kwargs()
            | {"categorical_features": categorical, "random_state": config.seed}
        )
        sample_weight = None if weight is None else weight(flights)[index]
        estimator.fit(X, labels[index], sample_weight=sample_weight)

        def predict(rows: np.ndarray, mode: str) -> np.ndarray:
            test = bench.flights(rows, mode)
            X_test = encoder.encode(test)
            if extra is not None:
                X_test = np.column_stack([X_test, extra(test)])
            return estimator.predict_proba(X_test)[:, 1]

        return predict

    return fit


#: The protocol name of :func:`run_unseen_destinations` in an experiment's metrics.
UNSEEN_DESTINATIONS: Final[str] = "unseen destinations"


def run_unseen_destinations(
    bench: Workbench,
    name: str,
    fit: FitFunction,
    *,
    groups: int = 5,
    seed: int = 0,
    modes: tuple[str, ...] = REQUEST_MODES,
) -> ExperimentResult:
    """How good predictions are for a destination the model never saw: the temporal holdout
    with every destination held out of training.

    The file's destination cities are dealt into ``groups`` groups (seeded shuffle). For each
    group, a model is fitted on the temporal training rows of the *other* groups' destinations
    and scores the temporal test rows of the group's own; every test row is scored once, by a
    model that had no flight to its destination. ``train_rows`` is the mean over the groups.
    """
    split = bench.splits["temporal"]
    cities = sorted(set(bench.columns.destination))
    order = np.random.default_rng(seed).permutation(len(cities))
    group_of = {cities[index]: rank % groups for rank, index in enumerate(order)}
    group = np.array([group_of[city] for city in bench.columns.destination])
    predictions = {mode: np.full(len(split.test), np.nan) for mode in modes}
    train_rows = []
    for number in range(groups):
        train = split.train[group[split.train] != number]
        held = group[split.test] == number
        predict = fit(train)
        train_rows.append(len(train))
        for mode in modes:
            predictions[mode][held] = predict(split.test[held], mode)
    labels = bench.delayed[split.test]
    train_rate = float(bench.delayed[split.train].mean())
    entry: dict[str, Any] = {
        "train_rows": round(float(np.mean(train_rows))),
        "test_rows": len(split.test),
        "test_delay_rate": float(labels.mean()),
    }
    for mode in modes:
        scores = classification_metrics(labels, predictions[mode], 0.5, train_rate)
        entry[mode] = {k: scores[k] for k in RANKING_METRICS}
    return ExperimentResult(name=name, metrics={UNSEEN_DESTINATIONS: entry})


def classic_fit(bench: Workbench, kind: str, *, calendar: str = "file") -> FitFunction:
    """The public solution (:mod:`~challenge_neuralworks.delay.baseline`): one-hot
    OPERA/TIPOVUELO/MES. ``calendar="file"`` takes ``MES`` from the file (derived from the
    actual departure, as published); ``"scheduled"`` takes it from ``Fecha-I`` (the fix).
    Both request modes get the same prediction: the classic model uses neither optional field.
    """
    from challenge_neuralworks.delay.baseline import fit_classic

    if calendar not in ("file", "scheduled"):
        raise ValueError(f"unknown calendar {calendar!r}; use 'file' or 'scheduled'")
    frame = bench.frame[["OPERA", "TIPOVUELO", "MES"]].copy()
    if calendar == "scheduled":
        frame["MES"] = bench.frame["scheduled"].dt.month.astype(str)

    def fit(train: np.ndarray) -> Predictor:
        model = fit_classic(frame.iloc[train], bench.delayed[train], kind)
        return lambda rows, mode: np.asarray(model.predict_proba_frame(frame.iloc[rows]))

    return fit


def file_calendar_columns(data: Flights) -> FlightColumns:
    """Model inputs as the public notebooks built them: the date from the file's ``DIA``/
    ``MES``/``AÑO`` (the *actual* departure's date), the scheduled time of day, and the
    destination from ``SIGLADES`` and ``Des-O`` (the *actual* destination, city and airport).
    Leakage, kept to measure it."""
    import pandas as pd

    frame = data.frame
    day = pd.to_datetime(
        {
            "year": frame["AÑO"].astype(int),
            "month": frame["MES"].astype(int),
            "day": frame["DIA"].astype(int),
        }
    )
    leaky = frame[["Vlo-I", "OPERA", "TIPOVUELO"]].copy()
    leaky["scheduled"] = day + (frame["scheduled"] - frame["scheduled"].dt.normalize())
    leaky["destination"] = frame["SIGLADES"]
    leaky["Des-I"] = frame["Des-O"]
    return columns_from_frame(leaky)


def recency_weight(half_life_days: float) -> FlightFunction:
    """Weights halving every ``half_life_days`` before the latest training flight."""

    def weight(flights: FlightColumns) -> np.ndarray:
        days = dates.days_from_civil(flights.year, flights.month, flights.day)
        return 0.5 ** ((days.max() - days) / half_life_days)

    return weight


def daily_schedule_count(bench: Workbench) -> FlightFunction:
    """Flights in the file on each flight's scheduled date, train and test rows alike.

    What a service could only know from the day's published schedule, which neither the
    request nor the artifact carries; and the file holds operated flights only, so the count
    also drops the day's cancellations (an outcome). An upper bound on what the idea could give.
    """
    all_days = dates.days_from_civil(bench.columns.year, bench.columns.month, bench.columns.day)
    first = int(all_days.min())
    counts = np.bincount(all_days - first)

    def count(flights: FlightColumns) -> np.ndarray:
        days = dates.days_from_civil(flights.year, flights.month, flights.day) - first
        inside = (days >= 0) & (days < len(counts))
        return np.where(inside, counts[np.clip(days, 0, len(counts) - 1)], np.nan)

    return count


def results_frame(*results: ExperimentResult) -> pd.DataFrame:
    """Several experiments' per-protocol, per-mode rows as one table, for side-by-side reading."""
    import pandas as pd

    rows = [row for result in results for row in result.rows()]
    return pd.DataFrame(rows).set_index(["experiment", "protocol", "mode"])


def summary_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The notebook's summary table, one row per experiment, in the order tried."""
    import pandas as pd

    return pd.DataFrame(rows).set_index("experiment")
