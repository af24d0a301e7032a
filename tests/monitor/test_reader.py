"""Reading captures back: every kind of foreign or broken line is counted, never fatal."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from challenge_neuralworks.capture import CaptureRecord
from challenge_neuralworks.monitor.reader import CaptureSourceError, read_captures


def record(n: int, *, model: str = "delay", time: str = "2017-11-01T10:00:00.000Z") -> dict:
    return CaptureRecord(
        time=time,
        request_id=f"r{n}",
        apigw_request_id=None,
        stage="dev",
        model=model,
        version="v1",
        item={"n": n},
        input={},
        features={"hour": 10.0},
        answer={"prediction": [0.8, 0.2], "delayed": False},
    ).model_dump(mode="json", by_alias=True)


def line(n: int, **kwargs: Any) -> str:
    return json.dumps(record(n, **kwargs))


def envelope(*messages: str, kind: str = "DATA_MESSAGE") -> str:
    """A CloudWatch Logs subscription message as Firehose receives it."""
    return json.dumps(
        {
            "messageType": kind,
            "owner": "123456789012",
            "logGroup": "/aws/lambda/cnw-dev",
            "logStream": "2017/11/01/[$LATEST]abc",
            "subscriptionFilters": ["captures"],
            "logEvents": [
                {"id": str(i), "timestamp": 1509530400000, "message": m}
                for i, m in enumerate(messages)
            ],
        },
        separators=(",", ":"),
    )


MIXED = "\n".join(
    [
        line(1),
        "START RequestId: 6f1c Version: $LATEST",  # Lambda platform line
        json.dumps({"level": "INFO", "logger": "challenge_neuralworks.access", "message": "x"}),
        line(2)[:60],  # truncated
        json.dumps({**record(3), "schema": 2}),  # a future format
        json.dumps({**record(4), "answer": "not an object"}),  # claims to be a capture
        json.dumps({key: v for key, v in record(5).items() if key != "version"}),
        line(6, model="delay_minutes"),
        "",
        "   ",
        "[1, 2, 3]",
        "\x00\x01\x02 binary \xff",
        line(7),
        line(8) + " trailing words",
    ]
)


def test_foreign_and_broken_lines_are_counted_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(MIXED, encoding="utf-8")
    records, stats = read_captures(str(path), model="delay")
    assert [r.item["n"] for r in records] == [1, 7, 8]
    assert stats.as_dict()["skipped"] == {
        "not_json": 4,  # START line, truncated JSON, binary junk, the trailing words
        "foreign": 2,  # the access log line and the JSON array
        "other_schema": 1,
        "invalid": 2,
        "other_model": 1,
        "outside_window": 0,
    }
    assert stats.captures == 3 and stats.documents == 1
    assert stats.first_seen["not_json"] == f"{path}:2"
    assert stats.first_seen["other_model"] == f"{path}:8"


def test_firehose_objects_of_cloudwatch_envelopes(tmp_path: Path) -> None:
    """Firehose concatenates gzip members, each an envelope, without separators."""
    members = [
        envelope(line(1) + "\n", "END RequestId: 6f1c", line(2)),
        envelope(
            "CWL CONTROL MESSAGE: Checking health of destination Firehose.", kind="CONTROL_MESSAGE"
        ),
        envelope(line(3), line(4, model="other")),
    ]
    payload = b"".join(gzip.compress(m.encode()) for m in members)
    (tmp_path / "firehose-1-2017-11-01-10-00-00-uuid").write_bytes(payload)
    same_line = (envelope(line(5)) + envelope(line(6))).encode()  # decompressed, one line
    (tmp_path / "extracted.json").write_bytes(same_line)
    records, stats = read_captures(str(tmp_path), model="delay")
    assert sorted(r.item["n"] for r in records) == [1, 2, 3, 5, 6]
    assert stats.control_messages == 1
    assert stats.skipped["not_json"] == 1 and stats.skipped["other_model"] == 1


def test_directories_are_read_recursively_and_hidden_files_skipped(tmp_path: Path) -> None:
    (tmp_path / "delay").mkdir()
    (tmp_path / "delay" / "2017-11-01.jsonl").write_text(line(1) + "\n" + line(2) + "\n")
    (tmp_path / "delay" / "nested").mkdir()
    (tmp_path / "delay" / "nested" / "2017-11-02.jsonl.gz").write_bytes(
        gzip.compress((line(3) + "\n").encode())
    )
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.jsonl").write_text(line(4))
    (tmp_path / "broken.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    records, stats = read_captures(str(tmp_path), model="delay")
    assert sorted(r.item["n"] for r in records) == [1, 2, 3]
    assert stats.documents == 3 and stats.unreadable_documents == 1


def test_since_keeps_lines_captured_at_or_after_it(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        "\n".join(
            [
                line(1, time="2017-11-01T09:59:59.999Z"),
                line(2, time="2017-11-01T10:00:00.000Z"),
                line(3, time="2017-11-02T00:00:00.000Z"),
            ]
        )
    )
    since = datetime(2017, 11, 1, 10, tzinfo=UTC)
    records, stats = read_captures(str(path), model="delay", since=since)
    assert [r.item["n"] for r in records] == [2, 3]
    assert stats.skipped["outside_window"] == 1


def test_a_missing_path_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureSourceError, match="no such file or directory"):
        read_captures(str(tmp_path / "absent"), model="delay")


# -------------------------------------------------------------------------------------- S3
@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.client("s3", region_name="us-east-1")


def test_s3_prefix_with_firehose_objects(aws: Any) -> None:
    aws.create_bucket(Bucket="cnw-captures-dev")
    firehose = gzip.compress(envelope(line(1), line(2)).encode()) + gzip.compress(
        envelope(line(3)).encode()
    )
    aws.put_object(
        Bucket="cnw-captures-dev",
        Key="captures/model=delay/2017/11/01/cnw-1-2017-11-01-10-00-00-abc.gz",
        Body=firehose,
    )
    aws.put_object(
        Bucket="cnw-captures-dev",
        Key="captures/model=delay/2017/11/02/plain.jsonl",
        Body=(line(4) + "\nnot json\n").encode(),
    )
    aws.put_object(
        Bucket="cnw-captures-dev",
        Key="captures/model=delay_minutes/2017/11/01/x.jsonl",
        Body=line(5).encode(),
    )
    records, stats = read_captures("s3://cnw-captures-dev/captures/model=delay/", model="delay")
    assert sorted(r.item["n"] for r in records) == [1, 2, 3, 4]
    assert stats.documents == 2 and stats.skipped["not_json"] == 1


def test_s3_objects_written_before_since_are_not_downloaded(aws: Any) -> None:
    aws.create_bucket(Bucket="cnw-captures-dev")
    aws.put_object(Bucket="cnw-captures-dev", Key="captures/a.jsonl", Body=line(1).encode())
    later = datetime.now(UTC) + timedelta(hours=1)
    records, stats = read_captures("s3://cnw-captures-dev/captures/", model="delay", since=later)
    assert records == [] and stats.documents == 0


@pytest.mark.parametrize("source", ["s3://no-such-bucket-here/captures/", "s3:///captures"])
def test_an_unreadable_bucket_is_a_source_error(aws: Any, source: str) -> None:
    with pytest.raises(CaptureSourceError, match=r"s3://"):
        read_captures(source, model="delay")


def test_unicode_line_separators_inside_values_do_not_split_a_line(tmp_path: Path) -> None:
    weird = CaptureRecord.model_validate({**record(1), "item": {"OPERA": "a\u2028b\u0085c\u2029"}})
    text = weird.model_dump_json()
    assert "\u2028" in text  # JSON does not escape it, so the reader must not split on it
    (tmp_path / "c.jsonl").write_text(text + "\n" + line(2) + "\n", encoding="utf-8")
    records, stats = read_captures(str(tmp_path), model="delay")
    assert [r.item for r in records] == [weird.item, {"n": 2}]
    assert sum(stats.skipped.values()) == 0
