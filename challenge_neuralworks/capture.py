"""Prediction capture: one JSON line per prediction, for drift and realised-quality reports.

The Lambda handler builds one :class:`Capture` per process (:meth:`Capture.from_environment`)
and calls :meth:`Capture.record` once per request. Each sampled prediction becomes one
:class:`CaptureRecord` line: in AWS on stdout (the function's log stream, from where a
subscription filter on ``kind`` ships it to S3), locally in ``<dir>/<model>/<date>.jsonl``.
``python -m challenge_neuralworks monitor`` reads the same model back, so writer and reader
share this one definition of a line (see docs/monitoring.md).

What a line holds is chosen to answer "what did the model see and say": the request item as
received, the fields the model resolved from it, the feature values it computed, the answer.
Never headers, API keys or anything else from the event but API Gateway's request id.

Capturing must never fail or slow down a request: sampling is one comparison when off, writes
are one ``write`` per line, and any failure is logged once and swallowed. This module is on the
Lambda's import path: stdlib and pydantic only (numpy comes in through the model's own
:meth:`feature_values`).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Protocol, TextIO

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from challenge_neuralworks import environment

logger = logging.getLogger("challenge_neuralworks.capture")

#: The ``kind`` of every capture line: what the log subscription filter selects on.
KIND: Final[str] = "prediction_capture"
#: Version of the line format; bumped on any change a reader must know about.
SCHEMA: Final[int] = 1
#: Share of predictions captured when ``CNW_CAPTURE_SAMPLE`` is unset or invalid.
DEFAULT_SAMPLE: Final[float] = 1.0

#: ``2017-11-01T09:30:00.123Z``: UTC, millisecond precision.
TIME_PATTERN: Final[str] = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"


class CaptureRecord(BaseModel):
    """One captured prediction (or rejected item): the single definition of a capture line.

    ``answer`` is that item's answer as the client received it: for a single-flight request
    the body without the ``model``/``version`` envelope (they are fields here), for a batch its
    entry of ``predictions``; for a rejected item the error body ``{"error": {...}}`` (then
    ``input`` and ``features`` are empty).
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
        ser_json_inf_nan="null",
    )

    kind: Literal["prediction_capture"] = KIND
    schema_version: Annotated[Literal[1], Field(alias="schema")] = SCHEMA
    time: Annotated[str, Field(pattern=TIME_PATTERN, description="capture time, UTC")]
    request_id: Annotated[
        str | None, Field(description="Lambda context.aws_request_id (None without a context)")
    ]
    apigw_request_id: Annotated[
        str | None, Field(description="API Gateway requestContext.requestId (None if direct)")
    ]
    stage: str | None
    model: str
    version: str
    item: Annotated[dict[str, Any], Field(description="the request item as received")]
    input: Annotated[dict[str, Any], Field(description="validated input fields (flat)")]
    features: Annotated[
        dict[str, float | str | None],
        Field(description="feature -> value used: number, category label, None if missing"),
    ]
    answer: Annotated[dict[str, Any], Field(description="the item's answer as returned")]

    @property
    def rejected(self) -> bool:
        """True for an item the API refused (its answer is an error body)."""
        return "error" in self.answer

    @property
    def date(self) -> str:
        """``YYYY-MM-DD`` of :attr:`time` (UTC)."""
        return self.time[:10]


class CapturableModel(Protocol):
    """What :meth:`Capture.record` needs from a model (the delay family provides it)."""

    name: str
    version: str

    def feature_values(self, items: Sequence[Any], matrix: Any = None) -> list[dict[str, Any]]:
        """Feature name -> value used, per validated item (from ``matrix`` when given: the
        feature rows :meth:`predict` computed for these items)."""
        ...

    def input_values(self, item: Any) -> dict[str, Any]:
        """The validated input fields of one item, as a flat JSON object."""
        ...


class Sink(Protocol):
    """Where capture lines go. ``write`` raises ``OSError`` on failure."""

    def write(self, line: str, *, model: str, date: str) -> None:
        """Write one line (ends with a newline) in a single write call; ``model`` and ``date``
        (``YYYY-MM-DD``, UTC, of the line's ``time``) are the line's, for sinks that route."""
        ...


class StreamSink:
    """One line per record on a text stream (stdout in Lambda: the function's log stream).

    Each line is one ``write`` followed by a flush, as the logging module does for its own
    lines on the same stream, so capture lines and log lines never interleave.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def write(self, line: str, *, model: str, date: str) -> None:
        """Write and flush ``line``."""
        stream = sys.stdout if self._stream is None else self._stream
        stream.write(line)
        stream.flush()


class DirectorySink:
    """``<root>/<model>/<YYYY-MM-DD>.jsonl`` (date of the line's ``time``), appended.

    Each line is a single ``os.write`` on a file descriptor opened with ``O_APPEND``: the
    kernel positions every such write at the end of the file atomically, so several twin
    worker processes can append to the same file without interleaving or losing lines.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._files: dict[str, tuple[str, int]] = {}  # model -> (date, fd)

    def write(self, line: str, *, model: str, date: str) -> None:
        """Append ``line`` to the model's file of ``date`` (opened on the day's first line)."""
        fd = self._descriptor(model, date)
        data = line.encode("utf-8")
        written = os.write(fd, data)
        if written != len(data):  # a regular file only writes short when the disk is full
            raise OSError(f"short write to the capture file ({written} of {len(data)} bytes)")

    def _descriptor(self, model: str, date: str) -> int:
        current = self._files.get(model)
        if current is not None and current[0] == date:
            return current[1]
        directory = self.root / model
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / f"{date}.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if current is not None:
            os.close(current[1])
        self._files[model] = (date, fd)
        return fd

    def close(self) -> None:
        """Close the open files (the process exiting does the same)."""
        for _, fd in self._files.values():
            os.close(fd)
        self._files.clear()


def sample_rate(environ: Mapping[str, str] | None = None) -> float:
    """``CNW_CAPTURE_SAMPLE`` as a share in [0, 1]; an invalid value logs one warning and
    falls back to :data:`DEFAULT_SAMPLE` (a typo in a setting must not take the API down)."""
    value = environment.get(environment.CAPTURE_SAMPLE, environ)
    if value is None:
        return DEFAULT_SAMPLE
    try:
        rate = float(value)
    except ValueError:
        rate = math.nan
    if not 0.0 <= rate <= 1.0:  # also false for NaN
        logger.warning(
            "invalid capture sample rate; using the default",
            extra={"variable": environment.CAPTURE_SAMPLE, "value": value[:32]},
        )
        return DEFAULT_SAMPLE
    return rate


def utc_timestamp(seconds: float) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` of a Unix time."""
    whole, millis = divmod(round(seconds * 1000), 1000)
    return f"{_utc_second(whole)}.{millis:03d}Z"


@functools.lru_cache(maxsize=1)
def _utc_second(whole: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` of a whole Unix second: the requests of one second (all of them
    under load) format it once."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))


def _line(
    common: Mapping[str, Any],
    item: Mapping[str, Any],
    validated: Mapping[str, Any],
    features: Mapping[str, Any],
    answer: Mapping[str, Any],
) -> str:
    """One capture line: the JSON of a :class:`CaptureRecord`, built without the model.

    The values are built here, not received, so they are serialised directly by pydantic-core's
    ``to_json`` (no validation, no model instance): validating and dumping through the model
    cost ~35 µs a line and ``json.dumps`` ~9 µs, against ~2 µs (docs/monitoring.md). NaN and
    infinities become ``null``, as the model's own serialisation writes them. Readers validate
    every line with :class:`CaptureRecord`, and a test checks that what is written validates.
    """
    payload = {
        "kind": KIND,
        "schema": SCHEMA,
        **common,
        "item": item,
        "input": validated,
        "features": features,
        "answer": answer,
    }
    return to_json(payload, inf_nan_mode="null").decode() + "\n"


class Capture:
    """Samples predictions and writes them as :class:`CaptureRecord` lines to a sink.

    Built once per process. ``random`` draws the per-item sampling decision (inject a seeded
    ``random.Random(0).random`` in tests); ``clock`` gives the capture time.
    """

    def __init__(
        self,
        sink: Sink,
        *,
        sample: float = DEFAULT_SAMPLE,
        stage: str | None = None,
        random_draw: Callable[[], float] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0.0 <= sample <= 1.0:
            raise ValueError(f"sample must be between 0 and 1, got {sample!r}")
        self.sink = sink
        self.sample = sample
        self.stage = stage
        self._draw = random.Random().random if random_draw is None else random_draw
        self._clock = clock
        #: Records that could not be built or written (the first failure is logged).
        self.failures = 0

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        stream: TextIO | None = None,
        random_draw: Callable[[], float] | None = None,
    ) -> Capture:
        """Sample rate from ``CNW_CAPTURE_SAMPLE``, stage from ``CNW_STAGE``, and the sink:
        ``CNW_CAPTURE_DIR`` if set (local twin), else ``stream`` (default stdout)."""
        directory = environment.get(environment.CAPTURE_DIR, environ)
        sink: Sink = StreamSink(stream) if directory is None else DirectorySink(directory)
        return cls(
            sink,
            sample=sample_rate(environ),
            stage=environment.get(environment.STAGE, environ),
            random_draw=random_draw,
        )

    @property
    def enabled(self) -> bool:
        """False when the sample rate is 0."""
        return self.sample > 0.0

    def record(
        self,
        *,
        model: CapturableModel,
        event: Mapping[str, Any] | None,
        context: Any,
        items: Sequence[Mapping[str, Any]],
        parsed: Sequence[Any],
        answers: Sequence[Mapping[str, Any]],
        features: Any = None,
    ) -> int:
        """Capture a sample of one request's predictions; returns how many were written.

        ``items`` are the request items as received, ``parsed`` what ``model.parse`` made of
        them, ``answers`` the per-item answers returned, all in the same order; ``features``
        the feature matrix :meth:`predict` computed for them, if it handed one over.
        """
        if self.sample <= 0.0:
            return 0
        try:
            chosen = self._chosen(len(items))
            if not chosen:
                return 0
            matrix = features
            if features is not None and len(chosen) < len(items):
                matrix = features[chosen]
            features = model.feature_values([parsed[i] for i in chosen], matrix)
            common = self._common(model, event, context)
            input_values = model.input_values
            lines = [
                _line(common, items[i], input_values(parsed[i]), values, answers[i])
                for i, values in zip(chosen, features, strict=True)
            ]
        except Exception:  # a capture bug must never fail the request
            self._failed(len(items), "could not build capture records")
            return 0
        return self._write(lines, common)

    def record_rejection(
        self,
        *,
        model: CapturableModel,
        event: Mapping[str, Any] | None,
        context: Any,
        item: Mapping[str, Any],
        error: Mapping[str, Any],
    ) -> int:
        """Capture (sampled) an item the model refused, with the error body returned.

        Optional for the handler: it is how values the model has never seen (a new
        destination) reach the monitor, since such items never get a prediction.
        """
        if self.sample <= 0.0:
            return 0
        try:
            if not self._chosen(1):
                return 0
            common = self._common(model, event, context)
            line = _line(common, item, {}, {}, error)
        except Exception:
            self._failed(1, "could not build a capture record")
            return 0
        return self._write([line], common)

    def _chosen(self, count: int) -> Sequence[int]:
        if self.sample >= 1.0:
            return range(count)
        draw, sample = self._draw, self.sample
        return [i for i in range(count) if draw() < sample]

    def _common(
        self, model: CapturableModel, event: Mapping[str, Any] | None, context: Any
    ) -> dict[str, Any]:
        request_context = (event or {}).get("requestContext") or {}
        return {
            "time": utc_timestamp(self._clock()),
            "request_id": getattr(context, "aws_request_id", None),
            "apigw_request_id": request_context.get("requestId"),
            "stage": self.stage or request_context.get("stage"),
            "model": model.name,
            "version": model.version,
        }

    def _write(self, lines: list[str], common: Mapping[str, Any]) -> int:
        model, date = common["model"], common["time"][:10]
        written = 0
        for line in lines:
            try:
                self.sink.write(line, model=model, date=date)
            except Exception:  # disk full, unwritable directory, closed stream...
                self._failed(len(lines) - written, "could not write capture records")
                return written
            written += 1
        return written

    def _failed(self, count: int, message: str) -> None:
        if self.failures == 0:
            logger.exception(message, extra={"capture_sink": type(self.sink).__name__})
        self.failures += count
