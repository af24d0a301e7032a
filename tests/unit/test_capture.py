"""Prediction capture: line format, sampling, both sinks, and failures that never fail a request."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import random
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from challenge_neuralworks import environment
from challenge_neuralworks.capture import (
    DEFAULT_SAMPLE,
    Capture,
    CaptureRecord,
    DirectorySink,
    StreamSink,
    sample_rate,
    utc_timestamp,
)
from challenge_neuralworks.delay.model import DelayClassifier
from challenge_neuralworks.registry import Registry

REPO = Path(__file__).resolve().parents[2]
SECRET = "k3y-Th4t-Must-N3v3r-L34k-0123456789"
#: 2017-11-01T09:30:00.123Z
NOON_ISH = 1509528600.123


class Context:
    aws_request_id = "lambda-request-1"


EVENT: dict[str, Any] = {
    "resource": "/inference/{model_name}",
    "path": "/inference/delay",
    "httpMethod": "POST",
    "headers": {"x-api-key": SECRET, "Content-Type": "application/json"},
    "multiValueHeaders": {"x-api-key": [SECRET]},
    "requestContext": {
        "requestId": "apigw-request-1",
        "stage": "dev",
        "identity": {"apiKey": SECRET, "apiKeyId": "key-id-1", "sourceIp": "203.0.113.9"},
    },
    "body": "{}",
}


@pytest.fixture(scope="module")
def model() -> DelayClassifier:
    """The committed ``delay`` artifact (its class provides feature_values/input_values)."""
    return Registry(REPO / "models").get("delay")


class Records(logging.Handler):
    """Collects the records of one logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def capture_log() -> Iterator[Records]:
    """Records of the capture logger, whether or not the package logger propagates."""
    logger = logging.getLogger("challenge_neuralworks.capture")
    handler = Records()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def full_item(model: DelayClassifier) -> dict[str, Any]:
    return {
        "FECHA-I": "2017-11-01 09:30",
        "OPERA": model.example()["OPERA"],
        "TIPOVUELO": model.example()["TIPOVUELO"],
        "SIGLADES": model.example()["SIGLADES"],
        "VLO-I": "0226",
    }


def capture_one(
    capture: Capture, model: DelayClassifier, item: dict[str, Any], event: Any = EVENT
) -> int:
    parsed = model.parse(item)
    (answer,) = model.predict([parsed])
    return capture.record(
        model=model, event=event, context=Context(), items=[item], parsed=[parsed], answers=[answer]
    )


def lines_of(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


# ---------------------------------------------------------------------------------- format
def test_a_line_holds_what_the_model_saw_and_said(model: DelayClassifier) -> None:
    stream = io.StringIO()
    capture = Capture(StreamSink(stream), stage="prd", clock=lambda: NOON_ISH)
    item = full_item(model)
    assert capture_one(capture, model, item) == 1
    (line,) = lines_of(stream)
    record = CaptureRecord.model_validate_json(line)
    raw = json.loads(line)
    assert raw["kind"] == "prediction_capture" and raw["schema"] == 1
    assert raw["time"] == "2017-11-01T09:30:00.123Z"
    assert raw["request_id"] == "lambda-request-1"
    assert raw["apigw_request_id"] == "apigw-request-1"
    assert raw["stage"] == "prd"  # the function's setting wins over the event's stage
    assert (raw["model"], raw["version"]) == ("delay", model.version)
    assert raw["item"] == item  # exactly as received, leading zero of VLO-I included
    assert raw["input"] == {
        "scheduled": "2017-11-01T09:30:00",
        "minute_given": True,
        "airline": item["OPERA"],
        "destination": item["SIGLADES"],
        "airport": model.encoder.main_airports[item["SIGLADES"]],  # the city's airport
        "flight_type": item["TIPOVUELO"],
        "flight_number": "226",
    }
    assert raw["answer"] == model.predict([model.parse(item)])[0]
    assert list(raw["features"]) == list(model.encoder.features)
    assert raw["features"]["airline"] == item["OPERA"]
    assert raw["features"]["destination"] == item["SIGLADES"]
    assert raw["features"]["hour"] == 9 and raw["features"]["minute_of_day"] == 570
    assert not record.rejected and record.date == "2017-11-01"


def test_feature_values_are_the_encoded_matrix_with_labels(model: DelayClassifier) -> None:
    items = [model.parse(full_item(model)), model.parse(model.example())]
    values = model.feature_values(items)
    from challenge_neuralworks.delay.features import FlightColumns

    matrix = model.encoder.encode(FlightColumns.from_flights(items))
    for row, encoded in zip(values, matrix, strict=True):
        for position, name in enumerate(model.encoder.features):
            if name in ("airline", "destination"):
                labels = model.encoder.airlines if name == "airline" else model.encoder.destinations
                assert row[name] == labels[int(encoded[position])]
            elif encoded[position] != encoded[position]:
                assert row[name] is None
            else:
                assert row[name] == encoded[position]
    # the original contract gives neither minute nor flight number: missing, as None
    assert values[1]["minute_of_day"] is None and values[1]["flight_delay_rate"] is None
    assert model.input_values(items[1])["minute_given"] is False
    assert model.input_values(items[1])["flight_number"] is None


def test_no_api_key_or_header_reaches_the_line(model: DelayClassifier) -> None:
    stream = io.StringIO()
    capture_one(Capture(StreamSink(stream)), model, full_item(model))
    text = stream.getvalue()
    assert text.count("\n") == 1
    for forbidden in (SECRET, "x-api-key", "apiKey", "key-id-1", "203.0.113.9", "headers"):
        assert forbidden not in text


def test_direct_invocation_without_gateway_or_context(model: DelayClassifier) -> None:
    stream = io.StringIO()
    capture = Capture(StreamSink(stream))
    item = model.example()
    parsed = model.parse(item)
    capture.record(
        model=model,
        event={},
        context=None,
        items=[item],
        parsed=[parsed],
        answers=model.predict([parsed]),
    )
    raw = json.loads(stream.getvalue())
    assert raw["apigw_request_id"] is None and raw["request_id"] is None and raw["stage"] is None


def test_the_record_model_refuses_what_a_reader_must_not_trust() -> None:
    good = {
        "time": "2017-11-01T09:30:00.123Z",
        "request_id": "r",
        "apigw_request_id": None,
        "stage": "dev",
        "model": "delay",
        "version": "v",
        "item": {},
        "input": {},
        "features": {"hour": 9.0, "airline": "Sky Airline", "minute_of_day": None},
        "answer": {"prediction": [0.8, 0.2]},
    }
    assert CaptureRecord.model_validate(good).schema_version == 1
    for bad in (
        {**good, "schema": 2},
        {**good, "kind": "access_log"},
        {**good, "time": "2017-11-01 09:30:00"},
        {**good, "headers": {"x-api-key": SECRET}},
        {key: value for key, value in good.items() if key != "answer"},
    ):
        with pytest.raises(ValidationError):
            CaptureRecord.model_validate(bad)


def test_rejections_carry_the_error_and_the_item(model: DelayClassifier) -> None:
    stream = io.StringIO()
    capture = Capture(StreamSink(stream), clock=lambda: NOON_ISH)
    item = {**model.example(), "SIGLADES": "Punta del Este"}
    error = {"error": {"code": "unknown_value", "field": "SIGLADES", "message": "not known"}}
    assert (
        capture.record_rejection(
            model=model, event=EVENT, context=Context(), item=item, error=error
        )
        == 1
    )
    record = CaptureRecord.model_validate_json(stream.getvalue())
    assert record.rejected and record.item == item and record.answer == error
    assert record.features == {} and record.input == {}


def test_utc_timestamp_has_milliseconds() -> None:
    assert utc_timestamp(0.0) == "1970-01-01T00:00:00.000Z"
    assert utc_timestamp(NOON_ISH) == "2017-11-01T09:30:00.123Z"


# -------------------------------------------------------------------------------- sampling
class Draws:
    """A seeded ``random`` that counts its calls."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return self._random.random()


def batch(model: DelayClassifier, n: int) -> tuple[list[dict], list[Any], list[dict]]:
    items = [{**model.example(), "HORA-I": i % 24} for i in range(n)]
    parsed = [model.parse(item) for item in items]
    return items, parsed, model.predict(parsed)


def test_sampling_is_per_prediction_with_the_injected_draw(model: DelayClassifier) -> None:
    items, parsed, answers = batch(model, 400)
    stream = io.StringIO()
    draws = Draws(7)
    capture = Capture(StreamSink(stream), sample=0.3, random_draw=draws)
    written = capture.record(
        model=model, event=EVENT, context=Context(), items=items, parsed=parsed, answers=answers
    )
    replay = random.Random(7)
    expected = [i for i in range(400) if replay.random() < 0.3]
    assert draws.calls == 400 and written == len(expected)
    hours = [json.loads(line)["item"]["HORA-I"] for line in lines_of(stream)]
    assert hours == [items[i]["HORA-I"] for i in expected]
    assert 0.2 < written / 400 < 0.4


def test_sample_one_captures_all_without_drawing(model: DelayClassifier) -> None:
    items, parsed, answers = batch(model, 5)
    draws, stream = Draws(0), io.StringIO()
    capture = Capture(StreamSink(stream), sample=1.0, random_draw=draws)
    assert (
        capture.record(
            model=model, event=EVENT, context=None, items=items, parsed=parsed, answers=answers
        )
        == 5
    )
    assert draws.calls == 0 and len(lines_of(stream)) == 5


def test_sample_zero_does_no_work() -> None:
    class Untouchable:
        name, version = "delay", "v"

        def feature_values(self, items: Any, matrix: Any = None) -> Any:
            raise AssertionError("feature_values called with capture off")

        def input_values(self, item: Any) -> Any:
            raise AssertionError("input_values called with capture off")

    class NoSink:
        def write(self, line: str, *, model: str, date: str) -> None:
            raise AssertionError("sink used with capture off")

    draws = Draws(0)
    capture = Capture(NoSink(), sample=0.0, random_draw=draws)
    assert not capture.enabled
    assert (
        capture.record(
            model=Untouchable(), event=EVENT, context=None, items=[{}], parsed=[None], answers=[{}]
        )
        == 0
    )
    assert (
        capture.record_rejection(model=Untouchable(), event=EVENT, context=None, item={}, error={})
        == 0
    )
    assert draws.calls == 0 and capture.failures == 0


@pytest.mark.parametrize(
    ("value", "expected"), [("0.25", 0.25), ("0", 0.0), ("1", 1.0), ("1.0", 1.0)]
)
def test_sample_rate_from_the_environment(value: str, expected: float) -> None:
    assert sample_rate({environment.CAPTURE_SAMPLE: value}) == expected


@pytest.mark.parametrize("value", ["abc", "1.5", "-0.1", "nan", "inf", "0,5"])
def test_an_invalid_sample_rate_falls_back_with_one_warning(
    value: str, capture_log: Records
) -> None:
    capture = Capture.from_environment({environment.CAPTURE_SAMPLE: value}, stream=io.StringIO())
    assert capture.sample == DEFAULT_SAMPLE
    warnings = [r for r in capture_log.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and environment.CAPTURE_SAMPLE in str(warnings[0].__dict__)


def test_unset_sample_rate_is_the_default() -> None:
    assert sample_rate({}) == DEFAULT_SAMPLE == 1.0


def test_from_environment_picks_the_sink(tmp_path: Path) -> None:
    stream = io.StringIO()
    on_stdout = Capture.from_environment({environment.STAGE: "dev"}, stream=stream)
    assert isinstance(on_stdout.sink, StreamSink) and on_stdout.stage == "dev"
    to_files = Capture.from_environment({environment.CAPTURE_DIR: str(tmp_path)})
    assert isinstance(to_files.sink, DirectorySink) and to_files.sink.root == tmp_path


# ----------------------------------------------------------------------------------- sinks
class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def test_stream_sink_writes_each_line_in_one_call(model: DelayClassifier) -> None:
    items, parsed, answers = batch(model, 3)
    stream = CountingStream()
    Capture(StreamSink(stream)).record(
        model=model, event=EVENT, context=None, items=items, parsed=parsed, answers=answers
    )
    assert len(stream.writes) == 3
    for text in stream.writes:
        assert text.endswith("\n") and text.count("\n") == 1
        CaptureRecord.model_validate_json(text)


def test_directory_sink_appends_per_model_and_day(model: DelayClassifier, tmp_path: Path) -> None:
    now = [NOON_ISH]
    first = Capture(DirectorySink(tmp_path), clock=lambda: now[0])
    capture_one(first, model, full_item(model))
    second = Capture(DirectorySink(tmp_path), clock=lambda: now[0])  # another process, same day
    capture_one(second, model, full_item(model))
    now[0] += 86_400  # next UTC day: a new file
    capture_one(second, model, model.example())
    day_one = tmp_path / "delay" / "2017-11-01.jsonl"
    day_two = tmp_path / "delay" / "2017-11-02.jsonl"
    assert len(day_one.read_text().splitlines()) == 2
    assert len(day_two.read_text().splitlines()) == 1
    assert sorted(p.name for p in (tmp_path / "delay").iterdir()) == [day_one.name, day_two.name]
    first.sink.close()
    second.sink.close()


WRITER = textwrap.dedent(
    """
    import sys
    from challenge_neuralworks.capture import Capture, DirectorySink

    class Model:
        name, version = "delay", "v1"
        def feature_values(self, items, matrix=None):
            return [{"hour": float(i)} for i in items]
        def input_values(self, item):
            return {"n": item}

    writer, count, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    capture = Capture(DirectorySink(root), clock=lambda: 1509528600.0)
    padding = "x" * 6000  # lines larger than a pipe buffer and than many write chunks
    for n in range(count):
        item = {"writer": writer, "n": n, "padding": padding}
        assert capture.record(model=Model(), event=None, context=None,
                              items=[item], parsed=[n], answers=[{"ok": True}]) == 1
    """
)


def test_several_processes_append_whole_lines(tmp_path: Path) -> None:
    writers, count = 4, 300
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(w), str(count), str(tmp_path)])
        for w in range(writers)
    ]
    deadline = time.monotonic() + 300
    for process in processes:
        assert process.wait(timeout=max(1.0, deadline - time.monotonic())) == 0
    lines = (tmp_path / "delay" / "2017-11-01.jsonl").read_text().splitlines()
    assert len(lines) == writers * count
    seen = {(r.item["writer"], r.item["n"]) for r in map(CaptureRecord.model_validate_json, lines)}
    assert seen == {(str(w), n) for w in range(writers) for n in range(count)}


# -------------------------------------------------------------------------------- failures
def test_an_unwritable_directory_never_fails_the_request(
    model: DelayClassifier, tmp_path: Path, capture_log: Records
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    capture = Capture(DirectorySink(blocker / "captures"))
    assert capture_one(capture, model, full_item(model)) == 0
    assert capture_one(capture, model, full_item(model)) == 0
    errors = [r for r in capture_log.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and capture.failures == 2


def test_a_full_disk_never_fails_the_request(model: DelayClassifier, capture_log: Records) -> None:
    full = Path("/dev/full")
    if not full.exists():
        pytest.skip("/dev/full is not available on this system")
    stream = full.open("w")
    try:
        capture = Capture(StreamSink(stream))
        items, parsed, answers = batch(model, 3)
        for _ in range(2):
            written = capture.record(
                model=model, event=EVENT, context=None, items=items, parsed=parsed, answers=answers
            )
            assert written == 0
        errors = [r for r in capture_log.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and capture.failures == 6
    finally:
        with contextlib.suppress(OSError):  # the buffered bytes still cannot be flushed
            stream.close()


def test_a_model_that_cannot_describe_its_features_never_fails_the_request(
    capture_log: Records,
) -> None:
    class Broken:
        name, version = "delay", "v"

        def feature_values(self, items: Any, matrix: Any = None) -> Any:
            raise RuntimeError("bug")

        def input_values(self, item: Any) -> Any:
            return {}

    stream = io.StringIO()
    capture = Capture(StreamSink(stream))
    assert (
        capture.record(
            model=Broken(), event=EVENT, context=None, items=[{}], parsed=[None], answers=[{}]
        )
        == 0
    )
    assert stream.getvalue() == "" and capture.failures == 1
    assert len([r for r in capture_log.records if r.levelno >= logging.ERROR]) == 1
