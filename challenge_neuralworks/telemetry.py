"""Model metrics as CloudWatch Embedded Metric Format (EMF): one JSON line per request.

In Lambda the line goes to stdout, so to the function's log group, where CloudWatch turns it into
metrics (no API call, no extra latency); the local twin prints the same lines, or writes them to a
file, or drops them (``CNW_METRICS``: ``stdout`` (default), ``off`` or a file path).

Namespace ``challenge_neuralworks``; metrics and dimension sets:

* ``[Stage]``: ``Requests``;
* ``[Stage, Model]``: ``Requests``, ``Predictions`` (flights), ``ModelLatency`` (ms of
  validation + prediction) and the model's own summary of its answers
  (:meth:`~challenge_neuralworks.model.Model.summary_metrics`: ``PredictedDelayRate`` and
  ``MeanDelayProbability`` for ``delay``);
* ``[Stage, Model, code]`` and ``[Stage, code]``: ``RejectedRequests`` (by error code).

``ModelVersion`` is a property, not a dimension: versions change at every retrain and each
dimension value is a new (billed) metric. ``Model`` is a registered model name, ``none`` for
routes without a model or ``unknown`` for a name no model has, so no client can create
dimension values.

Why not Powertools' ``Metrics``: measured here, its ``add_*`` + ``flush_metrics`` cost 94-140 µs
per request against 22-25 µs for this writer (same run, ``docs/architecture.md``), which alone
would exceed the 1.25x budget of metrics on over metrics off. The output is the same EMF
document (a test compares it with Powertools' serialisation of the same metrics).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic_core import to_json

from challenge_neuralworks import environment

NAMESPACE: Final[str] = "challenge_neuralworks"
#: Dimension value of requests that concern no model (``/health``, ``/models``).
NO_MODEL: Final[str] = "none"
#: Dimension value of a model name that no registered model has.
UNKNOWN_MODEL: Final[str] = "unknown"

#: metric name -> CloudWatch unit, for every metric this service emits.
UNITS: Final[dict[str, str]] = {
    "Requests": "Count",
    "Predictions": "Count",
    "RejectedRequests": "Count",
    "ModelLatency": "Milliseconds",
    "PredictedDelayRate": "Percent",
    "MeanDelayProbability": "None",
    "MeanExpectedDelayMinutes": "None",
}


@dataclass
class Observation:
    """What one request did, filled in while it is served (metrics and logs read it)."""

    model: str = NO_MODEL
    version: str | None = None
    predictions: int = 0
    model_ms: float | None = None
    summary: dict[str, float] = field(default_factory=dict)
    status: int = 0
    code: str | None = None


Sink = Callable[[str], object]


class EmfWriter:
    """Writes EMF documents: one JSON line each, with one ``sink`` call (lines never
    interleave). ``sink`` is ``None`` when metrics are off."""

    def __init__(self, sink: Sink | None) -> None:
        self._sink = sink

    @property
    def enabled(self) -> bool:
        """Whether anything is written at all (``CNW_METRICS=off`` makes this a no-op)."""
        return self._sink is not None

    def document(
        self,
        directives: Sequence[tuple[Sequence[Sequence[str]], Sequence[str]]],
        values: Mapping[str, Any],
        *,
        timestamp_ms: int,
    ) -> dict[str, Any]:
        """The EMF document: ``directives`` are (dimension sets, metric names) pairs, ``values``
        every dimension, metric and property value. As Powertools writes it: standard (60 s)
        resolution left implicit, each metric value a one-element list of floats."""
        return {
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [
                    {
                        "Namespace": NAMESPACE,
                        "Dimensions": [list(dimensions) for dimensions in dimension_sets],
                        "Metrics": [{"Name": name, "Unit": UNITS[name]} for name in names],
                    }
                    for dimension_sets, names in directives
                ],
            },
            **values,
        }

    def write(self, document: Mapping[str, Any]) -> None:
        """Serialise and write one document (a failing stream never fails the request)."""
        self.write_line(json.dumps(document, separators=(",", ":")) + "\n")

    def write_line(self, line: str) -> None:
        """Write one serialised document (a failing stream never fails the request)."""
        if self._sink is None:
            return
        try:
            self._sink(line)
        except (OSError, ValueError):  # a closed or full sink: metrics are not worth a 5xx
            return


class RequestMetrics:
    """The per-request EMF line of one stage."""

    def __init__(
        self, stage: str, writer: EmfWriter, clock: Callable[[], float] = time.time
    ) -> None:
        self.stage = stage
        self._writer = writer
        self._clock = clock
        #: The serialised ``CloudWatchMetrics`` of each request shape seen (a handful: one per
        #: model and outcome), so a request serialises only its values.
        self._directives: dict[tuple[tuple[str, ...], bool], str] = {}

    def record(self, observation: Observation) -> None:
        """Emit the metrics of one finished request."""
        if not self._writer.enabled:
            return
        values: dict[str, Any] = {
            "Stage": self.stage,
            "Model": observation.model,
            "Requests": [1.0],
        }
        model_metrics = ["Requests"]
        if observation.predictions:
            values["Predictions"] = [float(observation.predictions)]
            model_metrics.append("Predictions")
        if observation.model_ms is not None:
            values["ModelLatency"] = [round(observation.model_ms, 3)]
            model_metrics.append("ModelLatency")
        for name, value in observation.summary.items():
            values[name] = [float(value)]
            model_metrics.append(name)
        rejected = observation.code is not None and observation.status >= 400
        if rejected:
            values["code"] = observation.code
            values["RejectedRequests"] = [1.0]
        if observation.version is not None:
            values["ModelVersion"] = observation.version
        values["StatusCode"] = observation.status
        shape = (tuple(model_metrics), rejected)
        directives = self._directives.get(shape)
        if directives is None:
            directives = self._directives[shape] = json.dumps(
                self._writer.document(_directives(*shape), {}, timestamp_ms=0)["_aws"][
                    "CloudWatchMetrics"
                ],
                separators=(",", ":"),
            )
        timestamp_ms = int(self._clock() * 1000)
        self._writer.write_line(
            f'{{"_aws":{{"Timestamp":{timestamp_ms},"CloudWatchMetrics":{directives}}},'
            + to_json(values, inf_nan_mode="null").decode()[1:]
            + "\n"
        )


def _directives(
    model_metrics: tuple[str, ...], rejected: bool
) -> list[tuple[Sequence[Sequence[str]], Sequence[str]]]:
    """The dimension sets and metric names of one request shape."""
    directives: list[tuple[Sequence[Sequence[str]], Sequence[str]]] = [
        ((("Stage",),), ("Requests",)),
        ((("Stage", "Model"),), model_metrics),
    ]
    if rejected:
        directives.append(((("Stage", "Model", "code"), ("Stage", "code")), ("RejectedRequests",)))
    return directives


def metrics_from_environment(
    environ: Mapping[str, str] | None = None, clock: Callable[[], float] = time.time
) -> RequestMetrics:
    """The stage's metrics, written where ``$CNW_METRICS`` says (stdout, off, or a file)."""
    destination = (environment.get(environment.METRICS, environ) or "stdout").strip()
    sink: Sink | None
    if destination == "off":
        sink = None
    elif destination == "stdout":
        sink = _stdout
    else:
        sink = open(destination, "a", encoding="utf-8", buffering=1).write  # noqa: SIM115
    return RequestMetrics(environment.stage(environ), EmfWriter(sink), clock)


def _stdout(text: str) -> None:
    """Write to ``sys.stdout`` as it is at the time (tests and the twin may swap it)."""
    sys.stdout.write(text)
