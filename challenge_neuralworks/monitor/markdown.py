"""``report.md``: the report's figures as a page an operator reads top to bottom."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from challenge_neuralworks.monitor import thresholds
from challenge_neuralworks.monitor.outcomes import UNJOINABLE_REASONS
from challenge_neuralworks.monitor.reader import SKIP_REASONS

_STATUS = {
    "alert": "**ALERT**: at least one threshold is crossed (exit status 1)",
    "ok": "OK: no threshold crossed",
    "not_judged": (
        f"NOT JUDGED: fewer than {thresholds.MIN_PREDICTIONS} predictions in the window, "
        "figures shown but no drift threshold applied"
    ),
}


def render(report: Mapping[str, Any], images: Sequence[str]) -> str:
    """The whole page."""
    sections = [
        _header(report),
        _alerts(report),
        _input(report),
        _volumes(report, images),
        _score(report, images),
        _features(report, images),
        _unseen(report),
        _quality(report, images),
        _thresholds(report),
    ]
    return "\n\n".join(s for s in sections if s).rstrip() + "\n"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def _share(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _image(images: Sequence[str], name: str) -> str:
    return f"![{name}]({name})" if name in images else ""


def _header(report: Mapping[str, Any]) -> str:
    volumes = report["volumes"]
    window = report["reference"].get("training_window") or {}
    versions = ", ".join(f"`{v}` ({n:,})" for v, n in volumes["versions"].items()) or "–"
    return "\n".join(
        [
            f"# Monitoring report: `{report['model']}`",
            "",
            f"Status: {_STATUS[report['status']]}.",
            "",
            f"- captures: `{report['source']}`"
            + (f", since {report['since']}" if report["since"] else ""),
            f"- captured from {volumes['first'] or '–'} to {volumes['last'] or '–'} "
            f"(UTC); model versions {versions}",
            f"- reference: version `{report['reference_version']}`, "
            f"{report['reference']['rows']:,} training flights "
            f"({window.get('first_scheduled', '?')} to {window.get('last_scheduled', '?')}), "
            f"delay rate {_share(report['reference']['delay_rate'])}, score reference "
            f"{report['reference']['score_source'].replace('_', '-')}",
            f"- generated {report['generated_at']}",
        ]
    )


def _alerts(report: Mapping[str, Any]) -> str:
    if not report["alerts"]:
        return ""
    rows = [(a["check"], a["subject"], a["value"], a["threshold"]) for a in report["alerts"]]
    return "## Alerts\n\n" + _table(("check", "subject", "value", "threshold"), rows)


def _input(report: Mapping[str, Any]) -> str:
    stats = report["input"]
    rows = [
        (reason, stats["skipped"][reason], stats["first_seen"].get(reason))
        for reason in SKIP_REASONS
    ]
    return "\n\n".join(
        [
            "## Input",
            f"{stats['documents']:,} documents ({stats['unreadable_documents']:,} unreadable), "
            f"{stats['lines']:,} lines, **{stats['captures']:,} usable capture lines**"
            f" ({stats['control_messages']:,} CloudWatch Logs control messages ignored).",
            _table(("skipped because", "lines", "first seen at"), rows),
        ]
    )


def _volumes(report: Mapping[str, Any], images: Sequence[str]) -> str:
    volumes = report["volumes"]
    days = volumes["per_day"]
    rows = [
        (d["date"], d["predictions"], d["rejections"], _share(d["positive_rate"])) for d in days
    ]
    return "\n\n".join(
        s
        for s in [
            "## Volumes",
            f"{volumes['predictions']:,} predictions and {volumes['rejections']:,} rejected items "
            f"captured over {len(days)} days.",
            _image(images, "volumes.png"),
            _details("per day", _table(("date", "predictions", "rejections", "flagged"), rows)),
        ]
        if s
    )


def _details(summary: str, body: str) -> str:
    return f"<details><summary>{summary}</summary>\n\n{body}\n\n</details>"


def _score(report: Mapping[str, Any], images: Sequence[str]) -> str:
    score = report["score"]
    if score.get("psi") is None:
        return "## Score\n\nNo captured prediction carries a score."
    rows = [_score_row(mode, m) for mode, m in score["by_mode"].items()]
    rows.append(_score_row("**all**", score))
    return "\n\n".join(
        [
            "## Score",
            f"`{score['name']}`: **PSI {score['psi']:.3f}** (threshold {thresholds.SCORE_PSI}; "
            f"sampling noise alone ~{score['sampling_noise']:.3f}). The reference mixes the "
            "training distributions of full requests (minute and flight number given) and basic "
            "ones in the captured proportions.",
            _table(
                (
                    "request mode",
                    "predictions",
                    "PSI",
                    "mean",
                    "reference mean",
                    "flagged",
                    "reference flagged",
                ),
                rows,
            ),
            _image(images, "score.png"),
        ]
    )


def _score_row(label: str, m: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        label,
        m["rows"],
        m["psi"],
        m["mean"],
        m["reference_mean"],
        _share(m["positive_rate"]),
        _share(m["reference_positive_rate"]),
    )


def _features(report: Mapping[str, Any], images: Sequence[str]) -> str:
    rows = []
    for name, f in sorted(
        report["features"].items(), key=lambda item: -(item[1].get("psi") or 0.0)
    ):
        rows.append(
            (
                f"`{name}`",
                f["role"],
                f["psi"],
                f.get("sampling_noise"),
                f"{_share(f['missing_share'])} / {_share(f['reference_missing_share'])}",
                _share(f.get("unseen_share")),
                _alert_mark(f),
            )
        )
    moved = []
    for name, f in report["features"].items():
        if not f.get("top_moved"):
            continue
        moved.append(f"**{name}**")
        moved.append(
            _table(
                ("value", "training share", "captured share", "PSI term"),
                [
                    (r["bin"], _share(r["reference"]), _share(r["captured"]), r["psi_term"])
                    for r in f["top_moved"]
                ],
            )
        )
    return "\n\n".join(
        s
        for s in [
            "## Features",
            "PSI over the values present; the missing share (captured / training) of optional "
            "features is the clients' request mix, not drift. Calendar features depend on the "
            "dates a window covers and are reported only.",
            _table(("feature", "role", "PSI", "noise", "missing", "never seen", "alert"), rows),
            _image(images, "features.png"),
            "### Most moved values" if moved else "",
            *moved,
            _image(images, "categories.png"),
        ]
        if s
    )


def _alert_mark(feature: Mapping[str, Any]) -> str:
    value = feature.get("psi")
    if feature["role"] not in thresholds.MONITORED_ROLES:
        return "reported only"
    return "**yes**" if value is not None and value > thresholds.FEATURE_PSI else "no"


def _unseen(report: Mapping[str, Any]) -> str:
    flights = report["unseen"]["flights"]
    rejections = report["unseen"]["rejections"]
    parts = [
        "## Values never seen in training",
        f"Flights the model has no history for: **{_share(flights['unknown_share'])}** of "
        f"{flights['with_flight_number']:,} predictions with a flight number "
        f"(threshold {_share(thresholds.UNKNOWN_FLIGHT_SHARE)}).",
    ]
    if flights["top_unknown"]:
        parts.append(
            _table(
                ("flight", "predictions"),
                [(f["flight"], f["count"]) for f in flights["top_unknown"]],
            )
        )
    for name, feature in report["features"].items():
        if feature.get("unseen_values"):
            parts.append(
                f"`{name}` values outside the training reference: "
                + ", ".join(f"{v['value']} ({v['count']:,})" for v in feature["unseen_values"])
            )
    served = report["unseen"].get("warnings", {}).get("unseen_destinations", [])
    if served:
        parts.append(
            "Destinations the model was not trained on, served with an `unseen_destination` "
            "warning: " + ", ".join(f"{v['value']} ({v['count']:,})" for v in served)
        )
    if rejections["rows"]:
        parts.append(
            f"Rejected items: {rejections['rows']:,} "
            + "("
            + ", ".join(f"{c} {n:,}" for c, n in rejections["by_code"].items())
            + ")."
        )
        for name, values in rejections["unknown_values"].items():
            parts.append(
                f"Unknown `{name}` values sent: "
                + ", ".join(f"{v['value']} ({v['count']:,})" for v in values)
            )
    return "\n\n".join(parts)


def _quality(report: Mapping[str, Any], images: Sequence[str]) -> str:
    quality = report.get("quality")
    if quality is None:
        return ""
    unjoinable = [(r, quality["unjoinable"][r]) for r in UNJOINABLE_REASONS]
    parts = [
        "## Realised quality",
        f"{quality['joined']:,} captured predictions joined with their outcome.",
        _table(("not joined because", "predictions"), unjoinable),
    ]
    metrics = quality.get("metrics")
    if metrics:
        protocol = quality.get("temporal_protocol") or {}
        names = [n for n in metrics if isinstance(metrics[n], float)]
        parts.append(
            f"Realised delay rate {_share(quality['realised_delay_rate'])} "
            f"(training {_share(report['reference']['delay_rate'])}). Realised against the "
            f"temporal protocol's figures ({protocol.get('mode', '–')} requests, from the "
            "manifest):"
        )
        parts.append(
            _table(
                ("metric", "realised", "temporal protocol"),
                [(n, metrics[n], protocol.get(n)) for n in names],
            )
        )
    elif quality.get("reason"):
        parts.append(f"No metrics: {quality['reason']}.")
    parts.append(_image(images, "reliability.png"))
    if quality.get("weekly"):
        parts.append(
            _table(
                ("week (Monday)", "flights", "delay rate", "mean score", "flagged"),
                [
                    (
                        w["week"],
                        w["flights"],
                        _share(w["delay_rate"]),
                        w["mean_score"],
                        _share(w["predicted_positive_rate"]),
                    )
                    for w in quality["weekly"]
                ],
            )
        )
        parts.append(_image(images, "weekly.png"))
    return "\n\n".join(p for p in parts if p)


def _thresholds(report: Mapping[str, Any]) -> str:
    rows = [(name, value) for name, value in report["thresholds"].items()]
    return (
        "## Thresholds\n\n"
        + _table(("threshold", "value"), rows)
        + "\n\nWhy these values: docs/monitoring.md."
    )
