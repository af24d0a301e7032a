"""Read capture lines back: from a file, a directory (recursively) or an ``s3://`` prefix.

What arrives is whatever the pipeline delivered, and it is never all capture lines:

* the twin's files: one :class:`~challenge_neuralworks.capture.CaptureRecord` per line;
* Kinesis Data Firehose objects fed by a CloudWatch Logs subscription filter: gzip members,
  each a CloudWatch Logs envelope (``{"messageType": "DATA_MESSAGE", "logEvents": [{"message":
  <line>}, ...]}``), concatenated without separators; or, with Firehose's message extraction
  turned on, the bare lines;
* anything else in the same place: other log lines (access logs, Lambda's START/END lines),
  truncated JSON, lines of another schema or another model.

Every line is classified and counted (:class:`ReadStats`); only valid lines of the requested
model inside the window are kept. Nothing in the input can raise past :func:`read_captures`
except :class:`CaptureSourceError` (the source itself is unusable: exit status 2).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from challenge_neuralworks.capture import KIND, SCHEMA, CaptureRecord

#: Why a line was not used, in report order.
SKIP_REASONS: Final[tuple[str, ...]] = (
    "not_json",  # plain log lines, truncated or binary data
    "foreign",  # JSON, but not a capture line (access logs, EMF metrics, other tools)
    "other_schema",  # a capture line of a schema version this reader does not know
    "invalid",  # claims to be a capture line of this schema but does not validate
    "other_model",
    "outside_window",  # captured before --since
)
_GZIP_MAGIC: Final[bytes] = b"\x1f\x8b"


class CaptureSourceError(Exception):
    """The captures cannot be read at all (missing path, no permission, S3 refused)."""


@dataclass
class ReadStats:
    """What was read and why lines were skipped (the report's input section)."""

    documents: int = 0
    unreadable_documents: int = 0
    lines: int = 0
    captures: int = 0
    control_messages: int = 0  # CloudWatch Logs subscription test messages
    skipped: Counter[str] = field(default_factory=Counter)
    #: First place each reason was seen (``document:line``), to make a bad source findable.
    first_seen: dict[str, str] = field(default_factory=dict)

    def skip(self, reason: str, where: str) -> None:
        """Count one unusable line."""
        self.skipped[reason] += 1
        self.first_seen.setdefault(reason, where)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "documents": self.documents,
            "unreadable_documents": self.unreadable_documents,
            "lines": self.lines,
            "captures": self.captures,
            "control_messages": self.control_messages,
            "skipped": {reason: self.skipped.get(reason, 0) for reason in SKIP_REASONS},
            "first_seen": dict(self.first_seen),
        }


def read_captures(
    source: str, *, model: str, since: datetime | None = None
) -> tuple[list[CaptureRecord], ReadStats]:
    """Valid capture records of ``model`` captured at or after ``since`` (UTC), in source
    order, plus the counts of everything else."""
    stats = ReadStats()
    records: list[CaptureRecord] = []
    since_text = None if since is None else since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    for name, payload in documents(source, since):
        stats.documents += 1
        text = _decode(payload)
        if text is None:
            stats.unreadable_documents += 1
            continue
        for number, value in _values(text, name, stats):
            record = _record(value, f"{name}:{number}", stats, model, since_text)
            if record is not None:
                records.append(record)
    stats.captures = len(records)
    return records, stats


# ------------------------------------------------------------------------------ sources
def documents(source: str, since: datetime | None = None) -> Iterator[tuple[str, bytes]]:
    """``(name, bytes)`` of each file under ``source``: a file, a directory (recursively,
    hidden files skipped) or ``s3://bucket/prefix``."""
    if source.startswith("s3://"):
        yield from _s3_documents(source, since)
        return
    path = Path(source)
    if path.is_file():
        yield str(path), _read(path)
        return
    if not path.is_dir():
        raise CaptureSourceError(f"{source}: no such file or directory")
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )
    for file in files:
        yield str(file), _read(file)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CaptureSourceError(f"{path}: {exc.strerror or exc}") from None


def _s3_documents(source: str, since: datetime | None) -> Iterator[tuple[str, bytes]]:
    """Objects under the prefix; objects last written before ``since`` cannot hold lines
    captured after it (Firehose writes a buffer after its lines) and are not downloaded."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, prefix = source[len("s3://") :].partition("/")
    if not bucket:
        raise CaptureSourceError(f"{source}: no bucket name (use s3://bucket/prefix)")
    try:
        client = boto3.client("s3")
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            for entry in page.get("Contents", []):
                if since is not None and entry["LastModified"] < since:
                    continue
                key = entry["Key"]
                body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
                yield f"s3://{bucket}/{key}", body
    except (BotoCoreError, ClientError) as exc:
        raise CaptureSourceError(f"{source}: {exc}") from None


def _decode(payload: bytes) -> str | None:
    """Text of a document, gunzipped when it is gzip (Firehose's compression); ``None`` when
    it is a broken gzip file."""
    if payload[:2] == _GZIP_MAGIC:
        try:
            payload = gzip.decompress(payload)  # also concatenated gzip members
        except (OSError, EOFError, zlib.error):
            return None
    return payload.decode("utf-8", errors="replace")


# -------------------------------------------------------------------------------- lines
def _values(text: str, name: str, stats: ReadStats) -> Iterator[tuple[int, Any]]:
    """Each JSON value of each line, CloudWatch Logs envelopes opened (their messages are
    the lines). Lines that are not JSON are counted here."""
    decoder = json.JSONDecoder()
    # only "\n" ends a line: str.splitlines() would also split inside JSON strings holding
    # U+2028 or U+0085, which JSON does not escape
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        position = 0
        while position < len(line):  # concatenated envelopes share a line
            try:
                value, position = decoder.raw_decode(line, position)
            except ValueError:
                stats.lines += 1
                stats.skip("not_json", f"{name}:{number}")
                break
            while position < len(line) and line[position].isspace():
                position += 1
            if _is_envelope(value):
                yield from _envelope_values(value, name, number, stats)
            else:
                stats.lines += 1
                yield number, value


def _is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and "messageType" in value and "logEvents" in value


def _envelope_values(
    envelope: dict[str, Any], name: str, number: int, stats: ReadStats
) -> Iterator[tuple[int, Any]]:
    if envelope.get("messageType") == "CONTROL_MESSAGE":
        stats.control_messages += 1
        return
    events = envelope.get("logEvents")
    for event in events if isinstance(events, list) else []:
        stats.lines += 1
        message = event.get("message") if isinstance(event, dict) else None
        try:
            value = json.loads(message) if isinstance(message, str) else None
        except ValueError:
            value = None
        if value is None:
            stats.skip("not_json", f"{name}:{number}")
            continue
        yield number, value


def _record(
    value: Any, where: str, stats: ReadStats, model: str, since: str | None
) -> CaptureRecord | None:
    if not isinstance(value, dict) or value.get("kind") != KIND:
        stats.skip("foreign", where)
        return None
    if value.get("schema") != SCHEMA:
        stats.skip("other_schema", where)
        return None
    try:
        record = CaptureRecord.model_validate(value)
    except ValidationError:
        stats.skip("invalid", where)
        return None
    if record.model != model:
        stats.skip("other_model", where)
        return None
    if since is not None and record.time < since:  # same fixed-width UTC format
        stats.skip("outside_window", where)
        return None
    return record
