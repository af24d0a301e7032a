"""``monitor``: drift and realised-quality report of captured predictions.

    python -m challenge_neuralworks monitor --model delay \\
        --captures s3://<bucket>/captures/model=delay/ --since 7d --out report/ \\
        [--labels data/dataset_SCL.csv] [--models-dir models/]

Compares the captured lines (a file, a directory, or an ``s3://bucket/prefix``) with the
training reference in the model's manifest (the manifest only: no artifact is unpickled) and
writes ``report.md``, ``report.json`` and PNG charts into ``--out``.

Exit status: 0 report written, nothing crossed; 1 report written and a documented threshold
crossed (docs/monitoring.md); 2 bad input (unknown model, no reference, unreadable captures,
no usable line, bad --since, unreadable labels), with the reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from challenge_neuralworks import environment

#: ``7d``, ``24h``, ``90m``, ``2w``.
_DURATION: Final[re.Pattern[str]] = re.compile(r"^([1-9][0-9]{0,5})([mhdw])$")
_UNITS: Final[dict[str, str]] = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
EXIT_OK, EXIT_ALERT, EXIT_BAD_INPUT = 0, 1, 2


class BadInputError(Exception):
    """The command cannot produce a report (exit status 2)."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Options of the monitor command."""
    parser.add_argument("--model", required=True, help="model name (a directory of --models-dir)")
    parser.add_argument(
        "--captures",
        required=True,
        metavar="PATH",
        help="capture lines: a file, a directory (recursive) or s3://bucket/prefix",
    )
    parser.add_argument(
        "--labels",
        type=Path,
        metavar="CSV",
        help="actual departures (dataset_SCL.csv columns) for realised quality",
    )
    parser.add_argument(
        "--since",
        metavar="DURATION",
        help="only lines captured in the last DURATION (7d, 24h, 90m, 2w) or since an ISO "
        "date/time (UTC)",
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=None,
        help=f"artifacts directory (default ${environment.MODELS_DIR} or models/)",
    )
    parser.add_argument("--out", type=Path, required=True, help="report directory")


def run(args: argparse.Namespace) -> int:
    """Write the report; 0 ok, 1 threshold crossed, 2 bad input."""
    try:
        report = _report(args, now=datetime.now(UTC))
    except BadInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from challenge_neuralworks.monitor.report import write_report

    try:
        write_report(report, args.out)
    except OSError as exc:
        print(f"error: cannot write the report to {args.out}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(summary(report), indent=2))
    print(f"wrote {args.out / 'report.md'}", file=sys.stderr)
    return EXIT_ALERT if report["alerts"] else EXIT_OK


def _report(args: argparse.Namespace, *, now: datetime) -> dict[str, Any]:
    from challenge_neuralworks.monitor.reader import CaptureSourceError, read_captures
    from challenge_neuralworks.monitor.report import build_report

    since = parse_since(args.since, now) if args.since else None
    manifest = reference_manifest(args.models_dir or environment.models_dir(), args.model)
    try:
        records, stats = read_captures(args.captures, model=args.model, since=since)
    except CaptureSourceError as exc:
        raise BadInputError(f"cannot read the captures: {exc}") from None
    if not records:
        skipped = ", ".join(f"{k} {v}" for k, v in stats.skipped.items() if v) or "none"
        raise BadInputError(
            f"no usable capture line of model {args.model!r} in {args.captures} "
            f"({stats.documents} documents, {stats.lines} lines; skipped: {skipped})"
        )
    labels = _labels(args.labels) if args.labels else None
    return build_report(
        records, stats, manifest, source=args.captures, since=since, labels=labels, now=now
    )


def parse_since(text: str, now: datetime) -> datetime:
    """``7d`` -> ``now`` minus 7 days; an ISO date or date-time (UTC if no offset) as is."""
    match = _DURATION.fullmatch(text.strip())
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInputError(
            f"--since {text!r} is neither a duration (7d, 24h, 90m, 2w) nor an ISO date"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def reference_manifest(models_dir: Path, name: str) -> dict[str, Any]:
    """The manifest of ``name`` with a training reference this monitor reads."""
    from challenge_neuralworks.monitor.reference import REFERENCE_SCHEMA
    from challenge_neuralworks.registry import (
        ModelNotFoundError,
        ModelUnavailableError,
        Registry,
    )

    registry = Registry(models_dir)
    try:
        manifest = dict(registry.manifest(name))
    except ModelNotFoundError as exc:
        known = ", ".join(exc.available) or "none"
        raise BadInputError(f"unknown model {name!r} in {models_dir} (known: {known})") from None
    except ModelUnavailableError as exc:
        raise BadInputError(f"model {name!r}: {exc.reason}") from None
    reference = manifest.get("reference")
    if not isinstance(reference, dict):
        raise BadInputError(
            f"the {name!r} manifest in {models_dir} has no training reference (the artifact "
            "predates monitoring): retrain it"
        )
    if reference.get("schema") != REFERENCE_SCHEMA:
        raise BadInputError(
            f"the {name!r} reference has schema {reference.get('schema')!r}; this monitor "
            f"reads schema {REFERENCE_SCHEMA}"
        )
    return manifest


def _labels(path: Path) -> Any:
    from challenge_neuralworks.data import DataValidationError, load_flights

    try:
        return load_flights(path)
    except DataValidationError as exc:
        raise BadInputError(f"--labels {path}: {exc}") from None


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The headline figures printed on stdout."""
    quality = report.get("quality") or {}
    metrics = quality.get("metrics") or {}
    features = {
        name: round(f["psi"], 4)
        for name, f in sorted(report["features"].items(), key=lambda i: -(i[1]["psi"] or 0))
        if f["psi"] is not None
    }
    return {
        "status": report["status"],
        "model": report["model"],
        "predictions": report["volumes"]["predictions"],
        "rejections": report["volumes"]["rejections"],
        "score_psi": report["score"].get("psi"),
        "feature_psi": features,
        "unknown_flight_share": report["unseen"]["flights"]["unknown_share"],
        "realised_roc_auc": metrics.get("roc_auc"),
        "alerts": report["alerts"],
    }
