"""Issue 12's independent check: a model trained on January-October serves every
November-December flight through the path the API uses (``Model.parse`` then ``predict``, as
the ``predict`` command sends data-file rows), refuses none, warns exactly about what its
training lacked, and gives the same probabilities as the evaluation's frame path."""

from __future__ import annotations

import csv
from typing import Any

import numpy as np
import pytest

from challenge_neuralworks.commands.predict import score
from challenge_neuralworks.data import DEFAULT_DATA_PATH, Flights, scheduled_view
from challenge_neuralworks.delay.build import DelayTrainer
from challenge_neuralworks.delay.features import columns_from_frame
from challenge_neuralworks.delay.model import DelayClassifier
from challenge_neuralworks.schemas import DelayPrediction, normalize_flight_number

pytestmark = pytest.mark.slow

CUTOFF = "2017-10-31"


@pytest.fixture(scope="module")
def october_model(flights: Flights) -> DelayClassifier:
    trainer = DelayTrainer()
    return trainer.fit(flights, config=trainer.fast_config(), train_until=CUTOFF, evaluate=False)


@pytest.fixture(scope="module")
def later_rows() -> list[dict[str, str]]:
    """November-December rows of the data file, as the predict command reads them."""
    with DEFAULT_DATA_PATH.open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["Fecha-I"] > f"{CUTOFF} 23:59:59"]


@pytest.fixture(scope="module")
def scored(october_model: DelayClassifier, later_rows: list[dict[str, str]]) -> list[dict]:
    return score(october_model, later_rows)


def test_no_november_december_flight_is_refused(scored: list[dict[str, Any]]) -> None:
    assert len(scored) == 12_438
    assert [row["error"] for row in scored if row["error"]] == []
    assert all(0.0 <= float(row["p_delay"]) <= 1.0 for row in scored)


def test_warnings_name_exactly_what_training_lacked(
    flights: Flights, scored: list[dict[str, Any]]
) -> None:
    frame = flights.frame
    early = frame[frame["scheduled"] <= f"{CUTOFF} 23:59:59"]
    late = frame[frame["scheduled"] > f"{CUTOFF} 23:59:59"]
    cities = set(early["destination"])
    routes = set(zip(early["OPERA"], early["destination"], strict=True))
    numbers = {
        (a, normalize_flight_number(v)) for a, v in zip(early["OPERA"], early["Vlo-I"], strict=True)
    }
    expected = []
    for airline, city, number in zip(
        late["OPERA"], late["destination"], late["Vlo-I"], strict=True
    ):
        codes = []
        if city not in cities:
            codes.append("unseen_destination")
        elif (airline, city) not in routes:
            codes.append("unseen_route")
        if (airline, normalize_flight_number(number)) not in numbers:
            codes.append("unseen_flight_number")
        expected.append(";".join(codes))
    assert [row["warnings"] for row in scored] == expected
    unseen = {r["Des-I"] for r in scored if "unseen_destination" in r["warnings"]}
    assert unseen == {"SAWH", "EGYP", "SULS", "SLCB", "SARI"}  # Ushuaia, Stanley, ...
    assert sum("unseen_destination" in r["warnings"] for r in scored) == 15


def test_answers_with_warnings_are_valid_answers(
    october_model: DelayClassifier, later_rows: list[dict[str, str]]
) -> None:
    unseen = [row for row in later_rows if row["Des-I"] in {"SAWH", "EGYP"}]
    items = [
        october_model.parse(
            {"FECHA-I": r["Fecha-I"], "OPERA": r["OPERA"], "TIPOVUELO": "I", "DES-I": r["Des-I"]}
        )
        for r in unseen
    ]
    for row, result in zip(unseen, october_model.predict(items), strict=True):
        answer = DelayPrediction.model_validate(result)
        assert [w.code for w in answer.warnings or []] == ["unseen_destination"]
        warning = answer.warnings[0]
        assert warning.field == "SIGLADES" and row["Des-I"] in warning.message
        assert "destination feature is unknown" in warning.message


def test_the_api_path_scores_like_the_evaluation_path(
    flights: Flights, october_model: DelayClassifier, scored: list[dict[str, Any]]
) -> None:
    view = scheduled_view(flights)
    late = (view["scheduled"] > f"{CUTOFF} 23:59:59").to_numpy()
    frame_path = october_model.predict_proba(columns_from_frame(view[late]))
    api_path = np.array([float(row["p_delay"]) for row in scored])
    np.testing.assert_allclose(api_path, frame_path, atol=5e-7, rtol=0)
