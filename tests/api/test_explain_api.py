"""``?explain=true`` and a batch's ``"explain": true`` through the real handler and the twin,
serving the committed models: explained answers validate against the published answer models,
add up to the log-odds, and leave the plain answer byte for byte as it was."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest

from challenge_neuralworks.environment import DEFAULT_MODELS_DIR
from challenge_neuralworks.handler import create_handler
from challenge_neuralworks.local.samples import SampleRequest, render_event
from challenge_neuralworks.registry import Registry
from challenge_neuralworks.schemas import (
    EXAMPLE_FLIGHT,
    DelayPrediction,
    batch_response,
    single_response,
)

#: A real flight of the data set with the richer fields (its minute and flight number).
RICHER = {
    "FECHA-I": "2017-12-22 14:45",
    "OPERA": "Grupo LATAM",
    "TIPOVUELO": "I",
    "SIGLADES": "Buenos Aires",
    "VLO-I": "445",
}
CLOCK = 1_735_689_600.0  # a fixed "now": the year of EXAMPLE_FLIGHT does not move


@pytest.fixture(scope="module")
def handler() -> Any:
    return create_handler(Registry(DEFAULT_MODELS_DIR), clock=lambda: CLOCK)


def post(handler: Any, body: Any, query: dict[str, str] | None = None) -> tuple[int, str]:
    event = render_event(SampleRequest("x", "POST", "/inference/delay", body))
    event["queryStringParameters"] = query
    response = handler(event, None)
    return response["statusCode"], response["body"]


def _dumps(value: Any) -> str:  # the handler's own serialisation
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _check(explanation: dict[str, Any], p_delay: float) -> None:
    total = explanation["base_value"] + math.fsum(
        c["contribution"] for c in explanation["contributions"]
    )
    assert total == pytest.approx(explanation["log_odds"], abs=1e-9)
    assert 1.0 / (1.0 + math.exp(-explanation["log_odds"])) == pytest.approx(p_delay, abs=1e-6)
    assert 1 <= len(explanation["reasons"]) <= 3


@pytest.mark.parametrize("flight", [EXAMPLE_FLIGHT, RICHER], ids=["original", "richer"])
@pytest.mark.parametrize("on", ["true", "1"])
def test_explain_true_adds_an_explanation_and_changes_nothing_else(
    handler: Any, flight: dict[str, Any], on: str
) -> None:
    status, plain = post(handler, flight)
    assert status == 200
    status, explained = post(handler, flight, {"explain": on})
    assert status == 200
    body = single_response(DelayPrediction).model_validate_json(explained).model_dump()
    assert body["explanation"] is not None
    answer = json.loads(explained)
    _check(answer.pop("explanation"), answer["prediction"][1])
    assert _dumps(answer) == plain, "the plain part of the answer must be byte for byte the same"


@pytest.mark.parametrize("query", [None, {"explain": "false"}, {"explain": "0"}])
def test_without_explain_the_answer_has_no_explanation(handler: Any, query: Any) -> None:
    status, body = post(handler, EXAMPLE_FLIGHT, query)
    assert status == 200
    assert "explanation" not in json.loads(body)


def test_the_original_contract_says_what_it_left_out(handler: Any) -> None:
    _, body = post(handler, EXAMPLE_FLIGHT, {"explain": "true"})
    values = {c["feature"]: c["value"] for c in json.loads(body)["explanation"]["contributions"]}
    assert values["minute_of_day"] is None
    assert values["flight_delay_rate"] is None
    assert values["airline"] == EXAMPLE_FLIGHT["OPERA"]
    assert values["destination"] == EXAMPLE_FLIGHT["SIGLADES"]
    _, body = post(handler, RICHER, {"explain": "true"})
    values = {c["feature"]: c["value"] for c in json.loads(body)["explanation"]["contributions"]}
    assert values["minute_of_day"] == "14:45"
    assert isinstance(values["flight_delay_rate"], float)


@pytest.mark.parametrize(
    ("body", "query"),
    [
        ({"flights": [EXAMPLE_FLIGHT, RICHER], "explain": True}, None),
        ({"flights": [EXAMPLE_FLIGHT, RICHER]}, {"explain": "true"}),
    ],
    ids=["body-option", "query-option"],
)
def test_a_batch_explains_every_flight(handler: Any, body: Any, query: Any) -> None:
    status, explained = post(handler, body, query)
    assert status == 200
    batch_response(DelayPrediction).model_validate_json(explained)
    predictions = json.loads(explained)["predictions"]
    for flight, answer in zip(body["flights"], predictions, strict=True):
        _check(answer["explanation"], answer["prediction"][1])
        _, alone = post(handler, flight, {"explain": "true"})
        assert json.loads(alone)["explanation"]["reasons"] == answer["explanation"]["reasons"]
    status, plain = post(handler, {"flights": body["flights"]})
    assert json.loads(plain)["predictions"] == [
        {k: v for k, v in answer.items() if k != "explanation"} for answer in predictions
    ]


def test_describe_says_delay_explains(handler: Any) -> None:
    event = render_event(SampleRequest("x", "GET", "/models/delay", None))
    assert json.loads(handler(event, None)["body"])["options"] == {"explain": True}


def test_explained_over_http_through_the_twin(api: httpx.Client) -> None:
    response = api.post("/inference/delay", params={"explain": "true"}, json=RICHER)
    assert response.status_code == 200
    answer = single_response(DelayPrediction).model_validate_json(response.content)
    assert answer.explanation is not None
    assert answer.explanation.explains == "log_odds"
    batch = api.post("/inference/delay", json={"flights": [RICHER], "explain": True})
    assert batch.status_code == 200
    (item,) = batch_response(DelayPrediction).model_validate_json(batch.content).predictions
    assert item.explanation == answer.explanation
