"""Assemble the monitoring report and write it: ``report.json``, ``report.md`` and charts.

``report.json`` holds every figure; ``report.md`` and the PNG charts are rendered from that same
dict, so the two never disagree.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from challenge_neuralworks.capture import CaptureRecord
from challenge_neuralworks.monitor import drift, thresholds
from challenge_neuralworks.monitor.outcomes import join_outcomes, realised_quality
from challenge_neuralworks.monitor.reader import ReadStats

if TYPE_CHECKING:
    from challenge_neuralworks.data import Flights

#: Version of report.json's layout.
REPORT_SCHEMA: Final[int] = 1


def build_report(
    records: Sequence[CaptureRecord],
    stats: ReadStats,
    manifest: Mapping[str, Any],
    *,
    source: str,
    since: datetime | None = None,
    labels: Flights | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Every figure of the report, JSON-ready, with its alerts and status."""
    reference = manifest["reference"]
    predictions = [r for r in records if not r.rejected]
    rejected = [r for r in records if r.rejected]
    report: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "model": manifest["name"],
        "reference_version": manifest["version"],
        "reference": {
            "rows": reference["rows"],
            "training_window": manifest.get("training_window"),
            "delay_rate": reference["delay_rate"],
            "score": reference["score"]["name"],
            "score_source": reference["score"]["source"],
            "score_target": reference["score"]["target"],
        },
        "generated_at": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": source,
        "since": None if since is None else since.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "input": stats.as_dict(),
        "volumes": drift.volumes(predictions, rejected, reference),
        "score": drift.score_drift(predictions, reference),
        "features": drift.all_features(predictions, reference),
        "unseen": {
            "flights": drift.unknown_flights(predictions, reference),
            "rejections": drift.rejections(rejected),
            "warnings": drift.warnings(predictions),
        },
        "quality": None,
        "thresholds": thresholds.THRESHOLDS,
    }
    if labels is not None:
        report["quality"] = realised_quality(
            join_outcomes(predictions, labels), reference, manifest
        )
    found = thresholds.alerts(report)
    report["alerts"] = found
    report["status"] = "alert" if found else ("ok" if thresholds.judged(report) else "not_judged")
    return _finite(report)


def write_report(report: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """Write ``report.json``, the charts and ``report.md`` into ``out_dir``; returns the paths."""
    from challenge_neuralworks.monitor import charts
    from challenge_neuralworks.monitor.markdown import render

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    images = charts.draw_all(report, out_dir)
    md_path = out_dir / "report.md"
    md_path.write_text(render(report, [p.name for p in images]), encoding="utf-8")
    return [json_path, md_path, *images]


def _finite(value: Any) -> Any:
    """NaN/inf -> None everywhere (strict JSON for report.json)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
