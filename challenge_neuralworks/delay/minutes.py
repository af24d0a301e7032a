"""Training and evaluation of ``delay_minutes``: expected delay and its p50/p90 quantiles.

Same features and the same out-of-fold encoding as the classifier (the flight delay rate is the
rate of >15-minute delays, a strong signal for minutes too); three gradient-boosted regressors
with squared-error and quantile losses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from challenge_neuralworks.delay.features import (
    FeatureEncoder,
    FlightColumns,
    chilean_holidays,
    columns_from_frame,
    fit_encoder,
)
from challenge_neuralworks.delay.train import (
    BoostingParams,
    TrainingConfig,
    blank_optional,
    training_matrix,
)
from challenge_neuralworks.ensemble import TreeEnsemble

if TYPE_CHECKING:
    from challenge_neuralworks.data import Flights

#: output name -> scikit-learn loss settings
LOSSES: Final[dict[str, dict[str, Any]]] = {
    "expected": {"loss": "squared_error"},
    "p50": {"loss": "quantile", "quantile": 0.5},
    "p90": {"loss": "quantile", "quantile": 0.9},
}


@dataclass(frozen=True)
class MinutesConfig:
    """The classifier's feature recipe plus regression boosting parameters."""

    features: TrainingConfig = field(default_factory=TrainingConfig)
    boosting: BoostingParams = field(
        default_factory=lambda: BoostingParams(max_iter=150, min_samples_leaf=80)
    )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the manifest."""
        recipe = self.features.as_dict()
        recipe["boosting"] = self.boosting.as_kwargs()
        recipe["losses"] = LOSSES
        return recipe


FAST_MINUTES_CONFIG: Final[MinutesConfig] = MinutesConfig(
    boosting=BoostingParams(max_iter=40, learning_rate=0.2, max_leaf_nodes=15, max_depth=6)
)


def fit_minutes(
    flights: FlightColumns,
    minutes: np.ndarray,
    delayed: np.ndarray,
    config: MinutesConfig,
) -> tuple[FeatureEncoder, dict[str, TreeEnsemble]]:
    """One encoder, one compiled ensemble per output."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    recipe = config.features
    encoder = fit_encoder(
        flights,
        delayed,
        features=recipe.features,
        holidays=chilean_holidays(),
        smoothing=recipe.smoothing,
        unseen_destination=recipe.unseen_destination,
    )
    X, index = training_matrix(encoder, flights, delayed, recipe)
    target = np.asarray(minutes, dtype=np.float64)[index]
    ensembles = {}
    for name, loss in LOSSES.items():
        estimator = HistGradientBoostingRegressor(
            **config.boosting.as_kwargs(),
            **loss,
            categorical_features=encoder.categorical_mask if recipe.native_categorical else None,
            random_state=recipe.seed,
        )
        estimator.fit(X, target)
        ensembles[name] = TreeEnsemble.from_hist_gradient_boosting(estimator)
    return encoder, ensembles


def regression_metrics(
    actual: np.ndarray, predicted: dict[str, np.ndarray], train_minutes: np.ndarray
) -> dict[str, float]:
    """MAE/RMSE of the mean, pinball losses and coverage of the quantiles, with baselines
    that predict the training mean/quantiles for every flight."""

    def pinball(q: float, y: np.ndarray, pred: np.ndarray) -> float:
        diff = y - pred
        return float(np.mean(np.maximum(q * diff, (q - 1) * diff)))

    baseline_mean = float(np.mean(train_minutes))
    return {
        "mae": float(np.mean(np.abs(actual - predicted["expected"]))),
        "mae_baseline": float(np.mean(np.abs(actual - baseline_mean))),
        "rmse": float(np.sqrt(np.mean((actual - predicted["expected"]) ** 2))),
        "rmse_baseline": float(np.sqrt(np.mean((actual - baseline_mean) ** 2))),
        "pinball_p50": pinball(0.5, actual, predicted["p50"]),
        "pinball_p50_baseline": pinball(
            0.5, actual, np.full(len(actual), np.median(train_minutes))
        ),
        "pinball_p90": pinball(0.9, actual, predicted["p90"]),
        "pinball_p90_baseline": pinball(
            0.9, actual, np.full(len(actual), np.quantile(train_minutes, 0.9))
        ),
        "coverage_p50": float(np.mean(actual <= predicted["p50"])),
        "coverage_p90": float(np.mean(actual <= predicted["p90"])),
    }


def evaluate_minutes(data: Flights, config: MinutesConfig) -> dict[str, Any]:
    """Both protocols (see :mod:`challenge_neuralworks.delay.evaluate`), both request shapes."""
    from challenge_neuralworks.data import scheduled_view
    from challenge_neuralworks.delay.evaluate import protocol_splits

    frame = data.frame
    columns = columns_from_frame(scheduled_view(data))
    minutes = frame["delay_minutes"].to_numpy(np.float64)
    delayed = frame["delayed"].to_numpy(np.int64)
    out: dict[str, Any] = {}
    for name, split in protocol_splits(frame).items():
        encoder, ensembles = fit_minutes(
            columns.take(split.train), minutes[split.train], delayed[split.train], config
        )
        test = columns.take(split.test)
        result: dict[str, Any] = {"train_rows": len(split.train), "test_rows": len(split.test)}
        for mode, flights in (("full", test), ("basic", blank_optional(test))):
            X = encoder.encode(flights)
            predicted = {k: e.raw(X) for k, e in ensembles.items()}
            predicted["p90"] = np.maximum(predicted["p90"], predicted["p50"])
            result[mode] = regression_metrics(minutes[split.test], predicted, minutes[split.train])
        out[name] = result
    return out
