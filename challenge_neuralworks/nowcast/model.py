"""``delay_nowcast``: P(delay > 15 min) sharpened by the departures reported so far.

The model composes the delay family rather than copying it: the request, its validation and the
schedule-time features are ``delay``'s
(:class:`~challenge_neuralworks.delay.model.DelayFamilyModel`,
:class:`~challenge_neuralworks.delay.features.FeatureEncoder`), and a second tree ensemble reads
those features plus the live ones (:mod:`.live`) computed as of the prediction time. Trained on
simulated lead times (0.5 to 24 hours before the scheduled departure, the lead being a feature),
one model serves every lead.

Each answer says what it knew (:class:`~challenge_neuralworks.schemas.NowcastContext`). Without
live context (no store, nothing reported in the last 24 hours, a flight more than 24 hours
ahead) it answers with its schedule-only ensemble, ``delay``'s recipe fitted on the same rows,
and says so. Like every model here, the instance holds numpy arrays and plain values only.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, NamedTuple

import numpy as np

from challenge_neuralworks.artifacts import artifact_type
from challenge_neuralworks.delay.features import FeatureEncoder, FlightColumns
from challenge_neuralworks.delay.model import DelayClassifier, DelayFamilyModel, keep_features
from challenge_neuralworks.departures.feed import DepartureSnapshot
from challenge_neuralworks.departures.records import local_time
from challenge_neuralworks.ensemble import TreeEnsemble, sigmoid
from challenge_neuralworks.model import Context
from challenge_neuralworks.nowcast.live import (
    DAY,
    HOUR,
    DepartureLog,
    LiveEncoder,
    LiveRows,
    scheduled_seconds,
    seconds_of,
    time_of,
)
from challenge_neuralworks.schemas import NowcastPrediction, ScheduledFlight

#: How long ago a flight may have been scheduled and still get live context: the handler reads
#: this much more than the features' lookback (answers for flights that should have left).
PAST_SLACK: Final[int] = DAY
#: Windows the answer's ``context`` summarises (seconds).
SUMMARY_WINDOWS: Final[dict[str, int]] = {"scl_last_3h": 3 * HOUR, "airline_last_6h": 6 * HOUR}


class _Plan(NamedTuple):
    """Per flight: prediction time, lead, and why there is no live context (``None``: live);
    ``rows`` are every flight's windows as of its prediction time (``None`` without a log),
    shared by the plan, the live features and the answer's context."""

    scheduled: np.ndarray  # local seconds
    as_of: np.ndarray  # local seconds
    reason: list[str | None]
    log: DepartureLog | None
    rows: LiveRows | None


@artifact_type
@dataclass(eq=False)
class NowcastClassifier(DelayFamilyModel):
    """P(departure more than 15 minutes late) from the schedule and the departures so far."""

    name: ClassVar[str] = "delay_nowcast"
    output_model: ClassVar[type[NowcastPrediction]] = NowcastPrediction

    encoder: FeatureEncoder  # schedule-time features (delay's)
    schedule: TreeEnsemble  # schedule features only: the answer without live context
    schedule_threshold: float
    live: LiveEncoder
    ensemble: TreeEnsemble  # schedule features + live features
    threshold: float
    min_lead_hours: float
    max_lead_hours: float
    destination_cities: dict[str, str]  # scheduled ICAO -> SIGLADES, for data-file departures
    version: str
    metadata: dict[str, Any]

    def __post_init__(self) -> None:
        self.threshold = float(self.threshold)
        self.schedule_threshold = float(self.schedule_threshold)

    @property
    def departures_lookback(self) -> float:  # type: ignore[override]
        """Seconds of departures the handler reads: the features' lookback plus
        :data:`PAST_SLACK` (flights scheduled up to a day ago keep their live context)."""
        return float(self.live.lookback + PAST_SLACK)

    # ------------------------------------------------------------------ predicting
    def predict_proba(
        self, flights: FlightColumns, context: Context | None = None
    ) -> tuple[np.ndarray, _Plan]:
        """P(delay) of each flight and the plan that produced it (live or schedule-only)."""
        context = context or Context()
        X = self.encoder.encode(flights)
        keep_features(context, X)  # a capture records the schedule features, as for delay
        plan = self._plan(flights, context)
        live = np.array([reason is None for reason in plan.reason])
        if plan.rows is not None and live.all():  # the common case: no subsets to take
            features = self.live.encode_rows(plan.rows)
            return sigmoid(self.ensemble.raw(np.hstack([X, features]))), plan
        probability = np.empty(len(flights))
        schedule_only = np.flatnonzero(~live)
        if schedule_only.size:
            probability[schedule_only] = sigmoid(self.schedule.raw(X[schedule_only]))
        if live.any():
            rows = np.flatnonzero(live)
            features = self.live.encode(
                plan.log, flights.take(rows), plan.scheduled[rows], plan.as_of[rows]
            )
            probability[rows] = sigmoid(self.ensemble.raw(np.hstack([X[rows], features])))
        return probability, plan

    def predict(
        self, items: Sequence[ScheduledFlight], context: Context | None = None
    ) -> list[dict[str, Any]]:
        """``delay``'s answer (``prediction``, ``delayed``, ``threshold``) plus ``context``."""
        flights = FlightColumns.from_flights(items)
        probability, plan = self.predict_proba(flights, context)
        summaries = self._summaries(flights, plan)
        answers = []
        for i, p in enumerate(probability.tolist()):
            live = plan.reason[i] is None
            threshold = round(self.threshold if live else self.schedule_threshold, 6)
            answers.append(
                {
                    "prediction": [round(1.0 - p, 6), round(p, 6)],
                    "delayed": p >= threshold,
                    "threshold": threshold,
                    "context": {
                        "mode": "live" if live else "schedule_only",
                        "reason": plan.reason[i],
                        "as_of": _as_of_text(int(plan.as_of[i])),
                        "lead_hours": round(float(plan.scheduled[i] - plan.as_of[i]) / HOUR, 3),
                        **summaries[i],
                    },
                }
            )
        return answers

    #: The same answer summary as ``delay``'s (the predicted delay rate an alarm watches).
    summary_metrics = DelayClassifier.summary_metrics

    def tabular(self, result: dict[str, Any]) -> dict[str, Any]:
        """``p_delay``, the 0/1 decision and the context's mode, reason, time and lead."""
        context = result["context"]
        return {
            "p_delay": result["prediction"][1],
            "delayed": int(result["delayed"]),
            "mode": context["mode"],
            "reason": context["reason"] or "",
            "as_of": context["as_of"],
            "lead_hours": context["lead_hours"],
            "departures_seen": context["departures_seen"],
        }

    # ------------------------------------------------------------------ context
    def _plan(self, flights: FlightColumns, context: Context) -> _Plan:
        """When each flight is predicted and whether live context can be used.

        Online the prediction time is the moment the departures were read (the snapshot's
        end), or 30 minutes before a flight scheduled sooner (the shortest trained lead; the
        flight's own departure can never be in its features). Offline (``Context.lead_hours``)
        it is that many hours before each scheduled time.
        """
        scheduled = scheduled_seconds(flights)
        snapshot = context.departures
        if context.lead_hours is not None:
            if not self.min_lead_hours <= context.lead_hours <= self.max_lead_hours:
                raise ValueError(
                    f"lead {context.lead_hours} h is outside the trained "
                    f"{self.min_lead_hours}-{self.max_lead_hours} h"
                )
            as_of = scheduled - round(context.lead_hours * HOUR)
        else:
            read = snapshot.end if snapshot is not None and snapshot.end else None
            now = seconds_of(read or local_time(context.now))
            as_of = np.minimum(now, scheduled - round(self.min_lead_hours * HOUR))
        covered_from, covered_to = (
            (-math.inf, math.inf) if snapshot is None else snapshot.memo(_covered, _covered)
        )
        beyond = ((scheduled - as_of) > self.max_lead_hours * HOUR).tolist()
        if snapshot is None:
            log, rows, seen = None, None, [0] * len(flights)
        else:
            log = snapshot.memo(DepartureLog, _log_of)
            rows = LiveRows(log, flights, scheduled, as_of)
            seen = rows.window("scl", DAY).count.tolist()
        reasons: list[str | None] = []
        for i in range(len(flights)):
            if beyond[i]:
                reasons.append("beyond_horizon")
            elif log is None:
                reasons.append("departures_unavailable")
            elif not (covered_from <= as_of[i] - self.live.lookback and as_of[i] <= covered_to):
                reasons.append("outside_window")
            elif seen[i] == 0:
                reasons.append("no_departures")
            else:
                reasons.append(None)
        return _Plan(scheduled, as_of, reasons, log, rows)

    def _summaries(self, flights: FlightColumns, plan: _Plan) -> list[dict[str, Any]]:
        """The ``context`` members that describe the departures each flight's features read."""
        empty = {
            "departures_seen": 0,
            **dict.fromkeys(SUMMARY_WINDOWS),
            "previous_day_delay_minutes": None,
        }
        out = [dict(empty) for _ in range(len(flights))]
        rows = plan.rows
        if rows is None:
            return out
        # Python lists, not numpy scalars: a numpy scalar's isnan costs ~1 µs a call.
        seen = rows.window("scl", DAY).count.tolist()
        windows = {}
        for name, seconds in SUMMARY_WINDOWS.items():
            window = rows.window("scl" if name.startswith("scl") else "airline", seconds)
            windows[name] = (window.count.tolist(), window.delayed_share.tolist())
        previous = rows.previous_day_delay.tolist()
        for i, reason in enumerate(plan.reason):
            out[i]["departures_seen"] = int(seen[i])
            if reason is not None:
                continue
            for name, (counts, shares) in windows.items():
                share = shares[i]
                out[i][name] = {
                    "departures": int(counts[i]),
                    "delayed_share": None if math.isnan(share) else round(share, 4),
                }
            if not math.isnan(previous[i]):
                out[i]["previous_day_delay_minutes"] = round(previous[i], 1)
        return out


def _covered(snapshot: DepartureSnapshot) -> tuple[float, float]:
    """The whole local seconds ``s`` with ``snapshot.covers`` true at ``time_of(s)``: from the
    start rounded up to the end rounded down (unbounded where the snapshot is). Once per
    snapshot, so a request compares integers instead of building two datetimes a flight."""
    start, end = snapshot.start, snapshot.end
    first = -math.inf if start is None else seconds_of(start) + (start.microsecond > 0)
    return first, math.inf if end is None else seconds_of(end)


@functools.lru_cache(maxsize=16)
def _as_of_text(seconds: int) -> str:
    """``as_of`` of an answer: every request served from one snapshot has the same one."""
    return time_of(seconds).strftime("%Y-%m-%d %H:%M:%S")


def _log_of(snapshot: DepartureSnapshot) -> DepartureLog:
    return DepartureLog.from_departures(snapshot.departures)
