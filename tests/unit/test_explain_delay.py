"""``DelayClassifier`` with ``Context(explain=True)``: the plain answer plus why, in words.

The model is a fast one trained like ``make train`` and loaded from its artifact (as the handler
loads it), so the explainer is built from stored node covers.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from challenge_neuralworks.data import Flights, scheduled_view
from challenge_neuralworks.delay import explain as wording
from challenge_neuralworks.delay.calibration import IsotonicCalibrator
from challenge_neuralworks.delay.features import flight_key
from challenge_neuralworks.delay.model import DelayClassifier
from challenge_neuralworks.explain import TreeExplainer
from challenge_neuralworks.model import Context
from challenge_neuralworks.registry import Registry
from challenge_neuralworks.schemas import (
    DelayPrediction,
    ScheduledFlight,
    normalize_flight_number,
)

EXPLAIN = Context(explain=True)


def _load(models_dir: Path) -> DelayClassifier:
    model = Registry(models_dir).get("delay")
    assert isinstance(model, DelayClassifier)
    return model


@pytest.fixture(scope="module")
def model(fast_models_dir: Path) -> DelayClassifier:
    return _load(fast_models_dir)


@pytest.fixture(scope="module")
def real_flights(flights: Flights, model: DelayClassifier) -> list[ScheduledFlight]:
    """100 flights of the data set as requests: half with minute and flight number."""
    rows = scheduled_view(flights).iloc[::680].head(100).to_dict("records")
    items = []
    for i, row in enumerate(rows):
        when, richer = row["scheduled"], i % 2 == 0
        items.append(
            ScheduledFlight(
                year=when.year,
                month=when.month,
                day=when.day,
                hour=when.hour,
                minute=when.minute if richer else None,
                airline=row["OPERA"],
                destination=row["destination"],
                flight_type=row["TIPOVUELO"],
                flight_number=normalize_flight_number(str(row["Vlo-I"])) if richer else None,
            )
        )
    return items


def _without_explanation(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "explanation"}


def test_an_explained_answer_is_the_plain_answer_plus_its_explanation(
    model: DelayClassifier, real_flights: list[ScheduledFlight]
) -> None:
    plain = model.predict(real_flights)
    explained = model.predict(real_flights, EXPLAIN)
    assert all("explanation" not in answer for answer in plain)
    assert all("explanation" in answer for answer in explained)
    assert json.dumps([_without_explanation(a) for a in explained]) == json.dumps(plain)


def test_plain_predictions_never_build_nor_call_the_explainer(
    fast_models_dir: Path, real_flights: list[ScheduledFlight], monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = _load(fast_models_dir)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a plain prediction used the explainer")

    monkeypatch.setattr(TreeExplainer, "of", refuse)
    monkeypatch.setattr(TreeExplainer, "shap_values", refuse)
    fresh.predict(real_flights)
    fresh.predict(real_flights[:1], Context())
    assert "explainer" not in vars(fresh)
    monkeypatch.undo()
    fresh.predict(real_flights[:1], EXPLAIN)
    assert isinstance(vars(fresh)["explainer"], TreeExplainer)  # built once, on first use


def test_explanations_validate_and_add_up_to_the_log_odds(
    model: DelayClassifier, real_flights: list[ScheduledFlight]
) -> None:
    for answer in model.predict(real_flights, EXPLAIN):
        DelayPrediction.model_validate(answer)
        explanation = answer["explanation"]
        assert explanation["explains"] == "log_odds"
        contributions = [c["contribution"] for c in explanation["contributions"]]
        assert math.fsum(contributions) + explanation["base_value"] == pytest.approx(
            explanation["log_odds"], abs=1e-9
        )
        p_delay = 1.0 / (1.0 + math.exp(-explanation["log_odds"]))
        assert p_delay == pytest.approx(answer["prediction"][1], abs=1e-6)
        features = [c["feature"] for c in explanation["contributions"]]
        assert sorted(features) == sorted(model.encoder.features)
        sizes = np.abs(contributions)
        assert np.all(sizes[:-1] >= sizes[1:]), "largest contribution first"


def test_the_reasons_are_the_top_three_contributions_in_words(
    model: DelayClassifier, real_flights: list[ScheduledFlight]
) -> None:
    answers = model.predict(real_flights, EXPLAIN)
    said = set()
    for flight, answer in zip(real_flights, answers, strict=True):
        top = answer["explanation"]["contributions"][:3]
        reasons = answer["explanation"]["reasons"]
        assert len(reasons) == 3
        for contribution, reason in zip(top, reasons, strict=True):
            words, number = reason.rsplit(": ", 1)
            assert number == f"{contribution['contribution']:+.2f}"
            said.add(contribution["feature"])
            if contribution["feature"] == "airline":
                assert words == f"airline {flight.airline}"
            if contribution["feature"] == "destination":
                assert words == f"destination {flight.destination}"
            if contribution["feature"] == "hour":
                assert words == f"departure hour {flight.hour}"
    assert len(said) >= 4, "100 flights should not all have the same three reasons"


def test_values_are_in_the_request_terms(
    model: DelayClassifier, real_flights: list[ScheduledFlight]
) -> None:
    for flight, answer in zip(real_flights, model.predict(real_flights, EXPLAIN), strict=True):
        value = {c["feature"]: c["value"] for c in answer["explanation"]["contributions"]}
        assert value["airline"] == flight.airline
        assert value["destination"] == flight.destination
        assert value["international"] is (flight.flight_type == "I")
        assert value["hour"] == flight.hour
        if flight.minute is None:
            assert value["minute_of_day"] is None
        else:
            assert value["minute_of_day"] == f"{flight.hour:02d}:{flight.minute:02d}"
        assert (value["flight_delay_rate"] is None) is (flight.flight_number is None)


def test_missing_and_unknown_values_are_said_in_words(model: DelayClassifier) -> None:
    encoder = model.encoder
    known = next(iter(encoder.flight_rates))
    airline, number = known.split("|")
    flight = ScheduledFlight(2017, 3, 3, 9, None, airline, "La Serena", "N", None)
    describe = wording.WORDS
    assert describe["flight_delay_rate"](encoder, flight, math.nan).words == (
        "no flight number given"
    )
    assert describe["minute_of_day"](encoder, flight, math.nan).words == (
        "no departure minute given"
    )
    with_number = flight._replace(flight_number=number)
    rate = encoder.flight_rates[flight_key(airline, number)]
    assert describe["flight_delay_rate"](encoder, with_number, rate).words == (
        f"flight {number}'s past delay rate {rate:.0%}"
    )
    new = flight._replace(flight_number="99999")
    assert "new to the model" in describe["flight_delay_rate"](encoder, new, 0.18).words
    assert describe["weekday"](encoder, flight, 4.0) == ("Viernes", "departure on a Friday")
    assert describe["days_to_holiday"](encoder, flight, 1.0).words == "1 day to the next holiday"


def test_every_feature_the_encoder_knows_has_words() -> None:
    from challenge_neuralworks.delay.features import ALL_FEATURES

    assert set(ALL_FEATURES) <= set(wording.WORDS)


def test_a_feature_without_words_is_named_by_its_feature_name(
    model: DelayClassifier, real_flights: list[ScheduledFlight], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(wording.WORDS, "hour")
    monkeypatch.delitem(wording.WORDS, "minute_of_day")
    for flight, answer in zip(real_flights, model.predict(real_flights, EXPLAIN), strict=True):
        explanation = answer["explanation"]
        value = {c["feature"]: c["value"] for c in explanation["contributions"]}
        assert value["hour"] == flight.hour
        assert value["minute_of_day"] == (
            None if flight.minute is None else flight.hour * 60 + flight.minute
        )
        for reason in explanation["reasons"]:
            assert not reason.startswith("departure hour")


def test_a_calibrated_model_explains_its_uncalibrated_log_odds(
    model: DelayClassifier, real_flights: list[ScheduledFlight]
) -> None:
    squeeze = IsotonicCalibrator(x=np.array([0.0, 1.0]), y=np.array([0.1, 0.6]))
    calibrated = replace(model, calibrator=squeeze)
    for plain, answer in zip(
        model.predict(real_flights, EXPLAIN), calibrated.predict(real_flights, EXPLAIN), strict=True
    ):
        explanation = answer["explanation"]
        assert explanation["explains"] == "uncalibrated_log_odds"
        assert explanation["contributions"] == plain["explanation"]["contributions"]
        uncalibrated = 1.0 / (1.0 + math.exp(-explanation["log_odds"]))
        assert answer["prediction"][1] == pytest.approx(0.1 + 0.5 * uncalibrated, abs=1e-6)


def test_a_batch_explains_each_flight_as_it_would_alone(
    model: DelayClassifier, real_flights: list[ScheduledFlight]
) -> None:
    batch = model.predict(real_flights[:20], EXPLAIN)
    for flight, answer in zip(real_flights[:20], batch, strict=True):
        (alone,) = model.predict([flight], EXPLAIN)
        assert _without_explanation(alone) == _without_explanation(answer)
        ours, theirs = alone["explanation"], answer["explanation"]
        assert ours["reasons"] == theirs["reasons"]
        assert [c["feature"] for c in ours["contributions"]] == [
            c["feature"] for c in theirs["contributions"]
        ]
        np.testing.assert_allclose(
            [c["contribution"] for c in ours["contributions"]],
            [c["contribution"] for c in theirs["contributions"]],
            rtol=0,
            atol=1e-12,
        )
