"""Gateway configuration: file formats, command-line overrides, validation, worker hand-off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from challenge_neuralworks.local.config import (
    DEFAULT_API_KEY,
    DEFAULT_BURST,
    DEFAULT_HANDLER,
    DEFAULT_INGEST_KEY,
    DEFAULT_RATE,
    ApiKey,
    ConfigError,
    GatewayConfig,
    UsagePlan,
    build_config,
    load_config_file,
    parse_quota,
)

TOML = """
stage = "qa"
handler = "my_pkg.handler.lambda_handler"

[stage_variables]
alias = "live"

[usage_plans.default]
rate = 50
burst = 100

[usage_plans.partner]
rate = 5
burst = 10
quota = "1000/week"

[[api_keys]]
name = "alice"
value = "alice-key-0000000000001"

[[api_keys]]
name = "partner"
value = "partner-key-00000000002"
usage_plan = "partner"
"""


def test_defaults_give_the_development_key() -> None:
    config = build_config()
    assert config.stage == "dev"
    assert config.handler == DEFAULT_HANDLER
    assert [(k.name, k.value, k.usage_plan) for k in config.api_keys] == [
        ("developer", DEFAULT_API_KEY, "default")
    ]
    assert config.plan_for(config.api_keys[0]) == UsagePlan("default", DEFAULT_RATE, DEFAULT_BURST)


def test_environment_key_replaces_the_development_key() -> None:
    config = build_config(env_api_key="from-env-key-000000000")
    assert [k.value for k in config.api_keys] == ["from-env-key-000000000"]


def test_command_line_keys_and_plan_overrides() -> None:
    config = build_config(
        api_keys=["k1-000000000000000000", "k2-000000000000000000"], rate=7, burst=3, quota="20/day"
    )
    assert [k.value for k in config.api_keys] == ["k1-000000000000000000", "k2-000000000000000000"]
    assert config.usage_plans["default"] == UsagePlan("default", 7.0, 3, 20, "DAY")


def test_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(TOML, encoding="utf-8")
    config = build_config(load_config_file(path), burst=200)
    assert config.stage == "qa"
    assert config.handler == "my_pkg.handler.lambda_handler"
    assert config.stage_variables == {"alias": "live"}
    alice, partner = config.api_keys
    assert config.plan_for(alice) == UsagePlan("default", 50.0, 200)
    assert config.plan_for(partner) == UsagePlan("partner", 5.0, 10, 1000, "WEEK")


def test_json_file_equals_toml(tmp_path: Path) -> None:
    import tomllib

    json_path = tmp_path / "gateway.json"
    json_path.write_text(json.dumps(tomllib.loads(TOML)), encoding="utf-8")
    toml_path = tmp_path / "gateway.toml"
    toml_path.write_text(TOML, encoding="utf-8")
    assert build_config(load_config_file(json_path)) == build_config(load_config_file(toml_path))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"stages": "dev"}, "unknown setting"),
        ({"usage_plans": {"default": {"rate": 1, "brust": 2}}}, "unknown setting"),
        ({"api_keys": [{"name": "x"}]}, "'value' is required"),
        ({"api_keys": [{"value": "v", "usage_plan": "gold"}]}, "not defined"),
        ({"api_keys": [{"value": "v"}, {"value": "v"}]}, "unique"),
        ({"stage": "has space"}, "stage"),
        ({"usage_plans": {"default": {"rate": 0}}}, "rate must be > 0"),
        ({"usage_plans": {"default": {"burst": 0}}}, "burst"),
        ({"usage_plans": {"default": {"quota": "10/year"}}}, "quota"),
    ],
)
def test_invalid_configuration_is_refused_with_a_reason(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_config(data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10000/day", (10000, "DAY")), ("5/Week", (5, "WEEK")), (" 1 / month", (1, "MONTH"))],
)
def test_quota_syntax(text: str, expected: tuple[int, str]) -> None:
    assert parse_quota(text) == expected


@pytest.mark.parametrize("text", ["10000", "day/10", "-1/day", "1.5/day", "10/hour"])
def test_bad_quota_syntax(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_quota(text)


def test_unsupported_or_broken_files(tmp_path: Path) -> None:
    yaml = tmp_path / "gateway.yaml"
    yaml.write_text("stage: dev", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\.toml or \.json"):
        load_config_file(yaml)
    broken = tmp_path / "gateway.toml"
    broken.write_text("stage = ", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"gateway\.toml"):
        load_config_file(broken)
    with pytest.raises(ConfigError, match=r"missing\.json"):
        load_config_file(tmp_path / "missing.json")


def test_configuration_survives_the_trip_to_worker_processes() -> None:
    config = GatewayConfig(
        stage="qa",
        api_keys=(
            ApiKey("a", "key-a-0000000000000000"),
            ApiKey("b", "key-b-0000000000000000", "p"),
        ),
        usage_plans={"default": UsagePlan("default"), "p": UsagePlan("p", 2.5, 4, 9, "MONTH")},
        stage_variables={"x": "y"},
        shared_state_path="/dev/shm/x",
    )
    assert GatewayConfig.from_json(config.to_json()) == config


def test_api_key_ids_are_stable_and_distinct() -> None:
    a, b = ApiKey("a", "key-a-0000000000000000"), ApiKey("b", "key-b-0000000000000000")
    assert a.key_id == ApiKey("other name", "key-a-0000000000000000").key_id
    assert a.key_id != b.key_id
    assert len(a.key_id) == 10


def test_function_defaults_follow_infra_naming() -> None:
    assert GatewayConfig().lambda_function_name == "cnw-dev"
    assert GatewayConfig(stage="prd").lambda_function_name == "cnw-prd"
    assert GatewayConfig(function_name="custom").lambda_function_name == "custom"


@pytest.mark.parametrize("timeout_ms", [0, 999, 29_000, 60_000])
def test_lambda_timeout_must_stay_below_the_integration_timeout(timeout_ms: int) -> None:
    # Built in code the objects raise pydantic's error; from a file the rule is a ConfigError.
    with pytest.raises(ValidationError, match="29 s"):
        GatewayConfig(timeout_ms=timeout_ms)
    with pytest.raises(ConfigError, match="29 s"):
        build_config({"timeout_ms": timeout_ms})


def test_unknown_settings_name_what_is_allowed() -> None:
    with pytest.raises(ConfigError, match=r"usage_plans\.gold\.brust: unknown setting.*'burst'"):
        build_config({"usage_plans": {"gold": {"brust": 2}}})
    with pytest.raises(ConfigError, match=r"stages: unknown setting.*'stage'"):
        build_config({"stages": "dev"})


def test_ingest_key_defaults_to_the_development_value_and_can_be_replaced() -> None:
    assert build_config().ingest_key == DEFAULT_INGEST_KEY
    assert build_config({"ingest_key": "from-file"}).ingest_key == "from-file"
    assert build_config({"ingest_key": "from-file"}, ingest_key="cli").ingest_key == "cli"
    with pytest.raises(ValidationError, match="ingest key"):
        GatewayConfig(ingest_key="")


def test_connection_timeouts_come_from_the_file() -> None:
    config = build_config({"header_timeout_s": 2, "keep_alive_timeout_s": 1.5})
    assert (config.header_timeout_s, config.keep_alive_timeout_s) == (2.0, 1.5)
    with pytest.raises(ConfigError, match="timeouts must be > 0"):
        build_config({"body_timeout_s": 0})


@pytest.mark.parametrize("burst", [True, 2.5, "3"])
def test_burst_must_be_an_integer(burst: object) -> None:
    with pytest.raises(ConfigError, match="burst"):
        build_config({"usage_plans": {"default": {"burst": burst}}})
