"""Structural checks of infra/ read with python-hcl2: what `terraform validate` and the mocked
`terraform test` suites (test_terraform.py) do not see, and all the checking the Terraform Cloud /
GitHub root (infra/bootstrap/tfc) gets on a machine without its providers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from infra_support import INFRA, TerraformTree, load_hcl, load_tree

SERVICE = INFRA
BOOTSTRAP = INFRA / "bootstrap"
TFC = BOOTSTRAP / "tfc"
MODULES = INFRA / "modules"
ROOTS = (SERVICE, BOOTSTRAP, TFC)

#: Resource types whose AWS API accepts tags: the provider's default_tags reach all of them.
TAGGABLE = {
    "aws_api_gateway_api_key",
    "aws_api_gateway_rest_api",
    "aws_api_gateway_stage",
    "aws_api_gateway_usage_plan",
    "aws_cloudwatch_log_group",
    "aws_cloudwatch_metric_alarm",
    "aws_dynamodb_table",
    "aws_ecr_repository",
    "aws_iam_openid_connect_provider",
    "aws_iam_role",
    "aws_kinesis_firehose_delivery_stream",
    "aws_lambda_function",
    "aws_s3_bucket",
    "aws_sns_topic",
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
    "aws_cloudwatch_dashboard",
    "aws_cloudwatch_log_stream",
    "aws_cloudwatch_log_subscription_filter",
    "aws_ecr_lifecycle_policy",
    "aws_ecr_repository_policy",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_lambda_alias",
    "aws_lambda_permission",
    "aws_lambda_provisioned_concurrency_config",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_versioning",
    "aws_sns_topic_policy",
    "aws_sns_topic_subscription",
}


def _terraform_block(root: Path) -> dict:
    return load_hcl(root / "versions.tf")["terraform"][0]


# --- versions, state, providers -----------------------------------------------------------------


def test_service_stack_runs_in_terraform_cloud_without_naming_the_organisation() -> None:
    terraform = _terraform_block(SERVICE)
    assert terraform["required_version"].startswith(">= 1.7")
    cloud = terraform["cloud"][0]
    assert "organization" not in cloud, "TF_CLOUD_ORGANIZATION chooses it"
    assert cloud["workspaces"][0]["tags"] == ["challenge-neuralworks"]


def test_bootstrap_roots_keep_local_state_and_pin_their_providers() -> None:
    for root in (BOOTSTRAP, TFC):
        terraform = _terraform_block(root)
        assert "cloud" not in terraform and "backend" not in terraform, root
        for provider in terraform["required_providers"][0].values():
            assert re.fullmatch(r">= \d+\.\d+\.\d+, < \d+\.0\.0", provider["version"]), provider


def test_aws_roots_share_one_provider_constraint() -> None:
    constraints = {
        _terraform_block(root)["required_providers"][0]["aws"]["version"]
        for root in (SERVICE, BOOTSTRAP)
    }
    assert constraints == {">= 5.100.0, < 6.0.0"}


@pytest.mark.parametrize("root", [SERVICE, BOOTSTRAP], ids=["service", "bootstrap"])
def test_only_the_root_declares_the_provider_and_it_sets_default_tags(root: Path) -> None:
    tree = load_tree(root)
    declaring = [p for p, parsed in tree.files.items() if "provider" in parsed and p.parent == root]
    assert declaring == [root / "providers.tf"], declaring
    nested = [p for p, parsed in tree.files.items() if "provider" in parsed and p.parent != root]
    assert all(p.parent in ROOTS for p in nested), f"a module declares a provider: {nested}"
    aws = load_hcl(root / "providers.tf")["provider"][0]["aws"]
    assert aws["default_tags"], "every resource is tagged through default_tags"


def test_every_resource_type_is_tagged_by_default_tags_or_cannot_be_tagged(
    tf: TerraformTree,
) -> None:
    """A new, unclassified resource type fails here until reviewed."""
    types = {block.type for block in tf.resources() if block.type.startswith("aws_")}
    unclassified = types - TAGGABLE - NOT_TAGGABLE
    assert not unclassified, f"classify these resource types as taggable or not: {unclassified}"
    for block in tf.resources():
        assert block.body.get("tags", None) not in ({}, "${{}}"), f"{block.type}.{block.name}"
        assert "tags_all" not in block.body, f"{block.type}.{block.name} sets tags_all"


# --- once-per-account things live in the bootstrap only (defect 3) -------------------------------


@pytest.mark.parametrize(
    "resource_type",
    ["aws_iam_openid_connect_provider", "aws_api_gateway_account", "aws_ecr_repository"],
)
def test_account_wide_resources_exist_only_in_the_bootstrap(
    tf: TerraformTree, resource_type: str
) -> None:
    places = {block.path.parent for block in tf.resources(resource_type)}
    assert places == {BOOTSTRAP}, places


def test_the_deployment_trigger_hashes_configuration_not_resource_objects(
    tf: TerraformTree,
) -> None:
    """Hashing resource objects made every second plan redeploy the API (defect 11)."""
    deployment = tf.resource("aws_api_gateway_deployment", "this").body
    assert deployment["triggers"]["redeployment"] == "${sha1(jsonencode(local.deployment_inputs))}"
    inputs = str(tf.locals(MODULES / "api_gateway")["deployment_inputs"])
    assert "aws_" not in inputs, f"a resource object leaked into the trigger: {inputs}"
    assert deployment["lifecycle"][0]["create_before_destroy"] is True


def test_no_environment_reserves_concurrency_by_default(tf: TerraformTree) -> None:
    assert tf.variables(SERVICE)["lambda_reserved_concurrency"]["default"] is None
    for env in ("dev", "prd"):
        assert "lambda_reserved_concurrency" not in load_hcl(INFRA / "envs" / f"{env}.tfvars")


# --- variables, outputs, environments -----------------------------------------------------------


def test_every_variable_and_output_is_described(tf: TerraformTree) -> None:
    for block in [*tf.blocks("variable"), *tf.blocks("output")]:
        assert len(block.body.get("description", "")) >= 10, f"{block.path}: {block.name}"


_UNVALIDATED = {
    SERVICE: set(),
    BOOTSTRAP: {
        "create_github_oidc_provider",
        "create_tfc_oidc_provider",
        "manage_api_gateway_account",
        "tfc_project",
        "tfc_hostname",
    },
}


@pytest.mark.parametrize("root", [SERVICE, BOOTSTRAP], ids=["service", "bootstrap"])
def test_root_variables_are_validated(tf: TerraformTree, root: Path) -> None:
    for name, body in tf.variables(root).items():
        if name not in _UNVALIDATED[root]:
            assert body.get("validation"), f"{root.name}: variable {name} has no validation"


@pytest.mark.parametrize("env", ["dev", "prd"])
def test_environment_tfvars_are_complete_and_consistent(tf: TerraformTree, env: str) -> None:
    values = load_hcl(INFRA / "envs" / f"{env}.tfvars")
    assert values["environment"] == env
    unknown = set(values) - set(tf.variables(SERVICE))
    assert not unknown, f"{env}.tfvars sets undeclared variables {unknown}"
    plans = values["usage_plans"]
    for name, key in values["api_keys"].items():
        assert key["usage_plan"] in plans, f"key {name} names unknown plan {key['usage_plan']}"
    assert tf.variables(SERVICE)["smoke_api_key"]["default"] in values["api_keys"]
    for plan in plans.values():
        assert plan["rate_limit"] <= values["stage_throttle"]["rate_limit"]


# --- the Terraform Cloud / GitHub root (no provider here: structure only) -----------------------


@pytest.fixture(scope="module")
def tfc() -> TerraformTree:
    return load_tree(TFC)


def test_tfc_root_creates_tagged_workspaces_with_dynamic_aws_credentials(
    tfc: TerraformTree,
) -> None:
    workspace = tfc.resource("tfe_workspace", "service").body
    assert workspace["name"] == "cnw-${each.key}"
    assert "challenge-neuralworks" in workspace["tag_names"]
    assert workspace["auto_apply"] is False, "prd applies only a saved, approved plan"
    keys = {tfc.resource("tfe_variable", n).body["key"] for n in ("aws_auth", "aws_role")}
    assert keys == {"TFC_AWS_PROVIDER_AUTH", "TFC_AWS_RUN_ROLE_ARN"}
    assert tfc.resource("tfe_variable", "aws_role").body["value"] == (
        "${local.aws.tfc_role_arns[each.key]}"
    )


def test_tfc_root_gives_pull_requests_a_plan_only_token(tfc: TerraformTree) -> None:
    assert tfc.resource("tfe_team_access", "plans").body["access"] == "plan"
    secret = tfc.resource("github_actions_secret", "tf_plan_token").body
    assert (secret["secret_name"], secret["plaintext_value"]) == (
        "TF_PLAN_TOKEN",
        "${tfe_team_token.plans.token}",
    )
    apply = tfc.resource("github_actions_environment_secret", "tf_api_token").body
    assert apply["secret_name"] == "TF_API_TOKEN", "apply tokens live in the environments only"


def test_tfc_root_protects_prd_and_maps_branches(tfc: TerraformTree) -> None:
    environment = tfc.resource("github_repository_environment", "service").body
    reviewers = environment["dynamic"][0]["reviewers"]
    assert reviewers["for_each"] == '${each.key == "prd" ? [1] : []}'
    assert reviewers["content"][0]["users"] == "${var.prd_reviewers}"
    assert tfc.locals(TFC)["branches"] == {"dev": "develop", "prd": "main"}
    monitor = tfc.resource("github_repository_environment_deployment_policy", "monitor").body
    assert monitor["branch_pattern"] == "main", "the weekly schedule runs on the default branch"
    names = set(re.findall(r'"\$\{env\}/([A-Z_]+)"', str(tfc.locals(TFC)["service_variables"])))
    assert names == {
        "AWS_REGION",
        "AWS_DEPLOY_ROLE_ARN",
        "ECR_REPOSITORY",
        "TF_CLOUD_ORGANIZATION",
        "TF_WORKSPACE",
    }


# --- consistency (what `terraform validate` would catch; the only check the tfc root gets) ------

_META_ARGUMENTS = {"source", "depends_on", "providers", "count", "for_each", "version"}


def test_module_calls_match_the_modules_variables(tf: TerraformTree) -> None:
    calls = tf.modules(SERVICE)
    assert set(calls) == {"departures", "lambda", "api_gateway", "alarms", "dashboard", "capture"}
    for name, call in calls.items():
        module_dir = (SERVICE / call["source"]).resolve()
        declared = tf.variables(module_dir)
        passed = set(call) - _META_ARGUMENTS
        assert passed <= set(declared), f"module {name} gets undeclared {passed - set(declared)}"
        required = {v for v, body in declared.items() if "default" not in body}
        assert required <= passed, f"module {name} misses required {required - passed}"


def _source_text(module_dir: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(module_dir.glob("*.tf")))


def test_every_var_and_local_reference_resolves_and_no_variable_is_unused(
    tf: TerraformTree,
) -> None:
    for module_dir in {path.parent for path in tf.files}:
        text = re.sub(r"(?m)^\s*#.*$", "", _source_text(module_dir))
        variables = set(tf.variables(module_dir))
        local_names = set(tf.locals(module_dir))
        for ref in set(re.findall(r"\bvar\.([a-z_][a-z0-9_]*)", text)):
            assert ref in variables, f"{module_dir}: var.{ref} is not declared"
        for ref in set(re.findall(r"\blocal\.([a-z_][a-z0-9_]*)", text)):
            assert ref in local_names, f"{module_dir}: local.{ref} is not defined"
        unused = variables - set(re.findall(r"\bvar\.([a-z_][a-z0-9_]*)", text))
        assert not unused, f"{module_dir}: variables declared but never used: {unused}"
