"""Request options (``?explain=true``, ``"explain": true`` in a batch) are validated like fields."""

from __future__ import annotations

import json
from typing import Any

import pytest

from challenge_neuralworks.environment import DEFAULT_MODELS_DIR
from challenge_neuralworks.handler import create_handler
from challenge_neuralworks.local.samples import SampleRequest, render_event
from challenge_neuralworks.registry import Registry
from challenge_neuralworks.schemas import EXAMPLE_FLIGHT


@pytest.fixture(scope="module")
def handler() -> Any:
    return create_handler(Registry(DEFAULT_MODELS_DIR))


def post(handler: Any, model: str, body: Any, query: dict[str, str] | None = None) -> tuple:
    event = render_event(SampleRequest("x", "POST", f"/inference/{model}", body))
    event["queryStringParameters"] = query
    response = handler(event, None)
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("value", ["yes", "TRUE", "", "x" * 10_000])
def test_an_invalid_explain_value_is_a_400_naming_the_option(handler: Any, value: str) -> None:
    status, body = post(handler, "delay", EXAMPLE_FLIGHT, {"explain": value})
    assert status == 400
    assert (body["error"]["code"], body["error"]["field"]) == ("invalid_value", "explain")
    assert body["error"]["allowed"] == ["true", "false"]
    assert len(body["error"]["message"]) < 200


@pytest.mark.parametrize("name", ["explain ", "Explain", "cache", "x" * 10_000])
def test_a_query_parameter_the_route_does_not_read_is_a_400(handler: Any, name: str) -> None:
    """Strict like the body: an unknown (or misspelt) option is refused, never ignored."""
    status, body = post(handler, "delay", EXAMPLE_FLIGHT, {name: "true"})
    assert status == 400
    assert body["error"]["code"] == "unknown_field"
    assert body["error"]["allowed"] == ["explain"]
    assert len(json.dumps(body)) < 500
    status, _ = post(handler, "delay", EXAMPLE_FLIGHT, {"explain": "true"})
    assert status == 200


def test_a_model_that_cannot_explain_says_so(handler: Any) -> None:
    model = Registry(DEFAULT_MODELS_DIR).get("delay_minutes")
    assert not model.explainable
    status, body = post(handler, "delay_minutes", EXAMPLE_FLIGHT, {"explain": "true"})
    assert status == 400
    assert body["error"]["code"] == "unsupported_option"
    status, body = post(handler, "delay_minutes", {"flights": [EXAMPLE_FLIGHT], "explain": True})
    assert (status, body["error"]["code"]) == (400, "unsupported_option")


@pytest.mark.parametrize("query", [None, {"explain": "false"}, {"explain": "0"}])
def test_explain_off_gives_the_plain_answer(handler: Any, query: dict | None) -> None:
    status, body = post(handler, "delay_minutes", EXAMPLE_FLIGHT, query)
    assert status == 200 and set(body) == {"prediction", "model", "version"}


def test_the_batch_option_must_be_a_boolean(handler: Any) -> None:
    status, body = post(handler, "delay", {"flights": [EXAMPLE_FLIGHT], "explain": "true"})
    assert (status, body["error"]["code"], body["error"]["field"]) == (400, "wrong_type", "explain")


def test_describe_publishes_the_options(handler: Any) -> None:
    event = render_event(SampleRequest("x", "GET", "/models/delay_minutes", None))
    description = json.loads(handler(event, None)["body"])
    assert description["options"] == {"explain": False}
