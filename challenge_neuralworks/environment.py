"""Every environment variable the package reads, named once, with its default.

Entry points (the Lambda function, the local twin, the commands) read their settings from here
instead of spelling variable names themselves, so ``grep`` on one module answers "what can I set?".
Readers are functions, not module constants, so a process reads the environment when it builds
its objects (an app factory, a twin worker), never at import time behind a caller's back.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

#: The committed artifacts, next to the package (the Lambda image copies both side by side).
DEFAULT_MODELS_DIR: Final[Path] = Path(__file__).resolve().parent.parent / "models"

#: Directory of ``<name>/manifest.json`` model artifacts (default :data:`DEFAULT_MODELS_DIR`).
MODELS_DIR: Final[str] = "CNW_MODELS_DIR"
#: Log level of the package's JSON logs (``DEBUG`` .. ``CRITICAL``; default ``INFO``).
LOG_LEVEL: Final[str] = "LOG_LEVEL"
#: The API key the local twin accepts and the deploy smoke test and load tests send.
API_KEY: Final[str] = "CNW_API_KEY"
#: The twin's configuration as JSON, handed by ``serve`` to its uvicorn worker processes.
GATEWAY_CONFIG: Final[str] = "CNW_GATEWAY_CONFIG"
#: The deployment stage the function serves (``dev``, ``prd``; the twin: its stage). A metric
#: dimension and a field of every captured prediction.
STAGE: Final[str] = "CNW_STAGE"
#: Where the per-request EMF metrics go: ``stdout`` (default; Lambda turns them into CloudWatch
#: metrics), ``off``, or a file path (the local twin, load tests).
METRICS: Final[str] = "CNW_METRICS"
#: Share of predictions captured (0.0 off .. 1.0 all; default 1.0 in dev, 0.1 in prd via Terraform).
CAPTURE_SAMPLE: Final[str] = "CNW_CAPTURE_SAMPLE"
#: Local only: write captured predictions to ``<dir>/<model>/<date>.jsonl`` instead of stdout.
CAPTURE_DIR: Final[str] = "CNW_CAPTURE_DIR"
#: DynamoDB table of reported actual departures (the live context of ``delay_nowcast``).
DEPARTURES_TABLE: Final[str] = "CNW_DEPARTURES_TABLE"
#: Local only: SQLite file of reported departures (used when no DynamoDB table is set).
DEPARTURES_DB: Final[str] = "CNW_DEPARTURES_DB"
#: Local only: the twin's key for the IAM-authorised ingest routes (``POST /departures``).
INGEST_KEY: Final[str] = "CNW_INGEST_KEY"

#: Every variable above, for documentation and for tests that check nothing else is read.
ALL: Final[tuple[str, ...]] = (
    MODELS_DIR,
    LOG_LEVEL,
    API_KEY,
    GATEWAY_CONFIG,
    STAGE,
    METRICS,
    CAPTURE_SAMPLE,
    CAPTURE_DIR,
    DEPARTURES_TABLE,
    DEPARTURES_DB,
    INGEST_KEY,
)


def models_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$CNW_MODELS_DIR`` or the committed ``models/`` directory."""
    value = (os.environ if environ is None else environ).get(MODELS_DIR)
    return Path(value) if value else DEFAULT_MODELS_DIR


def log_level(environ: Mapping[str, str] | None = None, default: str = "INFO") -> str:
    """``$LOG_LEVEL`` upper-cased, or ``default``."""
    value = (os.environ if environ is None else environ).get(LOG_LEVEL)
    return (value or default).upper()


def stage(environ: Mapping[str, str] | None = None) -> str:
    """``$CNW_STAGE``, or ``local`` when the process runs outside a deployed stage."""
    return (os.environ if environ is None else environ).get(STAGE) or "local"


def get(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of one of :data:`ALL` (``None`` when unset or empty)."""
    if name not in ALL:
        raise KeyError(f"{name} is not an environment variable of this package; see {__name__}")
    return (os.environ if environ is None else environ).get(name) or None
