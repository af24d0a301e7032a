"""``serve``'s options: what it reads from the environment and what it hands the handler."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from challenge_neuralworks import environment
from challenge_neuralworks.local import cli
from challenge_neuralworks.local.app import GatewayApp, create_app_from_env
from challenge_neuralworks.local.config import DEFAULT_INGEST_KEY, GatewayConfig
from challenge_neuralworks.local.execution import InlineEnvironment, ProcessEnvironment
from challenge_neuralworks.routes import ROUTES, Route


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.configure(parser)
    return parser.parse_args(argv)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in environment.ALL:
        monkeypatch.delenv(name, raising=False)


def test_keys_come_from_the_environment_names_of_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(environment.API_KEY, "env-api-key-000000000000")
    monkeypatch.setenv(environment.INGEST_KEY, "env-ingest-key")
    config = cli.gateway_config(parse())
    assert [key.value for key in config.api_keys] == ["env-api-key-000000000000"]
    assert config.ingest_key == "env-ingest-key"
    assert cli.gateway_config(parse("--ingest-key", "cli-ingest")).ingest_key == "cli-ingest"


def test_defaults_without_environment() -> None:
    config = cli.gateway_config(parse())
    assert config.ingest_key == DEFAULT_INGEST_KEY
    assert config.isolation == "process"
    assert cli.gateway_config(parse("--in-process")).isolation == "inline"


def test_log_level_default_reads_log_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(environment.LOG_LEVEL, "WARNING")
    assert parse().log_level == "warning"


def test_the_handler_gets_stage_models_and_capture_directories(tmp_path: Path) -> None:
    args = parse(
        "--stage", "qa", "--models-dir", str(tmp_path), "--capture-dir", str(tmp_path / "c")
    )
    handler_env = cli._handler_environment(args, cli.gateway_config(args))
    assert handler_env == {
        environment.STAGE: "qa",
        environment.MODELS_DIR: str(tmp_path.resolve()),
        environment.CAPTURE_DIR: str((tmp_path / "c").resolve()),
    }
    assert cli._handler_environment(parse(), GatewayConfig()) == {environment.STAGE: "dev"}


def test_banner_names_the_docs_and_the_ingest_header_only_with_iam_routes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keyed_only = tuple(r for r in ROUTES if r.authorization != "AWS_IAM")
    monkeypatch.setattr(cli, "ROUTES", keyed_only)
    text = cli.banner(GatewayConfig(), "127.0.0.1", 8123, 1)
    assert "Docs:     http://127.0.0.1:8123/dev/docs" in text
    assert "x-ingest-key" not in text
    ingest = Route("POST", "/departures", "report", "Report", "AWS_IAM")
    monkeypatch.setattr(cli, "ROUTES", (*keyed_only, ingest))
    text = cli.banner(GatewayConfig(), "127.0.0.1", 8123, 1)
    assert f"x-ingest-key: {DEFAULT_INGEST_KEY}" in text
    assert "/departures" in text
    custom = cli.banner(GatewayConfig(ingest_key="not-shown-secret"), "127.0.0.1", 8123, 1)
    assert "not-shown-secret" not in custom


def test_worker_processes_rebuild_the_configuration_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = GatewayConfig(stage="qa", ingest_key="worker-ingest")
    monkeypatch.setenv(environment.GATEWAY_CONFIG, config.to_json())
    app = create_app_from_env()
    assert app.config == config
    assert isinstance(app.environment, ProcessEnvironment)
    monkeypatch.delenv(environment.GATEWAY_CONFIG)
    with pytest.raises(RuntimeError, match="serve"):
        create_app_from_env()


def test_in_process_isolation_imports_the_handler_into_the_worker() -> None:
    app = GatewayApp(GatewayConfig(isolation="inline"))
    assert isinstance(app.environment, InlineEnvironment)
