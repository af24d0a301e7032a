"""When a report asks for attention (exit status 1). The reasons for each value are in
docs/monitoring.md, section "Thresholds".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

#: PSI of the score above which the population the model scores has moved (the issue's 0.2:
#: between Siddiqi's "moderate" 0.1 and "major" 0.25, since the score is what clients act on).
SCORE_PSI: Final[float] = 0.2
#: PSI of one monitored input feature (role ``input`` or ``optional``): the classic "major
#: shift" level. Calendar features are reported only.
FEATURE_PSI: Final[float] = 0.25
#: Share of captured flights (with a flight number) missing from the model's flight table:
#: above it the schedule has changed enough that the strongest feature falls back to the prior
#: for too many flights; retrain. November-December 2017 against January-October: 2.8%.
UNKNOWN_FLIGHT_SHARE: Final[float] = 0.10
#: Realised ROC-AUC this far below the temporal protocol's (same request mode) means the
#: model ranks flights worse than it was measured to: the protocol's own spread between
#: random and temporal splits is ~0.05.
ROC_AUC_DROP: Final[float] = 0.05
#: Fewer captured predictions than this, and drift is reported but not judged: sampling noise
#: alone gives a PSI of about (bins - 1) / rows (0.11 for 57 destinations at 500 rows).
MIN_PREDICTIONS: Final[int] = 500
#: Fewer joined outcomes than this, and realised quality is reported but not judged.
MIN_LABELLED: Final[int] = 500

#: The thresholds as the report prints them.
THRESHOLDS: Final[dict[str, float | int]] = {
    "score_psi": SCORE_PSI,
    "feature_psi": FEATURE_PSI,
    "unknown_flight_share": UNKNOWN_FLIGHT_SHARE,
    "roc_auc_drop": ROC_AUC_DROP,
    "min_predictions": MIN_PREDICTIONS,
    "min_labelled": MIN_LABELLED,
}
#: Feature roles whose drift can alert.
MONITORED_ROLES: Final[frozenset[str]] = frozenset({"input", "optional"})


def alerts(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every crossed threshold of a report, as ``{"check", "subject", "value", "threshold"}``."""
    found: list[dict[str, Any]] = []
    if report["volumes"]["predictions"] >= MIN_PREDICTIONS:
        score = report["score"]
        if score.get("psi") is not None and score["psi"] > SCORE_PSI:
            found.append(_alert("score_psi", score["name"], score["psi"], SCORE_PSI))
        for name, feature in report["features"].items():
            value = feature.get("psi")
            if feature["role"] in MONITORED_ROLES and value is not None and value > FEATURE_PSI:
                found.append(_alert("feature_psi", name, value, FEATURE_PSI))
        share = report["unseen"]["flights"]["unknown_share"]
        if share is not None and share > UNKNOWN_FLIGHT_SHARE:
            found.append(_alert("unknown_flight_share", "flight", share, UNKNOWN_FLIGHT_SHARE))
    quality = report.get("quality")
    if quality and quality.get("joined", 0) >= MIN_LABELLED:
        realised = (quality.get("metrics") or {}).get("roc_auc")
        protocol = (quality.get("temporal_protocol") or {}).get("roc_auc")
        if realised is not None and protocol is not None and protocol - realised > ROC_AUC_DROP:
            found.append(_alert("roc_auc_drop", "roc_auc", protocol - realised, ROC_AUC_DROP))
    return found


def judged(report: Mapping[str, Any]) -> bool:
    """Whether the window held enough predictions for the drift thresholds to apply."""
    return report["volumes"]["predictions"] >= MIN_PREDICTIONS


def _alert(check: str, subject: str, value: float, threshold: float) -> dict[str, Any]:
    return {"check": check, "subject": subject, "value": value, "threshold": threshold}
