"""Loading an artifact never runs code: crafted files with matching manifests are refused.

Each exploit below is first shown to be real (unpickled in a child process it creates a marker
file), then planted as the ``delay`` artifact with a manifest whose sha256 and size match it:
the registry must refuse it with a 503 reason and the marker must not appear.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from challenge_neuralworks import artifacts
from challenge_neuralworks.environment import DEFAULT_MODELS_DIR
from challenge_neuralworks.handler import create_handler
from challenge_neuralworks.local.samples import SampleRequest, render_event
from challenge_neuralworks.model import discover
from challenge_neuralworks.registry import ModelUnavailableError, Registry
from challenge_neuralworks.schemas import EXAMPLE_FLIGHT


def _string(text: str) -> bytes:
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data  # SHORT_BINUNICODE


def _call(module: str, name: str, *args: str) -> bytes:
    """Pickle opcodes for ``module.name(*args)`` (STACK_GLOBAL, TUPLE, REDUCE)."""
    body = _string(module) + _string(name) + b"\x93"  # STACK_GLOBAL
    body += b"(" + b"".join(_string(a) for a in args) + b"t"  # MARK ... TUPLE
    return body + b"R"  # REDUCE


def _exploits(marker: Path) -> dict[str, bytes]:
    command = f"touch {marker}"
    frame = b"\x80\x04"  # PROTO 4
    return {
        # 1. a dotted global name walked through an allowed module's attributes
        "dotted_name": frame + _call("numpy", "lib._datasource.os.system", command) + b".",
        # 2. a callable inside the package that imports an object by its dotted name
        "package_importer": frame
        + _string("challenge_neuralworks.local.loading")
        + _string("import_handler")
        + b"\x93("
        + _string("os.system")
        + b"tR("
        + _string(command)
        + b"tR.",
        # 3. a module that merely starts with "numpy"
        "numpy_prefix": frame + _call("numpy_backdoor", "system", command) + b".",
    }


@pytest.fixture
def backdoor_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An importable module whose name starts with ``numpy`` (route 3 of the review)."""
    directory = tmp_path / "site"
    directory.mkdir()
    (directory / "numpy_backdoor.py").write_text("from os import system\n")
    monkeypatch.syspath_prepend(str(directory))
    return directory


@pytest.fixture
def models(tmp_path: Path) -> Path:
    out = tmp_path / "models"
    shutil.copytree(DEFAULT_MODELS_DIR, out)
    return out


def _plant(models: Path, payload: bytes) -> None:
    manifest_path = models / "delay" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    (models / "delay" / manifest["artifact"]).write_bytes(payload)
    manifest.update(sha256=hashlib.sha256(payload).hexdigest(), size_bytes=len(payload))
    manifest_path.write_text(json.dumps(manifest))


def _predict(models: Path) -> tuple[int, dict]:
    handler = create_handler(Registry(models))
    response = handler(
        render_event(SampleRequest("x", "POST", "/inference/delay", EXAMPLE_FLIGHT)), None
    )
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("route", ["dotted_name", "package_importer", "numpy_prefix"])
def test_pickle_exploits_are_refused_and_run_nothing(
    route: str, tmp_path: Path, models: Path, backdoor_module: Path
) -> None:
    proof = tmp_path / "proof-marker"
    payload = _exploits(proof)[route]
    subprocess.run(
        [sys.executable, "-c", "import pickle, sys; pickle.loads(sys.stdin.buffer.read())"],
        input=payload,
        env={"PYTHONPATH": f"{backdoor_module}:{Path.cwd()}"},
        check=False,
        capture_output=True,
        timeout=120,
    )
    assert proof.exists(), f"the {route} payload is not a working exploit: the test proves nothing"

    marker = tmp_path / "marker"
    _plant(models, _exploits(marker)[route])
    status, body = _predict(models)
    assert status == 503
    assert body["error"]["code"] == "model_unavailable"
    assert "pickles are never loaded" in body["error"]["message"]
    assert not marker.exists()


def _document_payload(document: dict, arrays: list[np.ndarray] = (), **members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("document.json", json.dumps(document))
        for index, array in enumerate(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, array, allow_pickle=True)
            archive.writestr(f"arrays/{index}.npy", member.getvalue())
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        import os

        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize(
    ("attack", "reason"),
    [
        ("foreign_type", "type 'posix.system' is not allowed"),
        ("dotted_type", "type 'challenge_neuralworks.local.loading.import_handler' is not allowed"),
        ("extra_field", "DelayClassifier expects the fields"),
        ("object_array", "cannot be read without pickle"),
        ("compressed", "is compressed"),
        ("extra_member", "members other than"),
        ("unknown_tag", "unknown tag"),
        ("version", "format version 99 is not supported"),
    ],
)
def test_crafted_documents_are_refused_and_run_nothing(
    attack: str, reason: str, tmp_path: Path, models: Path
) -> None:
    marker = tmp_path / "marker"
    document = {"format": artifacts.FORMAT, "format_version": 1}
    arrays: list[np.ndarray] = []
    members: dict[str, bytes] = {}
    if attack == "foreign_type":
        document["root"] = {"$type": "posix.system", "fields": {"command": f"touch {marker}"}}
    elif attack == "dotted_type":
        document["root"] = {
            "$type": "challenge_neuralworks.local.loading.import_handler",
            "fields": {"dotted": "os.system"},
        }
    elif attack == "extra_field":
        document["root"] = {"$type": "DelayClassifier", "fields": {"__class__": "os.system"}}
    elif attack == "object_array":
        arrays = [np.array([_Exploit(marker)], dtype=object)]
        document["root"] = {"$array": 0}
    elif attack == "unknown_tag":
        document["root"] = {"$eval": f"__import__('os').system('touch {marker}')"}
    elif attack == "version":
        document["format_version"] = 99
    if attack == "compressed":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("document.json", json.dumps({**document, "root": None}))
        payload = buffer.getvalue()
    else:
        if attack == "extra_member":
            members["evil.pkl"] = b"\x80\x04N."
            document["root"] = None
        payload = _document_payload(document, arrays, **members)
    _plant(models, payload)
    with pytest.raises(ModelUnavailableError, match=reason):
        Registry(models).get("delay")
    assert not marker.exists()


def test_a_zip_member_that_claims_more_bytes_than_the_file_is_refused(models: Path) -> None:
    payload = bytearray(_document_payload({"format": artifacts.FORMAT, "format_version": 1}))
    # the central directory's uncompressed size of the first member: make it enormous
    offset = payload.rfind(b"PK\x01\x02")
    payload[offset + 24 : offset + 28] = struct.pack("<I", 0xFFFFFFF0)
    _plant(models, bytes(payload))
    with pytest.raises(ModelUnavailableError, match="artifact refused"):
        Registry(models).get("delay")


def test_the_allow_list_is_exactly_what_the_models_store(fast_models_dir: Path) -> None:
    """Every allowed type is one some artifact stores, and every stored type is allowed: the
    committed artifacts, fresh ones, and a classifier with a calibration map."""
    from challenge_neuralworks.data import load_flights
    from challenge_neuralworks.delay.build import DelayTrainer
    from challenge_neuralworks.delay.train import FAST_CONFIG

    discover()
    calibrated = DelayTrainer().fit(
        load_flights(),
        config=FAST_CONFIG.__class__(**{**FAST_CONFIG.__dict__, "calibrate": True}),
        evaluate=False,
    )
    stored: set[str] = artifacts.referenced_types(artifacts.dumps(calibrated))
    for directory in (DEFAULT_MODELS_DIR, fast_models_dir):
        for manifest_path in directory.glob("*/manifest.json"):
            manifest = json.loads(manifest_path.read_text())
            stored |= artifacts.referenced_types(
                (manifest_path.parent / manifest["artifact"]).read_bytes()
            )
    assert stored == set(artifacts.ARTIFACT_TYPES)


def test_round_trip_of_every_value_kind() -> None:
    from challenge_neuralworks.delay.calibration import IsotonicCalibrator

    value = IsotonicCalibrator(x=np.array([0.0, np.nan, np.inf]), y=np.array([1, 2, 3]))
    restored = artifacts.loads(artifacts.dumps(value))
    np.testing.assert_array_equal(restored.x, value.x)
    assert restored.y.dtype == value.y.dtype
    nested = {
        "tuple": (1, 2.5, "x", None, True),
        "list": [float("nan"), float("-inf")],
        1: "int key",
        "$dollar": "a key that looks like a tag",
    }
    with pytest.raises(TypeError, match="not an artifact type"):
        artifacts.dumps(object())
    encoded = artifacts._encode(nested, [], 0)
    decoded = artifacts._Decoder({}, None).decode(encoded, 0)  # type: ignore[arg-type]
    assert decoded["tuple"] == nested["tuple"]
    assert np.isnan(decoded["list"][0]) and decoded["list"][1] == float("-inf")
    assert decoded[1] == "int key" and decoded["$dollar"] == nested["$dollar"]
