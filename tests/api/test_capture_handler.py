"""The handler captures each prediction (sampled) as one CaptureRecord line, and refusals of
unknown values too; the features are the ones predict used, never computed twice."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from challenge_neuralworks.capture import Capture, CaptureRecord, StreamSink
from challenge_neuralworks.environment import DEFAULT_MODELS_DIR
from challenge_neuralworks.handler import create_handler
from challenge_neuralworks.local.samples import SampleRequest, render_event
from challenge_neuralworks.registry import Registry
from challenge_neuralworks.schemas import EXAMPLE_FLIGHT
from challenge_neuralworks.telemetry import EmfWriter, RequestMetrics

REGISTRY = Registry(DEFAULT_MODELS_DIR)


def serve(sample: float, body: Any, model: str = "delay") -> tuple[dict, list[CaptureRecord]]:
    stream = io.StringIO()
    handler = create_handler(
        REGISTRY,
        metrics=RequestMetrics("dev", EmfWriter(None)),
        capture=Capture(StreamSink(stream), sample=sample, stage="dev"),
    )
    event = render_event(SampleRequest("x", "POST", f"/inference/{model}", body))
    response = handler(event, None)
    lines = stream.getvalue().splitlines()
    assert all("local-dev-key" not in line and "x-api-key" not in line for line in lines)
    return response, [CaptureRecord.model_validate_json(line) for line in lines]


def test_a_prediction_is_captured_with_the_features_predict_used() -> None:
    response, (record,) = serve(1.0, EXAMPLE_FLIGHT)
    answer = json.loads(response["body"])
    assert record.item == EXAMPLE_FLIGHT
    assert record.answer == {k: v for k, v in answer.items() if k not in ("model", "version")}
    assert (record.model, record.version, record.stage) == ("delay", answer["version"], "dev")
    model = REGISTRY.get("delay")
    parsed = model.parse(EXAMPLE_FLIGHT)
    assert record.features == model.feature_values([parsed])[0]  # re-encoded: the same values
    assert record.input == model.input_values(parsed)


def test_a_batch_is_captured_item_by_item_in_order() -> None:
    flights = [EXAMPLE_FLIGHT, {**EXAMPLE_FLIGHT, "HORA-I": 19}, {**EXAMPLE_FLIGHT, "HORA-I": 6}]
    response, records = serve(1.0, {"flights": flights}, "delay_minutes")
    answers = json.loads(response["body"])["predictions"]
    assert [r.item for r in records] == flights
    assert [r.answer for r in records] == answers


def test_a_refused_unknown_value_is_captured_as_a_rejection() -> None:
    response, (record,) = serve(1.0, {**EXAMPLE_FLIGHT, "SIGLADES": "Atlantis"})
    assert response["statusCode"] == 400
    assert record.rejected
    assert record.answer == json.loads(response["body"])
    assert record.item["SIGLADES"] == "Atlantis"


@pytest.mark.parametrize("body", [{**EXAMPLE_FLIGHT, "MES-I": 13}, {"flights": [{"x": 1}]}])
def test_malformed_requests_are_not_captured(body: Any) -> None:
    response, records = serve(1.0, body)
    assert response["statusCode"] == 400
    assert records == []


def test_capture_off_writes_nothing() -> None:
    response, records = serve(0.0, EXAMPLE_FLIGHT)
    assert response["statusCode"] == 200 and records == []
