"""The training reference in the manifest describes the training rows, binned as documented."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from challenge_neuralworks.data import Flights, scheduled_view
from challenge_neuralworks.delay.features import columns_from_frame, normalize_flight_number
from challenge_neuralworks.delay.model import DelayClassifier
from challenge_neuralworks.monitor.distributions import numeric_counts, shares
from challenge_neuralworks.monitor.reference import NUMERIC_BINS, classifier_reference


@pytest.fixture(scope="module")
def reference(jan_oct_models: Path) -> dict:
    manifest = json.loads((jan_oct_models / "delay" / "manifest.json").read_text())
    return manifest["reference"]


def shares_of(series: pd.Series) -> dict:
    return series.value_counts(normalize=True).to_dict()


def test_counts_rates_and_roles(reference: dict, jan_oct: pd.DataFrame) -> None:
    assert reference["schema"] == 1
    assert reference["rows"] == len(jan_oct) == 55_768
    assert reference["delay_rate"] == pytest.approx(jan_oct["delayed"].mean(), abs=1e-6)
    roles = {name: spec["role"] for name, spec in reference["features"].items()}
    assert roles["airline"] == roles["destination"] == roles["hour"] == "input"
    assert roles["minute_of_day"] == roles["flight_delay_rate"] == "optional"
    assert roles["month"] == roles["weekday"] == roles["days_to_holiday"] == "calendar"
    assert all(spec["missing"] == 0.0 for spec in reference["features"].values())


def test_categories_are_label_shares(reference: dict, jan_oct: pd.DataFrame) -> None:
    for feature, column in (("airline", "OPERA"), ("destination", "destination")):
        spec = reference["features"][feature]
        assert spec["kind"] == "categorical"
        got = dict(zip(spec["categories"], spec["shares"], strict=True))
        assert got == pytest.approx(shares_of(jan_oct[column]), abs=1e-6)
        assert spec["shares"] == sorted(spec["shares"], reverse=True)


def test_discrete_features_get_one_bin_per_value(reference: dict, jan_oct: pd.DataFrame) -> None:
    hour = reference["features"]["hour"]
    assert hour["kind"] == "discrete" and hour["values"] == [float(h) for h in range(24)]
    expected = shares_of(jan_oct["scheduled"].dt.hour)
    assert dict(zip(hour["values"], hour["shares"], strict=True)) == pytest.approx(
        {float(k): v for k, v in expected.items()}, abs=1e-6
    )
    month = reference["features"]["month"]
    assert month["kind"] == "discrete" and month["values"] == [float(m) for m in range(1, 11)]
    assert reference["features"]["international"]["values"] == [0.0, 1.0]


def test_continuous_features_get_deciles(reference: dict) -> None:
    for name in ("minute_of_day", "schedule_density", "flight_delay_rate"):
        spec = reference["features"][name]
        assert spec["kind"] == "numeric"
        assert len(spec["edges"]) == NUMERIC_BINS - 1 == len(spec["shares"]) - 1
        assert spec["edges"] == sorted(spec["edges"])
        assert max(spec["shares"]) < 0.14 and min(spec["shares"]) > 0.06  # about a tenth each
        assert sum(spec["shares"]) == pytest.approx(1.0, abs=1e-5)


def test_known_flights_are_the_training_flight_numbers(
    reference: dict, jan_oct: pd.DataFrame
) -> None:
    keys = {
        f"{airline}|{normalize_flight_number(number)}"
        for airline, number in zip(jan_oct["OPERA"], jan_oct["Vlo-I"], strict=True)
    }
    assert reference["known_flights"] == sorted(keys)


def test_score_reference_is_out_of_fold_per_request_mode(
    reference: dict, jan_oct_model: DelayClassifier
) -> None:
    score = reference["score"]
    assert score["name"] == "p_delay" and score["source"] == "out_of_fold"
    assert score["answer_path"] == ["prediction", 1]
    assert score["positive"] == {"answer_path": ["delayed"], "threshold": jan_oct_model.threshold}
    assert len(score["edges"]) == NUMERIC_BINS - 1
    pooled = (np.array(score["shares"]["full"]) + np.array(score["shares"]["basic"])) / 2
    assert pooled == pytest.approx(np.full(NUMERIC_BINS, 0.1), abs=2e-4)  # deciles of the pool
    for mode in ("full", "basic"):
        assert 0.0 < reference["predicted_positive_rate"][mode] < 1.0
        assert reference["score"]["mean"][mode] == pytest.approx(reference["delay_rate"], abs=0.02)


def test_the_score_reference_uses_the_given_out_of_fold_scores(
    jan_oct_model: DelayClassifier, flights: Flights
) -> None:
    """Not the model's own in-sample scores: whatever out-of-fold scores training passes."""
    columns = columns_from_frame(scheduled_view(flights)).take(np.arange(3000))
    delayed = flights.frame["delayed"].to_numpy()[:3000]
    rng = np.random.default_rng(0)
    oof = {"full": rng.beta(2, 8, 3000), "basic": rng.beta(2, 7, 3000)}
    built = classifier_reference(jan_oct_model, columns, delayed, oof)
    edges = built["score"]["edges"]
    for mode, values in oof.items():
        assert built["score"]["shares"][mode] == pytest.approx(
            shares(numeric_counts(values, edges)).tolist(), abs=1e-6
        )
        flagged = float(np.mean(values >= jan_oct_model.threshold))
        assert built["predicted_positive_rate"][mode] == pytest.approx(flagged, abs=1e-6)
    assert built["rows"] == 3000


def test_the_minutes_model_stores_an_in_sample_reference(fast_models_dir: Path) -> None:
    manifest = json.loads((fast_models_dir / "delay_minutes" / "manifest.json").read_text())
    score = manifest["reference"]["score"]
    assert score["name"] == "expected_minutes" and score["source"] == "in_sample"
    assert score["positive"] == {"above": 15}
    assert score["answer_path"] == ["prediction", "expected"]
    for mode in ("full", "basic"):
        assert sum(score["shares"][mode]) == pytest.approx(1.0, abs=1e-5)
