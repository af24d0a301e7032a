"""The evaluation protocol of the delay models, always both halves of it.

* ``random``: stratified 67/33 split, seed 42 (what public solutions report; optimistic, since
  flights of the same day sit on both sides);
* ``temporal``: train on flights scheduled up to 2017-10-31, test on November-December (what
  production looks like: the future, with a higher delay rate than the training months).

Every metric is computed on the test side of a model fitted on the train side only, including
its threshold, and for two request shapes: ``full`` (minute and flight number given) and
``basic`` (the original API contract). Row counts and delay rates go with every figure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from challenge_neuralworks.delay.features import FlightColumns, columns_from_frame
from challenge_neuralworks.delay.train import (
    FittedClassifier,
    TrainingConfig,
    blank_optional,
    fit_classifier,
)

if TYPE_CHECKING:
    import pandas as pd

    from challenge_neuralworks.data import Flights

RANDOM_TEST_SIZE: Final[float] = 0.33
RANDOM_SEED: Final[int] = 42
TEMPORAL_CUTOFF: Final[str] = "2017-10-31"
PROTOCOLS: Final[tuple[str, ...]] = ("random", "temporal")
REQUEST_MODES: Final[tuple[str, ...]] = ("full", "basic")


@dataclass(frozen=True)
class Split:
    """Row positions of one protocol's train and test sides."""

    name: str
    train: np.ndarray
    test: np.ndarray


def protocol_splits(frame: pd.DataFrame) -> dict[str, Split]:
    """Both protocols' splits of a validated frame."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(frame))
    train, test = train_test_split(
        rows,
        test_size=RANDOM_TEST_SIZE,
        random_state=RANDOM_SEED,
        stratify=frame["delayed"].to_numpy(),
    )
    until = _end_of_day(TEMPORAL_CUTOFF)
    early = (frame["scheduled"] <= until).to_numpy()
    return {
        "random": Split("random", np.sort(train), np.sort(test)),
        "temporal": Split("temporal", rows[early], rows[~early]),
    }


def _end_of_day(day: str) -> Any:
    import pandas as pd

    return pd.Timestamp(day) + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)


def classification_metrics(
    delayed: np.ndarray, probability: np.ndarray, threshold: float, train_rate: float
) -> dict[str, float]:
    """Ranking, calibration and decision metrics of class 1 (delayed)."""
    from sklearn.metrics import (
        average_precision_score,
        brier_score_loss,
        log_loss,
        roc_auc_score,
    )

    flagged = probability >= threshold
    true_positive = int(np.sum(flagged & (delayed == 1)))
    precision = true_positive / max(1, int(flagged.sum()))
    recall = true_positive / max(1, int(delayed.sum()))
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    base = np.full(len(delayed), train_rate)
    return {
        "roc_auc": float(roc_auc_score(delayed, probability)),
        "pr_auc": float(average_precision_score(delayed, probability)),
        "brier": float(brier_score_loss(delayed, probability)),
        "brier_base_rate": float(brier_score_loss(delayed, base)),
        "log_loss": float(log_loss(delayed, probability)),
        "threshold": float(threshold),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "flagged_share": float(flagged.mean()),
    }


@dataclass(frozen=True, eq=False)
class ProtocolResult:
    """One protocol's fitted model, test predictions and metrics."""

    split: Split
    fitted: FittedClassifier
    test_labels: np.ndarray
    probabilities: dict[str, np.ndarray]  # request mode -> test probabilities
    metrics: dict[str, Any]


def evaluate_classifier(
    data: Flights,
    config: TrainingConfig,
    *,
    protocols: tuple[str, ...] = PROTOCOLS,
    fit: Callable[[FlightColumns, np.ndarray, TrainingConfig], FittedClassifier] = fit_classifier,
) -> dict[str, ProtocolResult]:
    """Fit on each protocol's train side and score its test side."""
    from challenge_neuralworks.data import scheduled_view

    frame = data.frame
    columns = columns_from_frame(scheduled_view(data))
    delayed = frame["delayed"].to_numpy(np.int64)
    splits = protocol_splits(frame)
    results = {}
    for name in protocols:
        split = splits[name]
        fitted = fit(columns.take(split.train), delayed[split.train], config)
        test = columns.take(split.test)
        labels = delayed[split.test]
        probabilities = {
            "full": fitted.predict_proba(test),
            "basic": fitted.predict_proba(blank_optional(test)),
        }
        train_rate = float(delayed[split.train].mean())
        metrics: dict[str, Any] = {
            "train_rows": len(split.train),
            "test_rows": len(split.test),
            "train_delay_rate": train_rate,
            "test_delay_rate": float(labels.mean()),
        }
        for mode, probability in probabilities.items():
            metrics[mode] = classification_metrics(
                labels, probability, fitted.threshold, train_rate
            )
        results[name] = ProtocolResult(split, fitted, labels, probabilities, metrics)
    return results


def metrics_table(results: dict[str, ProtocolResult], mode: str = "basic") -> list[dict[str, Any]]:
    """One flat row per protocol (for notebooks and the model card)."""
    rows = []
    for name, result in results.items():
        m = result.metrics
        rows.append(
            {
                "protocol": name,
                "mode": mode,
                "train_rows": m["train_rows"],
                "test_rows": m["test_rows"],
                "test_delay_rate": round(m["test_delay_rate"], 4),
                **{k: round(v, 4) for k, v in m[mode].items()},
            }
        )
    return rows


def permutation_importance(
    result: ProtocolResult, columns: FlightColumns, *, repeats: int = 3, seed: int = 0
) -> dict[str, float]:
    """Mean drop in test ROC-AUC when one feature column is shuffled (full requests), by
    scikit-learn's ``permutation_importance`` on the compiled scorer."""
    from sklearn.base import BaseEstimator
    from sklearn.inspection import permutation_importance as sklearn_permutation_importance
    from sklearn.metrics import roc_auc_score

    class Compiled(BaseEstimator):
        """The compiled ensemble as a fitted estimator (``permutation_importance`` never
        refits: ``fit`` only satisfies its parameter check)."""

        def __init__(self, ensemble: Any = None) -> None:
            self.ensemble = ensemble

        def fit(self, X: Any, y: Any) -> Compiled:
            return self

    scorer = result.fitted.scorer
    found = sklearn_permutation_importance(
        Compiled(scorer.ensemble),
        scorer.encoder.encode(columns),
        result.test_labels,
        scoring=lambda estimator, X, y: roc_auc_score(y, estimator.ensemble.raw(X)),
        n_repeats=repeats,
        random_state=seed,
    )
    drops = {
        feature: float(drop)
        for feature, drop in zip(scorer.encoder.features, found.importances_mean, strict=True)
    }
    return dict(sorted(drops.items(), key=lambda item: -item[1]))


def shap_importance(result: ProtocolResult, columns: FlightColumns) -> dict[str, float]:
    """Mean absolute TreeSHAP contribution of each feature to the test rows' log-odds: the
    same explanations the API gives (``?explain=true``), averaged. Largest first."""
    from challenge_neuralworks.explain import TreeExplainer

    scorer = result.fitted.scorer
    contributions = TreeExplainer.of(scorer.ensemble).shap_values(scorer.encoder.encode(columns))
    means = dict(
        zip(scorer.encoder.features, np.abs(contributions).mean(axis=0).tolist(), strict=True)
    )
    return dict(sorted(means.items(), key=lambda item: -item[1]))
