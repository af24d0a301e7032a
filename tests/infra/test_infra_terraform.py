"""Structural checks of infra/ (read with python-hcl2): the properties the design promises.

``terraform validate`` needs the provider registry, unreachable here (CI's ci.yml runs it); the
consistency tests at the end (module arguments, var./local./module. references) catch the class of
mistakes validate would, without a provider.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from infra_support import INFRA, TerraformTree, load_hcl

ROOT = INFRA
MODULES = INFRA / "modules"

#: Resource types whose AWS API accepts tags: the provider's default_tags reach all of them.
TAGGABLE = {
    "aws_api_gateway_api_key",
    "aws_api_gateway_rest_api",
    "aws_api_gateway_stage",
    "aws_api_gateway_usage_plan",
    "aws_cloudwatch_log_group",
    "aws_cloudwatch_metric_alarm",
    "aws_ecr_repository",
    "aws_iam_openid_connect_provider",
    "aws_iam_role",
    "aws_lambda_function",
}
#: Types with no tags argument in the AWS provider (sub-resources and attachments).
NOT_TAGGABLE = {
    "aws_api_gateway_account",
    "aws_api_gateway_deployment",
    "aws_api_gateway_integration",
    "aws_api_gateway_method",
    "aws_api_gateway_method_settings",
    "aws_api_gateway_request_validator",
    "aws_api_gateway_resource",
    "aws_api_gateway_usage_plan_key",
    "aws_ecr_lifecycle_policy",
    "aws_ecr_repository_policy",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_lambda_alias",
    "aws_lambda_permission",
    "aws_lambda_provisioned_concurrency_config",
}
DOCUMENTED_ROUTES = {
    ("GET", "/health"),
    ("GET", "/models"),
    ("GET", "/models/{model_name}"),
    ("POST", "/inference/{model_name}"),
}


def _ignored(block_body: dict) -> list[str]:
    lifecycle = block_body.get("lifecycle", [{}])[0]
    return [str(item).strip("${}") for item in lifecycle.get("ignore_changes", [])]


# --- versions, provider, tags -------------------------------------------------------------------


def test_versions_pin_terraform_aws_provider_and_terraform_cloud(tf: TerraformTree) -> None:
    terraform = tf.files[ROOT / "versions.tf"]["terraform"][0]
    assert terraform["required_version"].startswith(">= 1.6")
    aws = terraform["required_providers"][0]["aws"]
    assert aws["source"] == "hashicorp/aws"
    assert re.fullmatch(r"~> 5\.\d+", aws["version"]), aws["version"]
    cloud = terraform["cloud"][0]
    # Organisation and workspace come from TF_CLOUD_ORGANIZATION / TF_WORKSPACE, never the repo.
    assert "organization" not in cloud
    assert cloud["workspaces"][0]["tags"] == ["challenge-neuralworks"]
    backends = [
        p for p, parsed in tf.files.items() for t in parsed.get("terraform", []) if "backend" in t
    ]
    assert not backends, f"backend blocks next to the cloud block: {backends}"


def test_only_the_root_declares_the_provider_and_it_sets_default_tags(tf: TerraformTree) -> None:
    declaring = [path for path, parsed in tf.files.items() if "provider" in parsed]
    assert declaring == [ROOT / "providers.tf"], declaring
    aws = tf.files[ROOT / "providers.tf"]["provider"][0]["aws"]
    assert aws["default_tags"][0]["tags"] == "${local.tags}"
    tags_expression = tf.locals(ROOT)["tags"]
    for key in ("Project", "Environment", "ManagedBy", "Repository"):
        assert f"{key} = " in tags_expression, f"default tag {key} missing: {tags_expression}"


def test_every_resource_type_is_tagged_by_default_tags_or_cannot_be_tagged(
    tf: TerraformTree,
) -> None:
    """default_tags tag every taggable resource; a new, unclassified type fails here until reviewed.

    A resource could still defeat default_tags by managing ``tags``/``tags_all`` itself with an
    empty map, so that is refused too.
    """
    types = {block.type for block in tf.resources()}
    unclassified = types - TAGGABLE - NOT_TAGGABLE
    assert not unclassified, f"classify these resource types as taggable or not: {unclassified}"
    assert types & TAGGABLE, "no taggable resource found: the parse is broken"
    for block in tf.resources():
        assert block.body.get("tags", None) not in ({}, "${{}}"), f"{block.type}.{block.name}"
        assert "tags_all" not in block.body, f"{block.type}.{block.name} sets tags_all"


# --- ECR ----------------------------------------------------------------------------------------


def test_ecr_is_immutable_scanned_and_has_a_lifecycle_policy(tf: TerraformTree) -> None:
    repo = tf.resource("aws_ecr_repository", "this").body
    assert repo["image_tag_mutability"] == "IMMUTABLE"
    assert repo["image_scanning_configuration"][0]["scan_on_push"] is True
    policy = tf.resource("aws_ecr_lifecycle_policy", "this").body
    assert policy["repository"] == "${aws_ecr_repository.this.name}"
    assert "tagStatus" in policy["policy"]
    assert "untagged" in policy["policy"]
    assert "imageCountMoreThan" in policy["policy"]


# --- Lambda -------------------------------------------------------------------------------------


def test_lambda_is_an_image_function_whose_image_belongs_to_ci(tf: TerraformTree) -> None:
    fn = tf.resource("aws_lambda_function", "this").body
    assert fn["package_type"] == "Image"
    assert fn["image_uri"] == "${var.image_uri}"
    assert "image_uri" in _ignored(fn)
    assert fn["publish"] is True
    assert fn["tracing_config"][0]["mode"] == "Active"
    assert fn["reserved_concurrent_executions"] == "${var.reserved_concurrency}"
    assert fn["memory_size"] == "${var.memory_mb}"
    assert fn["timeout"] == "${var.timeout_seconds}"
    assert fn["logging_config"][0]["log_group"] == "${aws_cloudwatch_log_group.this.name}"
    root_call = tf.modules(ROOT)["lambda"]
    assert root_call["image_uri"] == "${module.ecr.repository_url}:${var.image_tag}"


def test_alias_version_belongs_to_ci_and_provisioned_concurrency_targets_the_alias(
    tf: TerraformTree,
) -> None:
    alias = tf.resource("aws_lambda_alias", "live").body
    assert alias["function_version"] == "${aws_lambda_function.this.version}"
    assert "function_version" in _ignored(alias)
    provisioned = tf.resource("aws_lambda_provisioned_concurrency_config", "live").body
    assert provisioned["qualifier"] == "${aws_lambda_alias.live.name}"


def _timeout_rules(tf: TerraformTree) -> list[str]:
    return [
        tf.variables(ROOT)["lambda_timeout_seconds"]["validation"][0]["condition"],
        tf.variables(MODULES / "lambda")["timeout_seconds"]["validation"][0]["condition"],
    ]


def test_lambda_timeout_is_validated_below_api_gateways_29_seconds(tf: TerraformTree) -> None:
    for condition in _timeout_rules(tf):
        assert "< 29" in condition, condition
    assert tf.variables(ROOT)["lambda_timeout_seconds"]["default"] < 29
    for env in ("dev", "prd"):
        assert load_hcl(INFRA / "envs" / f"{env}.tfvars")["lambda_timeout_seconds"] < 29


def test_log_groups_have_a_retention(tf: TerraformTree) -> None:
    groups = tf.resources("aws_cloudwatch_log_group")
    assert len(groups) == 2, [g.name for g in groups]
    for group in groups:
        assert group.body["retention_in_days"] == "${var.log_retention_days}"


def test_execution_role_writes_only_its_own_log_group(tf: TerraformTree) -> None:
    policy = tf.data("aws_iam_policy_document", "execution", MODULES / "lambda").body
    logs = next(s for s in policy["statement"] if s["sid"] == "OwnLogGroupOnly")
    assert logs["resources"] == ["${aws_cloudwatch_log_group.this.arn}:*"]
    wildcard = [s["sid"] for s in policy["statement"] if "*" in s["resources"]]
    assert wildcard == ["XRayWrite"], "only X-Ray (no resource-level permissions) may use *"


# --- API Gateway --------------------------------------------------------------------------------


def test_routes_are_the_documented_api_plus_an_any_method_each(tf: TerraformTree) -> None:
    api_locals = tf.locals(MODULES / "api_gateway")
    routes = {(r["method"], r["path"]) for r in api_locals["routes"].values()}
    assert routes == DOCUMENTED_ROUTES
    assert '[route.method, "ANY"]' in api_locals["methods"]
    assert tf.resource("aws_api_gateway_method", "this").body["for_each"] == "${local.methods}"
    paths = {b.name: b.body["path_part"] for b in tf.resources("aws_api_gateway_resource")}
    assert paths == {"top": "${each.key}", "model_name": "{model_name}"}


def test_every_method_requires_an_api_key_and_validates_parameters(tf: TerraformTree) -> None:
    methods = tf.resources("aws_api_gateway_method")
    assert methods, "no API Gateway method found"
    for method in methods:
        assert method.body["api_key_required"] is True, method.name
        assert method.body["authorization"] == "NONE"
        validator_ref = "${aws_api_gateway_request_validator.parameters.id}"
        assert method.body["request_validator_id"] == validator_ref
    api_locals = tf.locals(MODULES / "api_gateway")
    assert api_locals["model_parameters"] == {"method.request.path.model_name": True}
    # A missing key must stay API Gateway's 403 "Forbidden", never a validator's 400.
    assert "x-api-key" not in str(api_locals), "do not validate the x-api-key header"
    validator = tf.resource("aws_api_gateway_request_validator", "parameters").body
    assert validator["validate_request_parameters"] is True
    # Bodies are the Lambda's job, so every invalid request gets the API's own error shape.
    assert validator["validate_request_body"] is False


def test_integrations_are_lambda_proxy_to_the_alias(tf: TerraformTree) -> None:
    integration = tf.resource("aws_api_gateway_integration", "this").body
    assert integration["type"] == "AWS_PROXY"
    assert integration["integration_http_method"] == "POST"
    assert integration["uri"] == "${var.lambda_alias_invoke_arn}"
    assert integration["for_each"] == "${aws_api_gateway_method.this}"
    call = tf.modules(ROOT)["api_gateway"]
    assert call["lambda_alias_invoke_arn"] == "${module.lambda.alias_invoke_arn}"
    assert tf.outputs(MODULES / "lambda")["alias_invoke_arn"]["value"] == (
        "${aws_lambda_alias.live.invoke_arn}"
    )
    rule = tf.variables(MODULES / "api_gateway")["lambda_alias_invoke_arn"]["validation"][0]
    assert "/invocations$" in rule["condition"]


def test_lambda_permission_is_scoped_to_this_api_stage_and_alias(tf: TerraformTree) -> None:
    permission = tf.resource("aws_lambda_permission", "api").body
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["qualifier"] == "${var.lambda_alias_name}"
    assert permission["source_arn"] == (
        "${aws_api_gateway_rest_api.this.execution_arn}/${var.stage_name}/*/*"
    )


def test_deployment_redeploys_on_route_changes_and_is_created_before_destroyed(
    tf: TerraformTree,
) -> None:
    deployment = tf.resource("aws_api_gateway_deployment", "this").body
    trigger = deployment["triggers"]["redeployment"]
    assert trigger.startswith("${sha1(jsonencode(")
    for part in (
        "local.routes",
        "aws_api_gateway_resource.top",
        "aws_api_gateway_resource.model_name",
        "aws_api_gateway_method.this",
        "aws_api_gateway_integration.this",
        "aws_api_gateway_request_validator.parameters",
    ):
        assert part in trigger, f"{part} missing from the redeployment trigger"
    assert deployment["lifecycle"][0]["create_before_destroy"] is True


def test_stage_has_json_access_logs_xray_and_method_settings(tf: TerraformTree) -> None:
    stage = tf.resource("aws_api_gateway_stage", "this").body
    assert stage["xray_tracing_enabled"] is True
    access = stage["access_log_settings"][0]
    assert access["destination_arn"] == "${aws_cloudwatch_log_group.access.arn}"
    assert access["format"].startswith("${jsonencode(")
    for field in ("$context.requestId", "$context.status", "$context.identity.apiKeyId"):
        assert field in access["format"]
    settings = tf.resource("aws_api_gateway_method_settings", "all").body
    assert settings["method_path"] == "*/*"
    applied = settings["settings"][0]
    assert applied["metrics_enabled"] is True
    assert applied["throttling_rate_limit"] == "${var.stage_throttle.rate_limit}"
    assert applied["throttling_burst_limit"] == "${var.stage_throttle.burst_limit}"


def test_usage_plans_are_attached_to_the_stage_and_own_the_keys(tf: TerraformTree) -> None:
    plan = tf.resource("aws_api_gateway_usage_plan", "this").body
    assert plan["for_each"] == "${var.usage_plans}"
    stages = plan["api_stages"][0]
    assert stages["api_id"] == "${aws_api_gateway_rest_api.this.id}"
    assert stages["stage"] == "${aws_api_gateway_stage.this.stage_name}"
    assert plan["throttle_settings"][0]["rate_limit"] == "${each.value.rate_limit}"
    assert plan["quota_settings"][0]["limit"] == "${each.value.quota_limit}"
    key = tf.resource("aws_api_gateway_api_key", "this").body
    assert key["for_each"] == "${var.api_keys}"
    assert "value" not in key, "API key values must be generated by AWS, never in code"
    link = tf.resource("aws_api_gateway_usage_plan_key", "this").body
    assert link["key_id"] == "${aws_api_gateway_api_key.this[each.key].id}"
    assert link["usage_plan_id"] == "${aws_api_gateway_usage_plan.this[each.value.usage_plan].id}"


# --- alarms and OIDC ----------------------------------------------------------------------------


def test_alarms_cover_5xx_rate_p99_latency_throttles_and_errors(tf: TerraformTree) -> None:
    alarms = tf.locals(MODULES / "alarms")["alarms"]
    signals = {
        (a["namespace"], a["metric"], a["percentile"] or a["statistic"]) for a in alarms.values()
    }
    assert signals == {
        ("AWS/ApiGateway", "5XXError", "Average"),
        ("AWS/ApiGateway", "Latency", "p99"),
        ("AWS/Lambda", "Throttles", "Sum"),
        ("AWS/Lambda", "Errors", "Sum"),
    }
    alarm = tf.resource("aws_cloudwatch_metric_alarm", "this").body
    assert alarm["alarm_actions"] == "${local.actions}"
    actions = tf.locals(MODULES / "alarms")["actions"]
    assert "var.sns_topic_arn == null" in actions


def test_github_deploy_role_trusts_one_repository_environment_only(tf: TerraformTree) -> None:
    oidc = MODULES / "github_oidc"
    assert tf.locals(oidc)["subject"] == (
        "repo:${var.repository}:environment:${var.github_environment}"
    )
    trust = tf.data("aws_iam_policy_document", "trust", oidc).body["statement"][0]
    conditions = {c["variable"]: c for c in trust["condition"]}
    assert conditions["${local.oidc_host}:aud"]["values"] == ["sts.amazonaws.com"]
    subject = conditions["${local.oidc_host}:sub"]
    assert subject["test"] == "StringEquals", "a wildcard subject would trust other branches/repos"
    assert subject["values"] == ["${local.subject}"]
    permissions = tf.data("aws_iam_policy_document", "deploy", oidc).body["statement"]
    wildcard = [s["sid"] for s in permissions if "*" in s["resources"]]
    assert wildcard == ["EcrLogin"]
    lambda_statement = next(s for s in permissions if s["sid"] == "RollOutThisFunctionOnly")
    assert "lambda:CreateAlias" not in lambda_statement["actions"], "Terraform owns the alias"


# --- variables, outputs, environments -----------------------------------------------------------

_UNVALIDATED_ROOT_VARIABLES = {"create_github_oidc_provider", "manage_api_gateway_account"}


def test_every_variable_and_output_is_described(tf: TerraformTree) -> None:
    for block in [*tf.blocks("variable"), *tf.blocks("output")]:
        assert len(block.body.get("description", "")) >= 10, f"{block.path}: {block.name}"


def test_root_variables_are_validated(tf: TerraformTree) -> None:
    for name, body in tf.variables(ROOT).items():
        if name not in _UNVALIDATED_ROOT_VARIABLES:
            assert body.get("validation"), f"root variable {name} has no validation"


def test_root_outputs_expose_what_ci_and_operators_need(tf: TerraformTree) -> None:
    outputs = tf.outputs(ROOT)
    for name in (
        "invoke_url",
        "api_key_ids",
        "smoke_api_key_id",
        "function_name",
        "alias_name",
        "ecr_repository_url",
        "deploy_role_arn",
    ):
        assert name in outputs, f"output {name} missing"


@pytest.mark.parametrize("env", ["dev", "prd"])
def test_environment_tfvars_are_complete_and_consistent(tf: TerraformTree, env: str) -> None:
    values = load_hcl(INFRA / "envs" / f"{env}.tfvars")
    assert values["environment"] == env
    unknown = set(values) - set(tf.variables(ROOT))
    assert not unknown, f"{env}.tfvars sets undeclared variables {unknown}"
    plans = values["usage_plans"]
    for name, key in values["api_keys"].items():
        assert key["usage_plan"] in plans, f"key {name} names unknown plan {key['usage_plan']}"
    assert tf.variables(ROOT)["smoke_api_key"]["default"] in values["api_keys"]
    reserved = values["lambda_reserved_concurrency"]
    assert reserved == -1 or values["lambda_provisioned_concurrency"] <= reserved
    for plan in plans.values():
        assert plan["quota_period"] in {"DAY", "WEEK", "MONTH"}
        assert plan["rate_limit"] <= values["stage_throttle"]["rate_limit"]


def test_production_keeps_a_warm_instance_and_dev_does_not(tf: TerraformTree) -> None:
    assert load_hcl(INFRA / "envs" / "prd.tfvars")["lambda_provisioned_concurrency"] >= 1
    assert load_hcl(INFRA / "envs" / "dev.tfvars")["lambda_provisioned_concurrency"] == 0


# --- consistency (what `terraform validate` would catch) ----------------------------------------

_META_ARGUMENTS = {"source", "depends_on", "providers", "count", "for_each", "version"}


def _module_dirs(tf: TerraformTree) -> set[Path]:
    return {path.parent for path in tf.files}


def test_module_calls_match_the_modules_variables(tf: TerraformTree) -> None:
    calls = tf.modules(ROOT)
    assert set(calls) == {"ecr", "lambda", "api_gateway", "alarms", "github_oidc"}
    for name, call in calls.items():
        module_dir = (ROOT / call["source"]).resolve()
        assert module_dir.is_dir(), f"module {name}: {call['source']} does not exist"
        declared = tf.variables(module_dir)
        passed = set(call) - _META_ARGUMENTS
        assert passed <= set(declared), f"module {name} gets undeclared {passed - set(declared)}"
        required = {v for v, body in declared.items() if "default" not in body}
        assert required <= passed, f"module {name} misses required {required - passed}"


def _source_text(module_dir: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(module_dir.glob("*.tf")))


def test_every_var_local_and_module_reference_resolves(tf: TerraformTree) -> None:
    for module_dir in _module_dirs(tf):
        text = re.sub(r"(?m)^\s*#.*$", "", _source_text(module_dir))
        variables = set(tf.variables(module_dir))
        local_names = set(tf.locals(module_dir))
        for ref in set(re.findall(r"\bvar\.([a-z_][a-z0-9_]*)", text)):
            assert ref in variables, f"{module_dir}: var.{ref} is not declared"
        for ref in set(re.findall(r"\blocal\.([a-z_][a-z0-9_]*)", text)):
            assert ref in local_names, f"{module_dir}: local.{ref} is not defined"
        calls = tf.modules(module_dir)
        for name, output in set(re.findall(r"\bmodule\.([a-z_]+)\.([a-z_]+)", text)):
            assert name in calls, f"{module_dir}: module.{name} is not called"
            called_dir = (module_dir / calls[name]["source"]).resolve()
            assert output in tf.outputs(called_dir), f"module.{name}.{output} is not an output"
        unused = variables - set(re.findall(r"\bvar\.([a-z_][a-z0-9_]*)", text))
        assert not unused, f"{module_dir}: variables declared but never used: {unused}"
