"""Turn a data set into servable delay-family models with their manifest metadata.

Training-time only. ``DelayClassifier.train`` and ``DelayMinutes.train`` call into here so that
the model classes (which the Lambda function imports) never import pandas or scikit-learn.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from challenge_neuralworks import __version__
from challenge_neuralworks.delay.evaluate import PROTOCOLS, evaluate_classifier
from challenge_neuralworks.delay.features import columns_from_frame
from challenge_neuralworks.delay.minutes import (
    MinutesConfig,
    evaluate_minutes,
    fit_minutes,
)
from challenge_neuralworks.delay.train import TrainingConfig, fit_classifier
from challenge_neuralworks.monitor.reference import classifier_reference, minutes_reference

if TYPE_CHECKING:
    import pandas as pd

    from challenge_neuralworks.data import Flights
    from challenge_neuralworks.delay.model import DelayClassifier, DelayMinutes


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


def flight_types(frame: pd.DataFrame) -> dict[str, str]:
    """Destination city -> flight type (I/N) as scheduled in the training data."""
    pairs = frame.groupby("destination")["TIPOVUELO"].agg(lambda s: s.value_counts().index[0])
    return {str(k): str(v) for k, v in sorted(pairs.items())}


def icao_cities(frame: pd.DataFrame) -> dict[str, str]:
    """ICAO code of the scheduled destination -> city, as the training data resolved it."""
    return {
        str(k): str(v) for k, v in sorted(frame.groupby("Des-I")["destination"].first().items())
    }


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


def _common_metadata(data: Flights, full: Flights, config: dict[str, Any]) -> dict[str, Any]:
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
    cls: type[DelayClassifier],
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
    model = cls(
        encoder=encoder,
        ensemble=fitted.scorer.ensemble,
        calibrator=fitted.calibrator,
        threshold=fitted.threshold,
        flight_types=flight_types(frame),
        destination_cities=icao_cities(frame),
        version=model_version(cls.name, train_data, config_dict),
        metadata={
            **_common_metadata(train_data, data, config_dict),
            "features": list(encoder.features),
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
    return model


def build_minutes(
    cls: type[DelayMinutes],
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
    model = cls(
        encoder=encoder,
        ensembles=ensembles,
        flight_types=flight_types(frame),
        destination_cities=icao_cities(frame),
        version=model_version(cls.name, train_data, config_dict),
        metadata={
            **_common_metadata(train_data, data, config_dict),
            "features": list(encoder.features),
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
