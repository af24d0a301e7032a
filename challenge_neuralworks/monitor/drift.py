"""Drift figures: captured predictions against the training reference of the manifest.

Every function returns JSON-ready dicts (the report's sections); none decides what is an alarm
(that is :mod:`challenge_neuralworks.monitor.thresholds`).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from challenge_neuralworks.capture import CaptureRecord
from challenge_neuralworks.delay.features import flight_key
from challenge_neuralworks.monitor.distributions import (
    numeric_counts,
    psi,
    psi_terms,
    sampling_noise,
    shares,
    value_counts,
)

#: Categories (or discrete values) listed per feature as the ones that moved most.
TOP_MOVED: Final[int] = 5
#: Bin label of values outside the reference (categories or discrete values never seen).
UNSEEN: Final[str] = "(never seen in training)"


def request_mode(record: CaptureRecord, reference: Mapping[str, Any]) -> str:
    """``full`` when the item gave every optional feature (minute and flight number), else
    ``basic``: the score reference of that mode is what the model produced for such items."""
    optional = [n for n, spec in reference["features"].items() if spec["role"] == "optional"]
    given = all(record.features.get(name) is not None for name in optional)
    return "full" if given else "basic"


def feature_drift(spec: Mapping[str, Any], values: Sequence[Any]) -> dict[str, Any]:
    """PSI of one feature over its present values, its missing share and its moved bins."""
    kind = spec["kind"]
    numeric = kind != "categorical"
    present = [
        v
        for v in values
        if v is not None and isinstance(v, str) != numeric and not isinstance(v, bool)
    ]
    missing = sum(v is None for v in values)
    out: dict[str, Any] = {
        "kind": kind,
        "role": spec["role"],
        "rows": len(values),
        "present": len(present),
        "missing_share": missing / len(values) if values else None,
        "reference_missing_share": spec["missing"],
        "wrong_type": len(values) - len(present) - missing,
    }
    if kind == "numeric":
        edges = spec["edges"]
        actual = shares(numeric_counts(np.asarray(present, dtype=np.float64), edges))
        expected = np.asarray(spec["shares"], dtype=np.float64)
        labels = bin_labels(edges)
        unseen_counts: Counter[Any] = Counter()
    else:
        known = spec["categories"] if kind == "categorical" else spec["values"]
        counts, unseen = value_counts(present, known)
        actual = shares(np.append(counts, unseen))
        expected = np.append(np.asarray(spec["shares"], dtype=np.float64), 0.0)
        labels = [*(str(_plain(v)) for v in known), UNSEEN]
        known_set = set(known)
        unseen_counts = Counter(_plain(v) for v in present if v not in known_set)
    if not present:
        return {**out, "psi": None, "sampling_noise": None, "bins": [], "top_moved": []}
    terms = psi_terms(expected, actual)
    bins = [
        {"bin": label, "reference": float(e), "captured": float(a), "psi_term": float(t)}
        for label, e, a, t in zip(labels, expected, actual, terms, strict=True)
    ]
    return {
        **out,
        "psi": float(terms.sum()),
        "sampling_noise": sampling_noise(len(bins), len(present)),
        "unseen_share": float(actual[-1]) if kind != "numeric" else None,
        "unseen_values": [
            {"value": value, "count": count} for value, count in unseen_counts.most_common(10)
        ],
        "bins": bins,
        "top_moved": [b for b in sorted(bins, key=lambda b: -b["psi_term"]) if b["psi_term"] > 0][
            :TOP_MOVED
        ]
        if kind != "numeric"
        else [],
    }


def all_features(
    records: Sequence[CaptureRecord], reference: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """:func:`feature_drift` of every reference feature (predictions only)."""
    return {
        name: feature_drift(spec, [r.features.get(name) for r in records])
        for name, spec in reference["features"].items()
    }


def score_drift(records: Sequence[CaptureRecord], reference: Mapping[str, Any]) -> dict[str, Any]:
    """PSI of the score against the reference of the captured request-mode mix.

    The expected shares are the mode references weighted by the captured share of each mode:
    a change in how many clients send flight numbers is then not mistaken for drift.
    """
    spec = reference["score"]
    edges = spec["edges"]
    modes = [request_mode(r, reference) for r in records]
    scores = [answer_value(r.answer, spec["answer_path"]) for r in records]
    positives = [
        is_positive(r.answer, spec["positive"], s) for r, s in zip(records, scores, strict=True)
    ]
    usable = [i for i, s in enumerate(scores) if s is not None]
    mix = Counter(modes[i] for i in usable)
    total = sum(mix.values())
    out: dict[str, Any] = {
        "name": spec["name"],
        "source": spec["source"],
        "rows": total,
        "unreadable": len(records) - total,
        "modes": dict(sorted(mix.items())),
    }
    if total == 0:
        return {**out, "psi": None}
    weights = {mode: count / total for mode, count in mix.items()}
    expected = sum(w * np.asarray(spec["shares"][m], dtype=np.float64) for m, w in weights.items())
    values = np.array([scores[i] for i in usable], dtype=np.float64)
    actual = shares(numeric_counts(values, edges))
    by_mode = {}
    for mode in sorted(mix):
        picked = np.array([scores[i] for i in usable if modes[i] == mode], dtype=np.float64)
        flagged = [positives[i] for i in usable if modes[i] == mode]
        by_mode[mode] = {
            "rows": len(picked),
            "psi": psi(spec["shares"][mode], shares(numeric_counts(picked, edges))),
            "mean": float(picked.mean()),
            "reference_mean": spec["mean"][mode],
            "positive_rate": float(np.mean(flagged)),
            "reference_positive_rate": reference["predicted_positive_rate"][mode],
        }
    return {
        **out,
        "psi": psi(expected, actual),
        "sampling_noise": sampling_noise(len(edges) + 1, total),
        "mean": float(values.mean()),
        "reference_mean": sum(w * spec["mean"][m] for m, w in weights.items()),
        "positive_rate": float(np.mean([positives[i] for i in usable])),
        "reference_positive_rate": sum(
            w * reference["predicted_positive_rate"][m] for m, w in weights.items()
        ),
        "bins": [
            {"bin": label, "reference": float(e), "captured": float(a)}
            for label, e, a in zip(bin_labels(edges, 3), expected, actual, strict=True)
        ],
        "by_mode": by_mode,
    }


def unknown_flights(
    records: Sequence[CaptureRecord], reference: Mapping[str, Any]
) -> dict[str, Any]:
    """Share of captured flights (with a flight number) the model had no history for."""
    known = set(reference["known_flights"])
    keys = [
        flight_key(r.input["airline"], r.input["flight_number"])
        for r in records
        if r.input.get("flight_number") and r.input.get("airline")
    ]
    unknown = Counter(k for k in keys if k not in known)
    return {
        "with_flight_number": len(keys),
        "unknown": sum(unknown.values()),
        "unknown_share": sum(unknown.values()) / len(keys) if keys else None,
        "top_unknown": [{"flight": k, "count": c} for k, c in unknown.most_common(10)],
    }


def rejections(records: Sequence[CaptureRecord]) -> dict[str, Any]:
    """Rejected items by error code, and the values the model did not know (``unknown_value``:
    a destination or airline that appeared after training)."""
    codes: Counter[str] = Counter()
    unknown: dict[str, Counter[str]] = {}
    for record in records:
        error = record.answer.get("error")
        error = error if isinstance(error, dict) else {}
        code = str(error.get("code", "unknown"))
        codes[code] += 1
        field = error.get("field")
        if code == "unknown_value" and isinstance(field, str):
            name = field.rsplit(".", 1)[-1]
            value = record.item.get(name)
            unknown.setdefault(name, Counter())[str(value)[:64]] += 1
    return {
        "rows": len(records),
        "by_code": dict(codes.most_common()),
        "unknown_values": {
            name: [{"value": v, "count": c} for v, c in counter.most_common(10)]
            for name, counter in sorted(unknown.items())
        },
    }


def warnings(records: Sequence[CaptureRecord]) -> dict[str, Any]:
    """Served answers that carried warnings, by code, and the destinations the model was not
    trained on (``unseen_destination``: served, so they never appear among the rejections)."""
    codes: Counter[str] = Counter()
    destinations: Counter[str] = Counter()
    for record in records:
        found = record.answer.get("warnings")
        for warning in found if isinstance(found, list) else ():
            code = str(warning.get("code", "unknown")) if isinstance(warning, dict) else "unknown"
            codes[code] += 1
            if code == "unseen_destination":
                where = record.input.get("destination") or record.item.get("SIGLADES")
                airport = record.input.get("airport")
                label = f"{where} ({airport})" if airport else str(where)
                destinations[label[:64]] += 1
    return {
        "rows": sum(codes.values()),
        "by_code": dict(codes.most_common()),
        "unseen_destinations": [{"value": v, "count": c} for v, c in destinations.most_common(10)],
    }


def volumes(
    predictions: Sequence[CaptureRecord],
    rejected: Sequence[CaptureRecord],
    reference: Mapping[str, Any],
) -> dict[str, Any]:
    """Captured predictions and rejections per day (UTC date of capture), with the day's
    predicted positive rate, plus the versions and stages seen."""
    spec = reference["score"]
    days: dict[str, dict[str, Any]] = {}
    for record in predictions:
        day = days.setdefault(record.date, {"predictions": 0, "rejections": 0, "positive": 0})
        day["predictions"] += 1
        score = answer_value(record.answer, spec["answer_path"])
        day["positive"] += bool(is_positive(record.answer, spec["positive"], score))
    for record in rejected:
        days.setdefault(record.date, {"predictions": 0, "rejections": 0, "positive": 0})[
            "rejections"
        ] += 1
    every = [*predictions, *rejected]
    return {
        "predictions": len(predictions),
        "rejections": len(rejected),
        "first": min((r.time for r in every), default=None),
        "last": max((r.time for r in every), default=None),
        "versions": dict(Counter(r.version for r in every).most_common()),
        "stages": dict(Counter(str(r.stage) for r in every).most_common()),
        "per_day": [
            {
                "date": date,
                "predictions": day["predictions"],
                "rejections": day["rejections"],
                "positive_rate": day["positive"] / day["predictions"]
                if day["predictions"]
                else None,
            }
            for date, day in sorted(days.items())
        ],
    }


def answer_value(answer: Mapping[str, Any], path: Sequence[str | int]) -> float | None:
    """The number at ``path`` inside an answer (``["prediction", 1]`` is ``p_delay``), or
    ``None`` when the answer does not have it."""
    value: Any = answer
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def is_positive(answer: Mapping[str, Any], rule: Mapping[str, Any], score: float | None) -> bool:
    """Whether the answer flags the flight: the answer's own decision field when the model
    has one (``delayed``), else the score above a cut (``delay_minutes``: 15 minutes)."""
    if "answer_path" in rule:
        value: Any = answer
        for step in rule["answer_path"]:
            value = value.get(step) if isinstance(value, Mapping) else None
        return value is True
    return score is not None and score > rule["above"]


def bin_labels(edges: Sequence[float], digits: int = 4) -> list[str]:
    """Readable labels of the right-closed bins around ``edges``."""
    if not edges:
        return ["all"]
    text = [f"{e:.{digits}g}" for e in edges]
    inner = [f"({a}, {b}]" for a, b in itertools.pairwise(text)]
    return [f"<= {text[0]}", *inner, f"> {text[-1]}"]


def _plain(value: Any) -> Any:
    """10.0 -> 10 for display of discrete values."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
