"""Property-based fuzzing of ``lambda_handler``: nothing a client (or a bad invoke) sends is a 5xx.

Straight into the handler, in process, so that hypothesis can try thousands of inputs quickly:
arbitrary JSON bodies, near-valid flights with one thing wrong, batches, huge and deeply nested
values, raw text, base64 bodies and malformed events. Every answer must be a well-formed proxy
response below 500; every 4xx must carry the one error envelope; every 200 must be a sane
prediction.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from challenge_neuralworks import handler
from challenge_neuralworks.local.samples import EXAMPLE_FLIGHT, SampleRequest, render_event
from challenge_neuralworks.model import discover
from challenge_neuralworks.schemas import validate_answer

ERROR_MEMBERS = {"code", "message", "field", "allowed", "suggestions"}
FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities too: json.loads accepts them
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
models = st.sampled_from(["delay", "delay_minutes", "no_such_model"])


@pytest.fixture(autouse=True, scope="module")
def _quiet_access_log(served_models: list[str]) -> Iterator[None]:
    """Thousands of requests: keep the access log out, keep errors (a 500 logs one)."""
    logger = logging.getLogger("challenge_neuralworks")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


def _event(model: str = "delay", body: str | None = None, **changes: Any) -> dict[str, Any]:
    event = render_event(SampleRequest("fuzz", "POST", f"/inference/{model}", EXAMPLE_FLIGHT))
    event["body"] = body
    event.update(changes)
    return event


def assert_well_formed(response: Any) -> tuple[int, Any]:
    """A proxy response below 500 with a JSON body; 4xx bodies are the error envelope."""
    assert isinstance(response, dict)
    assert set(response) == {"statusCode", "headers", "body", "isBase64Encoded"}
    status = response["statusCode"]
    assert isinstance(status, int)
    assert status < 500, response["body"]
    assert response["headers"]["Content-Type"] == "application/json"
    body = json.loads(response["body"])
    if status >= 400:
        assert set(body) == {"error"}, body
        error = body["error"]
        assert set(error) <= ERROR_MEMBERS, error
        assert isinstance(error["code"], str) and error["code"]
        assert isinstance(error["message"], str) and error["message"]
        assert isinstance(error.get("field", ""), str)
        assert isinstance(error.get("allowed", []), list)
    return status, body


def assert_sane_prediction(body: dict[str, Any]) -> None:
    """A 200 from /inference: a valid answer of the model that gave it (the published response
    models check that probabilities sum to 1, the decision follows the threshold, p90 >= p50)."""
    validate_answer(discover()[body["model"]].output_model, body)


def call(event: Any) -> tuple[int, Any]:
    """Invoke the handler and check the answer's shape."""
    status, body = assert_well_formed(handler.lambda_handler(event, None))
    if status == 200 and isinstance(event, dict) and event.get("httpMethod") == "POST":
        assert_sane_prediction(body)
    return status, body


def flights() -> st.SearchStrategy[dict[str, Any]]:
    """Flights that are mostly plausible: each field is valid, junk, or left out."""
    allowed = handler.registry.get("delay").allowed_values()

    def field(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(valid, valid, valid, json_values)

    return st.fixed_dictionaries(
        {},
        optional={
            "DIA-I": field(st.integers(-2, 33)),
            "MES-I": field(st.integers(-1, 14)),
            "HORA-I": field(st.integers(-1, 25)),
            "MIN-I": field(st.integers(-1, 61)),
            "DIANOM": field(st.sampled_from(allowed["DIANOM"])),
            "OPERA": field(st.sampled_from(allowed["OPERA"])),
            "TIPOVUELO": field(st.sampled_from(["I", "N"])),
            "SIGLADES": field(st.sampled_from(allowed["SIGLADES"])),
            "VLO-I": field(st.from_regex(r"\A[0-9]{1,6}[A-Za-z]?\Z")),
            "FECHA-I": field(
                st.datetimes().map(lambda d: d.strftime("%Y-%m-%d %H:%M"))
                | st.from_regex(r"\A\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}\Z")
            ),
            "DIANON": json_values,  # a typo of DIANOM
        },
    )


@FUZZ
@given(body=json_values, model=models)
def test_arbitrary_json_bodies(body: Any, model: str) -> None:
    call(_event(model, json.dumps(body)))


@FUZZ
@given(data=st.data(), model=models)
def test_near_valid_flights(data: st.DataObject, model: str) -> None:
    flight = data.draw(flights())
    status, _ = call(_event(model, json.dumps(flight)))
    assert status in (200, 400, 404)


@FUZZ
@given(data=st.data(), extra=st.dictionaries(st.text(max_size=6), json_values, max_size=2))
def test_batches(data: st.DataObject, extra: dict[str, Any]) -> None:
    items = data.draw(st.lists(flights() | json_values, max_size=6))
    status, body = call(_event("delay", json.dumps({"flights": items, **extra})))
    if status == 200:
        assert len(body["predictions"]) == len(items)
    else:
        assert status in (400, 413)


@FUZZ
@given(
    depth=st.integers(1, 5_000),
    bracket=st.sampled_from(['[{"a": ', "[", '{"flights": ']),
    digits=st.integers(1, 6_000),
    length=st.integers(0, 200_000),
)
def test_huge_and_nested_values(depth: int, bracket: str, digits: int, length: int) -> None:
    call(_event("delay", bracket * depth))
    flight = json.dumps({**EXAMPLE_FLIGHT, "MES-I": 0}).replace(
        '"MES-I": 0', '"MES-I": ' + "9" * digits
    )
    call(_event("delay", flight))
    call(_event("delay", json.dumps({**EXAMPLE_FLIGHT, "OPERA": "x" * length})))


@FUZZ
@given(text=st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_raw_text_bodies(text: str) -> None:
    call(_event("delay", text))


@FUZZ
@given(payload=st.binary(max_size=300), encode=st.booleans(), flag=json_values)
def test_base64_bodies(payload: bytes, encode: bool, flag: Any) -> None:
    valid_json = json.dumps(EXAMPLE_FLIGHT).encode()
    for data in (payload, valid_json):
        body = base64.b64encode(data).decode() if encode else data.decode("latin-1")
        call(_event("delay", body, isBase64Encoded=flag))


EVENT_KEYS = (
    "httpMethod",
    "path",
    "resource",
    "pathParameters",
    "headers",
    "body",
    "isBase64Encoded",
    "requestContext",
    "queryStringParameters",
    "multiValueHeaders",
)


@FUZZ
@given(
    replacements=st.dictionaries(st.sampled_from(EVENT_KEYS), json_values, max_size=4),
    removed=st.sets(st.sampled_from(EVENT_KEYS), max_size=3),
)
def test_malformed_events(replacements: dict[str, Any], removed: set[str]) -> None:
    event = _event("delay", json.dumps(EXAMPLE_FLIGHT))
    for key in removed:
        event.pop(key, None)
    event.update(copy.deepcopy(replacements))
    call(event)


@FUZZ
@given(event=json_values)
def test_events_that_are_not_proxy_events(event: Any) -> None:
    status, body = call(event)
    if not isinstance(event, dict) or not isinstance(event.get("httpMethod"), str):
        assert (status, body["error"]["code"]) == (400, "invalid_event")


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
    | st.text(max_size=8),
    path=st.sampled_from(["/health", "/models", "/models/delay", "/inference/delay", "/"])
    | st.text(max_size=30),
)
def test_any_method_on_any_path(method: str, path: str) -> None:
    event = _event("delay", json.dumps(EXAMPLE_FLIGHT), httpMethod=method, path=path)
    event["resource"] = path
    event["pathParameters"] = None
    status, _ = call(event)
    assert status in (200, 400, 404, 405)
