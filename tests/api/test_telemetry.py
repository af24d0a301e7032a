"""Every request emits one EMF line with the model metrics, and every log line carries the ids."""

from __future__ import annotations

import io
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

from challenge_neuralworks.environment import DEFAULT_MODELS_DIR
from challenge_neuralworks.handler import create_handler
from challenge_neuralworks.local.samples import SampleRequest, render_event
from challenge_neuralworks.logs import JsonFormatter
from challenge_neuralworks.registry import Registry
from challenge_neuralworks.schemas import EXAMPLE_FLIGHT
from challenge_neuralworks.telemetry import (
    NAMESPACE,
    EmfWriter,
    Observation,
    RequestMetrics,
    metrics_from_environment,
)

CLOCK = 1_735_689_600.0


class Lines:
    """A sink that keeps the EMF lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, text: str) -> None:
        self.lines.append(text)

    def documents(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def emitted() -> Lines:
    return Lines()


@pytest.fixture
def handler(emitted: Lines) -> Any:
    metrics = RequestMetrics("dev", EmfWriter(emitted), clock=lambda: CLOCK)
    return create_handler(Registry(DEFAULT_MODELS_DIR), metrics=metrics)


def call(handler: Any, method: str, path: str, body: Any = None) -> dict:
    return handler(render_event(SampleRequest("x", method, path, body)), None)


def directive(document: dict, dimensions: list[str]) -> list[str]:
    """The metric names of the directive with exactly ``dimensions`` among its sets."""
    for entry in document["_aws"]["CloudWatchMetrics"]:
        if dimensions in entry["Dimensions"]:
            assert entry["Namespace"] == NAMESPACE
            return [metric["Name"] for metric in entry["Metrics"]]
    raise AssertionError(f"no directive with dimensions {dimensions}: {document['_aws']}")


def test_a_prediction_emits_the_model_metrics(handler: Any, emitted: Lines) -> None:
    response = call(handler, "POST", "/inference/delay", EXAMPLE_FLIGHT)
    answer = json.loads(response["body"])
    (document,) = emitted.documents()
    assert document["_aws"]["Timestamp"] == int(CLOCK * 1000)
    assert directive(document, ["Stage"]) == ["Requests"]
    names = directive(document, ["Stage", "Model"])
    assert set(names) == {
        "Requests",
        "Predictions",
        "ModelLatency",
        "PredictedDelayRate",
        "MeanDelayProbability",
    }
    assert (document["Stage"], document["Model"], document["Predictions"]) == ("dev", "delay", [1])
    assert document["PredictedDelayRate"] == [100.0 if answer["delayed"] else 0.0]
    assert document["MeanDelayProbability"][0] == pytest.approx(answer["prediction"][1], abs=1e-6)
    assert document["ModelLatency"][0] > 0
    assert document["ModelVersion"] == answer["version"]
    dimension_names = {
        name
        for entry in document["_aws"]["CloudWatchMetrics"]
        for dims in entry["Dimensions"]
        for name in dims
    }
    assert "ModelVersion" not in dimension_names  # a property: bounded cardinality


def test_a_batch_counts_flights_and_summarises_them(handler: Any, emitted: Lines) -> None:
    late = {**EXAMPLE_FLIGHT, "HORA-I": 19, "OPERA": "Grupo LATAM", "DIA-I": 22, "MES-I": 12}
    late["DIANOM"] = "Viernes"
    response = call(handler, "POST", "/inference/delay", {"flights": [EXAMPLE_FLIGHT, late] * 2})
    answers = json.loads(response["body"])["predictions"]
    (document,) = emitted.documents()
    assert document["Predictions"] == [4]
    share = 100.0 * sum(a["delayed"] for a in answers) / 4
    assert 0 < share < 100, "the batch should mix delayed and on-time answers"
    assert document["PredictedDelayRate"][0] == pytest.approx(share)
    mean = sum(a["prediction"][1] for a in answers) / 4
    assert document["MeanDelayProbability"][0] == pytest.approx(mean, abs=1e-6)


def test_each_model_summarises_its_own_answers(handler: Any, emitted: Lines) -> None:
    answer = json.loads(call(handler, "POST", "/inference/delay_minutes", EXAMPLE_FLIGHT)["body"])
    (document,) = emitted.documents()
    assert document["Model"] == "delay_minutes"
    assert document["MeanExpectedDelayMinutes"][0] == pytest.approx(
        answer["prediction"]["expected"]
    )
    assert "PredictedDelayRate" not in document


@pytest.mark.parametrize(
    "case",
    [
        ("POST", "/inference/delay", {**EXAMPLE_FLIGHT, "MES-I": 13}, "delay", "out_of_range"),
        ("POST", "/inference/not_a_model", EXAMPLE_FLIGHT, "unknown", "model_not_found"),
        ("GET", "/inference/delay", None, "none", "method_not_allowed"),
    ],
    ids=["invalid_field", "unknown_model", "wrong_method"],
)
def test_a_rejected_request_is_counted_by_code(handler: Any, emitted: Lines, case: tuple) -> None:
    method, path, body, model, code = case
    response = call(handler, method, path, body)
    assert response["statusCode"] >= 400
    (document,) = emitted.documents()
    assert (document["Model"], document["code"], document["RejectedRequests"]) == (model, code, [1])
    assert directive(document, ["Stage", "Model", "code"]) == ["RejectedRequests"]
    assert directive(document, ["Stage", "code"]) == ["RejectedRequests"]
    assert "Predictions" not in document


def test_a_clients_model_name_never_becomes_a_dimension_value(handler: Any, emitted: Lines) -> None:
    for name in ("a" * 40, "b1", "zzz"):
        call(handler, "POST", f"/inference/{name}", EXAMPLE_FLIGHT)
    assert {document["Model"] for document in emitted.documents()} == {"unknown"}


def test_routes_without_a_model_use_the_none_dimension(handler: Any, emitted: Lines) -> None:
    call(handler, "GET", "/health")
    call(handler, "GET", "/models")
    assert [d["Model"] for d in emitted.documents()] == ["none", "none"]
    assert all(d["StatusCode"] == 200 for d in emitted.documents())


def test_the_document_is_what_powertools_would_write(handler: Any, emitted: Lines) -> None:
    """Same EMF as Powertools' Metrics for the same dimensions, metrics and property."""
    call(handler, "POST", "/inference/delay", EXAMPLE_FLIGHT)
    (ours,) = emitted.documents()
    names = directive(ours, ["Stage", "Model"])
    theirs = AmazonCloudWatchEMFProvider(namespace=NAMESPACE)
    theirs.add_dimension(name="Stage", value="dev")
    theirs.add_dimension(name="Model", value="delay")
    units = {m["Name"]: m["Unit"] for e in ours["_aws"]["CloudWatchMetrics"] for m in e["Metrics"]}
    for name in names:
        (value,) = ours[name]
        theirs.add_metric(name=name, unit=units[name], value=value)
    theirs.add_metadata(key="ModelVersion", value=ours["ModelVersion"])
    expected = theirs.serialize_metric_set()
    (their_directive,) = expected["_aws"]["CloudWatchMetrics"]
    our_directive = next(
        e for e in ours["_aws"]["CloudWatchMetrics"] if ["Stage", "Model"] in e["Dimensions"]
    )
    assert our_directive == their_directive
    for key, value in expected.items():
        if key != "_aws":
            assert ours[key] == value, key


def test_metrics_off_writes_nothing_and_a_file_sink_appends(tmp_path: Path) -> None:
    assert not metrics_from_environment({"CNW_METRICS": "off"})._writer.enabled
    path = tmp_path / "emf.jsonl"
    metrics = metrics_from_environment({"CNW_METRICS": str(path), "CNW_STAGE": "prd"})
    handler = create_handler(Registry(DEFAULT_MODELS_DIR), metrics=metrics)
    call(handler, "GET", "/health")
    call(handler, "GET", "/health")
    documents = [json.loads(line) for line in path.read_text().splitlines()]
    assert [d["Stage"] for d in documents] == ["prd", "prd"]


def test_a_broken_metrics_sink_never_fails_the_request() -> None:
    def broken(text: str) -> None:
        raise OSError(28, "No space left on device")

    handler = create_handler(
        Registry(DEFAULT_MODELS_DIR), metrics=RequestMetrics("dev", EmfWriter(broken))
    )
    assert call(handler, "POST", "/inference/delay", EXAMPLE_FLIGHT)["statusCode"] == 200


def test_every_log_line_of_a_request_carries_both_request_ids(
    tmp_path: Path, emitted: Lines
) -> None:
    """The access line, and a line the registry writes while the request runs (a refusal)."""
    shutil.copytree(DEFAULT_MODELS_DIR, tmp_path / "models")
    next((tmp_path / "models" / "delay").glob("*.npz")).write_bytes(b"broken")
    handler = create_handler(
        Registry(tmp_path / "models"), metrics=RequestMetrics("dev", EmfWriter(emitted))
    )
    stream = io.StringIO()
    sink = logging.StreamHandler(stream)
    sink.setFormatter(JsonFormatter())
    root = logging.getLogger("challenge_neuralworks")
    root.addHandler(sink)
    level = root.level
    root.setLevel(logging.INFO)

    class Context:
        aws_request_id = "lambda-request-1"

    event = render_event(SampleRequest("x", "POST", "/inference/delay", EXAMPLE_FLIGHT))
    try:
        assert handler(event, Context())["statusCode"] == 503
    finally:
        root.removeHandler(sink)
        root.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert {line["message"] for line in lines} >= {"model refused", "request"}
    for line in lines:
        assert line["function_request_id"] == "lambda-request-1"
        assert line["apigw_request_id"] == event["requestContext"]["requestId"]
        assert line["cold_start"] is True
    assert Observation().model == "none"
