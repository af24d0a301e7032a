"""Facts the Terraform shares with the package, declared once in the package and checked here:
the routes (infra/routes.json is generated from challenge_neuralworks/routes.py), the function's
environment variable names (challenge_neuralworks/environment.py), and the delay-rate band's
reference (the committed model's manifest).
"""

from __future__ import annotations

import json

from infra_support import INFRA, REPO_ROOT, TerraformTree, load_hcl

from challenge_neuralworks import environment, routes


def test_routes_json_is_generated_from_routes_py() -> None:
    committed = (INFRA / "routes.json").read_text()
    assert committed == routes.to_json(), (
        "infra/routes.json is stale: python -m challenge_neuralworks.routes > infra/routes.json"
    )


def test_the_api_gateway_module_reads_the_routes_file(tf: TerraformTree) -> None:
    expected = '${jsondecode(file("${path.module}/${var.routes_file}")).routes}'
    assert tf.locals(INFRA)["routes"] == expected
    assert tf.variables(INFRA)["routes_file"]["default"] == "routes.json"
    assert tf.modules(INFRA)["api_gateway"]["routes"] == "${local.routes}"


def test_every_function_environment_variable_is_a_name_the_package_reads(
    tf: TerraformTree,
) -> None:
    names = set(tf.locals(INFRA)["lambda_environment"])
    unknown = {n for n in names if n not in environment.ALL and not n.startswith("POWERTOOLS_")}
    assert not unknown, f"not declared in challenge_neuralworks/environment.py: {unknown}"
    assert {environment.STAGE, environment.CAPTURE_SAMPLE, environment.DEPARTURES_TABLE} <= names
    assert tf.modules(INFRA)["lambda"]["environment_variables"] == "${local.lambda_environment}"


def test_capture_sample_per_environment() -> None:
    assert load_hcl(INFRA / "envs" / "dev.tfvars")["capture_sample"] == 1.0
    assert load_hcl(INFRA / "envs" / "prd.tfvars")["capture_sample"] == 0.1


def test_the_delay_rate_band_is_centred_on_the_models_training_value(tf: TerraformTree) -> None:
    """PredictedDelayRate = share of flights the model flags: the manifest's flagged_share."""
    manifest = json.loads((REPO_ROOT / "models" / "delay" / "manifest.json").read_text())
    flagged = manifest["metrics"]["random"]["full"]["flagged_share"]
    band = tf.variables(INFRA)["delay_rate_band"]["default"]
    assert abs(band["reference"] - flagged) < 0.01, (
        f"models/delay was retrained (flagged share {flagged:.3f}): update delay_rate_band"
    )
    assert band["tolerance"] < band["reference"]


def test_rollout_alarm_keys_are_alarms_the_alarms_module_creates(tf: TerraformTree) -> None:
    keys = tf.locals(INFRA)["rollout_alarm_keys"]
    created = set(tf.locals(INFRA / "modules" / "alarms")["alarms"])
    assert keys and set(keys) <= created
    assert set(keys) == {"lambda-errors", "lambda-throttles", "lambda-duration-p99", "api-5xx-rate"}
