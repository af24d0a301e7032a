"""The registry refuses anything it cannot verify, and one broken model never sinks the others."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from challenge_neuralworks.model import discover
from challenge_neuralworks.registry import (
    MAX_MANIFEST_BYTES,
    ModelNotFoundError,
    ModelUnavailableError,
    Registry,
    compatible,
)

#: Every registered model (the fixture trains each one).
MODEL_NAMES = sorted(discover())


@pytest.fixture
def models(tmp_path: Path, fast_models_dir: Path) -> Path:
    """A private copy of the fast models, free to be broken."""
    out = tmp_path / "models"
    shutil.copytree(fast_models_dir, out)
    return out


def manifest_of(models: Path, name: str) -> dict:
    return json.loads((models / name / "manifest.json").read_text())


def write_manifest(models: Path, name: str, manifest: dict) -> None:
    (models / name / "manifest.json").write_text(json.dumps(manifest))


def artifact_of(models: Path, name: str) -> Path:
    return models / name / manifest_of(models, name)["artifact"]


def replace_artifact(models: Path, name: str, payload: bytes) -> None:
    """Swap the artifact's bytes and make the manifest match them (an attacker who can write
    ``models/`` can write both)."""
    artifact_of(models, name).write_bytes(payload)
    manifest = manifest_of(models, name)
    manifest["sha256"] = hashlib.sha256(payload).hexdigest()
    manifest["size_bytes"] = len(payload)
    write_manifest(models, name, manifest)


def assert_client_safe(reason: str, models: Path) -> None:
    """What a client may see: no absolute path, no errno text."""
    assert str(models) not in reason and "/tmp" not in reason, reason
    for text in ("Errno", "Permission denied", "No such file", "Input/output error"):
        assert text not in reason, reason


def test_discovers_models_and_loads_once(models: Path) -> None:
    registry = Registry(models)
    assert registry.names() == MODEL_NAMES
    assert registry.status() == dict.fromkeys(MODEL_NAMES, "not_loaded")
    first = registry.get("delay")
    assert registry.get("delay") is first
    assert registry.status()["delay"] == "loaded"


def test_tampered_artifact_is_refused_and_others_keep_serving(
    models: Path, caplog: pytest.LogCaptureFixture
) -> None:
    artifact = artifact_of(models, "delay")
    payload = bytearray(artifact.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    artifact.write_bytes(bytes(payload))
    registry = Registry(models)
    with (
        caplog.at_level(logging.ERROR, logger="challenge_neuralworks.registry"),
        pytest.raises(ModelUnavailableError, match=r"sha256 mismatch .* refusing to load"),
    ):
        registry.get("delay")
    assert any("sha256 mismatch" in r.reason for r in caplog.records if hasattr(r, "reason"))
    assert registry.get("delay_minutes").name == "delay_minutes"
    assert registry.status()["delay"].startswith("unavailable: sha256 mismatch")


def test_missing_artifact_is_reported_before_any_traffic(models: Path) -> None:
    artifact_of(models, "delay_minutes").unlink()
    registry = Registry(models)
    status = registry.status()  # no get(): the start-up verification finds it
    assert status["delay_minutes"].startswith("unavailable: artifact")
    assert "missing" in status["delay_minutes"]
    assert status["delay"] == "not_loaded"
    assert registry.servable()
    with pytest.raises(ModelUnavailableError, match="missing"):
        registry.get("delay_minutes")
    assert registry.get("delay").name == "delay"


def test_a_truncated_artifact_is_refused_by_its_size_without_hashing(models: Path) -> None:
    artifact = artifact_of(models, "delay")
    artifact.write_bytes(artifact.read_bytes()[:-100])
    status = Registry(models).status()["delay"]
    assert "has" in status and "the manifest says" in status


def test_incompatible_library_version_is_refused(models: Path) -> None:
    manifest = manifest_of(models, "delay")
    manifest["runtime_libraries"]["numpy"] = "1.26.4"
    write_manifest(models, "delay", manifest)
    registry = Registry(models)
    with pytest.raises(ModelUnavailableError, match=r"built with numpy 1\.26\.4 but running 2"):
        registry.get("delay")
    assert registry.get("delay_minutes")


def test_injected_versions_drive_the_check(models: Path) -> None:
    registry = Registry(models, installed_versions=lambda: {"pydantic": "9.0.0"})
    with pytest.raises(ModelUnavailableError, match="pydantic"):
        registry.get("delay")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"name": "other"}, "manifest names model 'other'"),
        ({"artifact": "../delay_minutes/x.npz"}, "is not a plain file name"),
        ({"sha256": None}, "not a sha256 digest"),
        ({"sha256": "0" * 64}, "sha256 mismatch"),
        ({"size_bytes": -1}, "not a positive size"),
        ({"size_bytes": True}, "not a positive size"),
        ({"format": "pickle"}, "is not 'cnw-artifact/1'"),
    ],
)
def test_bad_manifests(models: Path, change: dict, reason: str) -> None:
    write_manifest(models, "delay", {**manifest_of(models, "delay"), **change})
    with pytest.raises(ModelUnavailableError, match=reason) as info:
        Registry(models).get("delay")
    assert_client_safe(info.value.reason, models)


def test_manifest_missing_keys_and_garbage(models: Path) -> None:
    manifest = manifest_of(models, "delay")
    del manifest["sha256"]
    write_manifest(models, "delay", manifest)
    (models / "delay_minutes" / "manifest.json").write_text("{not json")
    registry = Registry(models)
    with pytest.raises(ModelUnavailableError, match="lacks \\['sha256'\\]"):
        registry.get("delay")
    with pytest.raises(ModelUnavailableError, match="not valid JSON"):
        registry.manifest("delay_minutes")


def test_an_oversized_manifest_is_refused_unread(models: Path) -> None:
    with (models / "delay" / "manifest.json").open("ab") as handle:
        handle.write(b" " * MAX_MANIFEST_BYTES)
    with pytest.raises(ModelUnavailableError, match="larger than"):
        Registry(models).manifest("delay")


def test_a_valid_artifact_of_the_wrong_model_is_refused(models: Path) -> None:
    replace_artifact(models, "delay", artifact_of(models, "delay_minutes").read_bytes())
    with pytest.raises(ModelUnavailableError, match="not model 'delay'"):
        Registry(models).get("delay")


@pytest.mark.parametrize("name", ["../delay", "Delay", "delay/..", "", "1delay", "delay-x", "nope"])
def test_unknown_or_invalid_names(models: Path, name: str) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        Registry(models).get(name)
    assert info.value.available == MODEL_NAMES


def test_directories_without_manifest_or_with_bad_names_are_ignored(models: Path) -> None:
    (models / "scratch").mkdir()
    shutil.copytree(models / "delay", models / "Bad-Name")
    (models / "notes.txt").write_text("not a model")
    assert Registry(models).names() == MODEL_NAMES
    assert Registry(models / "absent").names() == []


# ------------------------------------------------------------- files that are not files
def test_a_fifo_artifact_is_refused_without_blocking(models: Path) -> None:
    artifact = artifact_of(models, "delay")
    artifact.unlink()
    os.mkfifo(artifact)  # opening it for reading would block forever without O_NONBLOCK
    registry = Registry(models)
    assert "is not a regular file" in registry.status()["delay"]
    with pytest.raises(ModelUnavailableError, match="is not a regular file"):
        registry.get("delay")
    assert registry.get("delay_minutes")


@pytest.mark.parametrize("target", ["/dev/zero", "/etc/hostname"])
def test_a_symlinked_artifact_is_refused(models: Path, target: str) -> None:
    """A symlink at the artifact (to a device that never ends, or a file outside models/)."""
    artifact = artifact_of(models, "delay")
    artifact.unlink()
    artifact.symlink_to(target)
    registry = Registry(models)
    with pytest.raises(ModelUnavailableError) as info:
        registry.get("delay")
    assert "regular file" in info.value.reason or "symlink" in info.value.reason
    assert_client_safe(info.value.reason, models)
    assert registry.get("delay_minutes")


def test_a_symlinked_manifest_is_refused(models: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.json"
    shutil.copy(models / "delay" / "manifest.json", outside)
    (models / "delay" / "manifest.json").unlink()
    (models / "delay" / "manifest.json").symlink_to(outside)
    with pytest.raises(ModelUnavailableError, match="symlink") as info:
        Registry(models).manifest("delay")
    assert_client_safe(info.value.reason, models)


def test_a_model_directory_mounted_by_symlink_still_serves(models: Path, tmp_path: Path) -> None:
    """Operators may mount a model directory elsewhere; only its files must be regular."""
    shutil.move(models / "delay_minutes", tmp_path / "mounted")
    (models / "delay_minutes").symlink_to(tmp_path / "mounted")
    assert Registry(models).get("delay_minutes").name == "delay_minutes"


# ------------------------------------------------------------------ read failures stay local
def test_io_errors_while_loading_are_that_models_503(
    models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry(models)
    registry.verify()
    real_read = os.read

    def failing_read(fd: int, size: int) -> bytes:
        if os.fstat(fd).st_size == manifest_of(models, "delay")["size_bytes"]:
            raise OSError(errno.EIO, "Input/output error")
        return real_read(fd, size)

    monkeypatch.setattr(os, "read", failing_read)
    with pytest.raises(ModelUnavailableError) as info:
        registry.get("delay")
    assert "cannot be read" in info.value.reason
    assert_client_safe(info.value.reason, models)
    assert "Input/output error" in info.value.detail  # the log keeps the detail
    monkeypatch.setattr(os, "read", real_read)
    assert registry.get("delay_minutes")


def test_memory_errors_while_loading_are_that_models_503(
    models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from challenge_neuralworks import artifacts

    def no_memory(payload: bytes, **_: object) -> object:
        raise MemoryError

    monkeypatch.setattr(artifacts, "loads", no_memory)
    registry = Registry(models)
    with pytest.raises(ModelUnavailableError, match="not enough memory"):
        registry.get("delay")


@pytest.mark.parametrize(
    ("built", "running", "ok"),
    [
        ("2.4.6", "2.1.0", True),
        ("1.26.4", "2.4.6", False),
        ("0.4.1", "0.4.3", True),
        ("0.3.8", "0.4.1", False),
    ],
)
def test_compatibility_rule(built: str, running: str, ok: bool) -> None:
    assert compatible(built, running) is ok
