"""The delay family's trainers: a data set in, servable models with their manifest out.

Training-time only (pandas, scikit-learn). The model classes (which the Lambda function imports)
never import this module; this module imports them, and :class:`DelayTrainer` and
:class:`MinutesTrainer` register themselves as the trainers of ``delay`` and ``delay_minutes``
(see :class:`~challenge_neuralworks.model.Trainer`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from challenge_neuralworks import __version__
from challenge_neuralworks.delay.evaluate import (
    PROTOCOLS,
    evaluate_classifier,
    permutation_importance,
    shap_importance,
)
from challenge_neuralworks.delay.features import FeatureEncoder, columns_from_frame
from challenge_neuralworks.delay.minutes import (
    FAST_MINUTES_CONFIG,
    MinutesConfig,
    evaluate_minutes,
    fit_minutes,
)
from challenge_neuralworks.delay.model import DelayClassifier, DelayMinutes
from challenge_neuralworks.delay.train import (
    FAST_CONFIG,
    TrainingConfig,
    blank_optional,
    fit_classifier,
)
from challenge_neuralworks.model import Trainer
from challenge_neuralworks.monitor.reference import classifier_reference, minutes_reference

if TYPE_CHECKING:
    import pandas as pd

    from challenge_neuralworks.data import Flights


def restrict(data: Flights, train_until: str | None) -> Flights:
    """The flights scheduled up to the end of ``train_until`` (YYYY-MM-DD), or all of them."""
    if train_until is None:
        return data
    import pandas as pd

    try:
        until = pd.Timestamp(train_until) + pd.Timedelta(days=1)
    except ValueError as exc:
        raise ValueError(f"--train-until {train_until!r} is not a date YYYY-MM-DD") from exc
    frame = data.frame[data.frame["scheduled"] < until].reset_index(drop=True)
    if frame.empty:
        raise ValueError(f"no flights scheduled up to {train_until}")
    return replace(data, frame=frame)


def training_window(frame: pd.DataFrame) -> dict[str, Any]:
    """First and last scheduled departure and row count of the training data."""
    return {
        "first_scheduled": frame["scheduled"].min().isoformat(sep=" "),
        "last_scheduled": frame["scheduled"].max().isoformat(sep=" "),
        "rows": len(frame),
        "delay_rate": round(float(frame["delayed"].mean()), 6),
    }


def model_version(name: str, data: Flights, config: dict[str, Any]) -> str:
    """Deterministic version: last training date + digest of data, config and code version."""
    last = data.frame["scheduled"].max().strftime("%Y%m%d")
    digest = hashlib.sha256(
        json.dumps(
            {"name": name, "data": data.sha256, "config": config, "package": __version__},
            sort_keys=True,
        ).encode()
    ).hexdigest()
    return f"{last}-{digest[:8]}"


def reference_data(encoder: FeatureEncoder) -> dict[str, Any]:
    """Which reference data the artifact carries (the airport table's source and size)."""
    return {"airports": encoder.airports.source, "airport_count": len(encoder.airports)}


def common_metadata(data: Flights, full: Flights, config: dict[str, Any]) -> dict[str, Any]:
    """Manifest members every model trained on this data set shares: package version, data
    file, training window and configuration."""
    frame = data.frame
    return {
        "package_version": __version__,
        "data": {
            "file": full.path.name if full.path else None,
            "sha256": full.sha256,
            "rows_in_file": len(full.frame),
        },
        "training_window": training_window(frame),
        "training_config": config,
    }


def build_classifier(
    data: Flights,
    *,
    train_until: str | None = None,
    config: TrainingConfig | None = None,
    evaluate: bool = True,
) -> DelayClassifier:
    """Fit the classifier on ``data`` (up to ``train_until``); metrics come from both
    protocols run with the same config on the full file."""
    config = config or TrainingConfig()
    train_data = restrict(data, train_until)
    frame = train_data.frame
    columns = columns_from_frame(_scheduled(train_data))
    fitted = fit_classifier(columns, frame["delayed"].to_numpy(np.int64), config)
    metrics = (
        {name: r.metrics for name, r in evaluate_classifier(data, config).items()}
        if evaluate
        else {}
    )
    config_dict = config.as_dict()
    encoder = fitted.scorer.encoder
    model = DelayClassifier(
        encoder=encoder,
        ensemble=fitted.scorer.ensemble,
        calibrator=fitted.calibrator,
        threshold=fitted.threshold,
        version=model_version(DelayClassifier.name, train_data, config_dict),
        metadata={
            **common_metadata(train_data, data, config_dict),
            "features": list(encoder.features),
            "reference_data": reference_data(encoder),
            "target": "departure delay (Fecha-O - Fecha-I) > 15 minutes",
            "threshold": fitted.threshold,
            "threshold_rule": config.threshold_rule,
            "trees": fitted.scorer.ensemble.n_trees,
            "metrics": metrics,
            "protocols": list(PROTOCOLS) if evaluate else [],
        },
    )
    model.metadata["allowed_values"] = model.allowed_values()
    model.metadata["reference"] = classifier_reference(
        model, columns, frame["delayed"].to_numpy(np.int64), fitted.out_of_fold
    )
    _ = model.explainer  # a recipe whose trees cannot be explained fails here, not on a request
    return model


def build_minutes(
    data: Flights,
    *,
    train_until: str | None = None,
    config: MinutesConfig | None = None,
    evaluate: bool = True,
) -> DelayMinutes:
    """Fit the minutes model on ``data`` (up to ``train_until``) with both protocols' metrics."""
    config = config or MinutesConfig()
    train_data = restrict(data, train_until)
    frame = train_data.frame
    columns = columns_from_frame(_scheduled(train_data))
    encoder, ensembles = fit_minutes(
        columns,
        frame["delay_minutes"].to_numpy(np.float64),
        frame["delayed"].to_numpy(np.int64),
        config,
    )
    metrics = evaluate_minutes(data, config) if evaluate else {}
    config_dict = config.as_dict()
    model = DelayMinutes(
        encoder=encoder,
        ensembles=ensembles,
        version=model_version(DelayMinutes.name, train_data, config_dict),
        metadata={
            **common_metadata(train_data, data, config_dict),
            "features": list(encoder.features),
            "reference_data": reference_data(encoder),
            "target": "departure delay in minutes (Fecha-O - Fecha-I)",
            "outputs": {
                "expected": "mean (squared error)",
                "p50": "median (quantile loss 0.5)",
                "p90": "90th percentile (quantile loss 0.9)",
            },
            "metrics": metrics,
        },
    )
    model.metadata["allowed_values"] = model.allowed_values()
    model.metadata["reference"] = minutes_reference(
        model, columns, frame["delayed"].to_numpy(np.int64)
    )
    return model


def _scheduled(data: Flights) -> pd.DataFrame:
    from challenge_neuralworks.data import scheduled_view

    return scheduled_view(data)


class DelayTrainer(Trainer):
    """Trains and evaluates ``delay`` (:class:`DelayClassifier`)."""

    model = DelayClassifier

    def default_config(self) -> TrainingConfig:
        """The adopted recipe (notebooks/02_improvements.ipynb)."""
        return TrainingConfig()

    def fast_config(self) -> TrainingConfig:
        """Fewer, shallower trees, three folds."""
        return FAST_CONFIG

    def fit(
        self,
        data: Flights,
        *,
        config: TrainingConfig | None = None,
        train_until: str | None = None,
        evaluate: bool = True,
    ) -> DelayClassifier:
        """See :func:`build_classifier`."""
        return build_classifier(data, train_until=train_until, config=config, evaluate=evaluate)

    def evaluate(
        self, data: Flights, *, config: TrainingConfig | None = None, out_dir: Path | None = None
    ) -> dict[str, Any]:
        """Both protocols, the temporal holdout's permutation importance and mean absolute
        TreeSHAP contribution and, with ``out_dir``, the ROC/PR, calibration and importance
        charts."""
        from challenge_neuralworks.data import scheduled_view

        config = config or self.default_config()
        results = evaluate_classifier(data, config)
        temporal = results["temporal"]
        columns = columns_from_frame(scheduled_view(data))
        test = columns.take(temporal.split.test)
        drops = permutation_importance(temporal, test)
        contributions = {
            mode: shap_importance(temporal, flights)
            for mode, flights in (("full", test), ("basic", blank_optional(test)))
        }
        if out_dir is not None:
            from challenge_neuralworks.delay import plots

            plots.roc_and_pr(results, out_dir)
            plots.calibration(results, out_dir)
            plots.importance(drops, out_dir, "Permutation importance (temporal holdout)")
            plots.importance(
                contributions["full"],
                out_dir,
                "Mean |TreeSHAP contribution| (temporal holdout)",
                xlabel="mean |contribution| to the log-odds",
                name="shap_importance.png",
            )
        return {
            "model": self.model.name,
            "config": config.as_dict(),
            "protocols": {name: r.metrics for name, r in results.items()},
            "permutation_importance_temporal": drops,
            "shap_importance_temporal": contributions,
        }


class MinutesTrainer(Trainer):
    """Trains and evaluates ``delay_minutes`` (:class:`DelayMinutes`)."""

    model = DelayMinutes

    def default_config(self) -> MinutesConfig:
        """The classifier's features with regression boosting parameters."""
        return MinutesConfig()

    def fast_config(self) -> MinutesConfig:
        """Fewer, shallower trees."""
        return FAST_MINUTES_CONFIG

    def fit(
        self,
        data: Flights,
        *,
        config: MinutesConfig | None = None,
        train_until: str | None = None,
        evaluate: bool = True,
    ) -> DelayMinutes:
        """See :func:`build_minutes`."""
        return build_minutes(data, train_until=train_until, config=config, evaluate=evaluate)

    def evaluate(
        self, data: Flights, *, config: MinutesConfig | None = None, out_dir: Path | None = None
    ) -> dict[str, Any]:
        """Both protocols' regression metrics (no charts)."""
        config = config or self.default_config()
        return {
            "model": self.model.name,
            "config": config.as_dict(),
            "protocols": evaluate_minutes(data, config),
        }
