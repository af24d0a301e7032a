"""End to end against a moto server: apply the bootstrap and the dev stack with the real
Terraform CLI and AWS provider, re-plan (must be clean), run the deploy command's canary against
the function and alias Terraform created, force an alarm into ALARM during a bake and watch the
automatic rollback, check the deploy and monitor roles' real policies against the calls, then
destroy everything.

What moto cannot emulate, and where it is covered instead:

* Lambda ``logging_config`` (moto drops it) and ``image_config`` (moto returns an empty one):
  an override file in the copied module ignores exactly these two attributes so the re-plan can
  be clean; infra/tests/modules.tftest.hcl asserts the JSON logging configuration.
* provisioned concurrency (no API in moto; dev has none): rollout_support answers
  GetProvisionedConcurrencyConfig as Lambda does for an alias without it; test_deploy.py covers
  READY / FAILED / timeout, modules.tftest.hcl the Terraform side.
* running the image and API Gateway -> Lambda invocation: the function's answers are queued
  through moto's API; the API's HTTP path is not exercised here (test_deploy.py's local API).
* IAM enforcement: policies are fetched from moto as Terraform rendered them and evaluated
  against the recorded calls (rollout_support.iam_allows).
* resetting API Gateway's account settings on destroy (moto answers 500): the copied bootstrap
  sets reset_on_delete = false; bootstrap.tftest.hcl asserts it is true in the real code.
* Firehose processing (decompression, message extraction, dynamic partitioning): moto stores
  the stream but does not run processors; modules.tftest.hcl asserts them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from infra_support import INFRA, REPO_ROOT
from rollout_support import (
    CallRecorder,
    FakeClock,
    ProvisionedConcurrencyApi,
    iam_action,
    iam_allows,
    proxy_response,
    queue_invoke_results,
)
from terraform_harness import (
    Terraform,
    moto_provider_override,
    moto_server,
    state_resources,
)

from challenge_neuralworks import deploy, environment

REGION = "us-east-1"
REPOSITORY = "acme/challenge-neuralworks"
TAGS = {name: name[0] * 40 for name in ("a-first", "b-second", "c-third")}
#: A real answer of the delay model (what the smoke check's schemas.validate_answer accepts).
GOOD_BODY = {
    "prediction": [0.86, 0.14],
    "delayed": False,
    "threshold": 0.198378,
    "model": "delay",
    "version": "e2e",
}
LAMBDA_IGNORES_FOR_MOTO = (
    "# Written by tests/infra/test_terraform_moto_e2e.py: moto drops logging_config and returns\n"
    "# an empty image_config, which would otherwise show as a change on every re-plan.\n"
    'resource "aws_lambda_function" "this" {\n'
    "  lifecycle {\n"
    "    ignore_changes = [image_uri, logging_config, image_config]\n"
    "  }\n"
    "}\n"
)
#: moto answers the provider's reset of API Gateway's account settings (PATCH /account on the
#: throttle paths) with a 500, and the provider retries until its timeout: against moto the
#: destroy leaves the setting alone. bootstrap.tftest.hcl asserts reset_on_delete = true.
ACCOUNT_RESET_FOR_MOTO = (
    "# Written by tests/infra/test_terraform_moto_e2e.py (moto cannot reset account settings).\n"
    'resource "aws_api_gateway_account" "this" {\n'
    "  reset_on_delete = false\n"
    "}\n"
)
REPORT = REPO_ROOT / "reports" / "terraform-e2e.json"


@dataclass
class Stack:
    terraform: Terraform
    moto_url: str
    service: Path
    bootstrap: Path
    outputs: dict[str, Any]
    bootstrap_outputs: dict[str, Any]
    digests: dict[str, str]
    report: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """The test's own client (its own session: only deploy's calls are recorded)."""
        return boto3.Session().client(
            service,
            region_name=REGION,
            endpoint_url=self.moto_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def service_vars(self, *extra: str) -> list[str]:
        return [
            "-var-file=envs/dev.tfvars",
            f"-var=github_repository={REPOSITORY}",
            f"-var=image_tag={TAGS['a-first']}",
            *extra,
        ]


BOOTSTRAP_VARS = [f"-var=github_repository={REPOSITORY}", "-var=tfc_organization=acme"]


def _timed(report: dict[str, float], key: str, action: Any) -> Any:
    start = time.monotonic()
    result = action()
    report[key] = round(time.monotonic() - start, 1)
    return result


def _push_image(ecr: Any, tag: str) -> str:
    """A manifest with a layer of its own (moto derives the digest from the layers)."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 7,
            "digest": "sha256:" + "0" * 64,
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": 7,
                "digest": "sha256:" + tag[0] * 64,
            }
        ],
    }
    answer = ecr.put_image(repositoryName="cnw", imageManifest=json.dumps(manifest), imageTag=tag)
    return answer["image"]["imageId"]["imageDigest"]


def _plan_exit_code(terraform: Terraform, root: Path, variables: list[str]) -> tuple[int, str]:
    result = terraform.run(root, "plan", "-no-color", "-detailed-exitcode", *variables, check=False)
    assert result.returncode in (0, 2), result.stdout[-4000:] + result.stderr[-4000:]
    return result.returncode, result.stdout


@pytest.fixture(scope="module")
def stack(terraform: Terraform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("moto-e2e")
    timings: dict[str, float] = {}
    with moto_server(work / "moto.log") as moto:
        copy = work / "infra"
        shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
        bootstrap = copy / "bootstrap"
        override = moto_provider_override(moto.url, REGION)
        (bootstrap / "moto_provider_override.tf").write_text(override)
        (copy / "moto_provider_override.tf").write_text(override)
        (copy / "moto_backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
        (copy / "modules" / "lambda" / "moto_override.tf").write_text(LAMBDA_IGNORES_FOR_MOTO)
        (bootstrap / "moto_account_override.tf").write_text(ACCOUNT_RESET_FOR_MOTO)

        start = time.monotonic()
        terraform.init(bootstrap)
        _timed(
            timings,
            "bootstrap_apply_s",
            lambda: terraform.run(
                bootstrap, "apply", "-no-color", "-auto-approve", *BOOTSTRAP_VARS
            ),
        )
        bootstrap_resources = state_resources(terraform, bootstrap)
        bootstrap_replan = _plan_exit_code(terraform, bootstrap, BOOTSTRAP_VARS)
        bootstrap_outputs = json.loads(terraform.run(bootstrap, "output", "-json").stdout)

        stack = Stack(terraform, moto.url, copy, bootstrap, {}, bootstrap_outputs, {})
        ecr = stack.client("ecr")
        stack.digests = {name: _push_image(ecr, tag) for name, tag in TAGS.items()}

        terraform.init(copy)
        _timed(
            timings,
            "dev_apply_s",
            lambda: terraform.run(
                copy, "apply", "-no-color", "-auto-approve", *stack.service_vars()
            ),
        )
        service_resources = state_resources(terraform, copy)
        service_replan = _timed(
            timings, "dev_replan_s", lambda: _plan_exit_code(terraform, copy, stack.service_vars())
        )
        stack.outputs = {
            k: v["value"]
            for k, v in json.loads(terraform.run(copy, "output", "-json").stdout).items()
        }
        stack.report = {
            "resources_applied": {
                "bootstrap": len(bootstrap_resources),
                "service (dev)": len(service_resources),
            },
            "replan_exit_codes": {"bootstrap": bootstrap_replan[0], "service": service_replan[0]},
            "replan_output": {
                "bootstrap": bootstrap_replan[1][-3000:],
                "service": service_replan[1][-3000:],
            },
            "timings_s": timings,
            "rollouts": {},
        }
        try:
            yield stack
        finally:
            _timed(
                timings,
                "dev_destroy_s",
                lambda: terraform.run(
                    copy, "destroy", "-no-color", "-auto-approve", *stack.service_vars()
                ),
            )
            # An administrator empties the registry before destroying it (force_delete is off).
            images = ecr.list_images(repositoryName="cnw")["imageIds"]
            if images:
                ecr.batch_delete_image(repositoryName="cnw", imageIds=images)
            _timed(
                timings,
                "bootstrap_destroy_s",
                lambda: terraform.run(
                    bootstrap, "destroy", "-no-color", "-auto-approve", *BOOTSTRAP_VARS
                ),
            )
            left = state_resources(terraform, copy) + state_resources(terraform, bootstrap)
            timings["total_s"] = round(time.monotonic() - start, 1)
            stack.report["left_after_destroy"] = left
            REPORT.parent.mkdir(exist_ok=True)
            REPORT.write_text(json.dumps(stack.report, indent=2) + "\n")
            print(f"\nterraform e2e report ({REPORT}):\n{json.dumps(stack.report, indent=2)}")
            assert not left, f"destroy left {left}"


# --- apply, re-plan ---------------------------------------------------------------------------


def test_both_roots_apply_and_replan_clean(stack: Stack) -> None:
    codes = stack.report["replan_exit_codes"]
    assert codes == {"bootstrap": 0, "service": 0}, stack.report["replan_output"]
    assert stack.report["resources_applied"]["bootstrap"] >= 15
    assert stack.report["resources_applied"]["service (dev)"] >= 60


def test_api_gateway_resources_and_methods_are_the_routes_file(stack: Stack) -> None:
    apigw = stack.client("apigateway")
    api_id = stack.outputs["rest_api_id"]
    resources = apigw.get_resources(restApiId=api_id, limit=500)["items"]
    created = {
        (verb, r["path"]): apigw.get_method(restApiId=api_id, resourceId=r["id"], httpMethod=verb)
        for r in resources
        for verb in r.get("resourceMethods", {})
    }
    routes = json.loads((INFRA / "routes.json").read_text())["routes"]
    expected = {(r["method"], r["path"]) for r in routes} | {("ANY", r["path"]) for r in routes}
    assert set(created) == expected
    paths = {r["path"] for r in resources}
    assert paths == {"/"} | {p for r in routes for p in _prefixes(r["path"])}
    for (verb, path), method in created.items():
        assert method["apiKeyRequired"] is True, (verb, path)
        assert method["methodIntegration"]["type"] == "AWS_PROXY"
        assert method["methodIntegration"]["uri"].endswith(":function:cnw-dev:live/invocations")


def _prefixes(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def test_the_iam_routes_take_sigv4_and_a_key_and_the_ingest_role_may_call_only_them(
    stack: Stack,
) -> None:
    """POST /departures (AWS_IAM in routes.json): SigV4 and an API key on the route and on its
    resource's ANY method; the ingest role may invoke that route of this stage and nothing else."""
    apigw = stack.client("apigateway")
    api_id = stack.outputs["rest_api_id"]
    routes = json.loads((INFRA / "routes.json").read_text())["routes"]
    ingest = [r for r in routes if r["authorization"] == "AWS_IAM"]
    assert [(r["method"], r["path"]) for r in ingest] == [("POST", "/departures")]
    resources = {r["path"]: r for r in apigw.get_resources(restApiId=api_id, limit=500)["items"]}
    for route in ingest:
        resource_id = resources[route["path"]]["id"]
        for verb in (route["method"], "ANY"):
            method = apigw.get_method(restApiId=api_id, resourceId=resource_id, httpMethod=verb)
            assert method["authorizationType"] == "AWS_IAM", (verb, route["path"])
            assert method["apiKeyRequired"] is True, (verb, route["path"])
    account = stack.client("sts").get_caller_identity()["Account"]
    stage_arn = f"arn:aws:execute-api:{REGION}:{account}:{api_id}/dev"
    policies = _role_policies(stack, "cnw-dev-departures-ingest")
    assert iam_allows(policies, "execute-api:Invoke", f"{stage_arn}/POST/departures")
    for route in routes:
        if route["authorization"] != "AWS_IAM":
            path = route["path"].replace("{model_name}", "delay")
            assert not iam_allows(
                policies, "execute-api:Invoke", f"{stage_arn}/{route['method']}{path}"
            )
    assert not iam_allows(policies, "execute-api:Invoke", f"{stage_arn[:-3]}/prd/POST/departures")


def test_the_function_environment_uses_the_packages_variable_names(stack: Stack) -> None:
    function = stack.client("lambda").get_function(FunctionName="cnw-dev")
    variables = function["Configuration"]["Environment"]["Variables"]
    unknown = {k for k in variables if k not in environment.ALL and not k.startswith("POWERTOOLS_")}
    assert not unknown, f"not in challenge_neuralworks/environment.py: {unknown}"
    assert variables[environment.STAGE] == "dev"
    assert float(variables[environment.CAPTURE_SAMPLE]) == 1.0
    assert variables[environment.DEPARTURES_TABLE] == stack.outputs["departures_table"]
    assert function["Code"]["ImageUri"].endswith(f"@{stack.digests['a-first']}")


def test_data_and_capture_resources_as_moto_keeps_them(stack: Stack) -> None:
    dynamodb = stack.client("dynamodb")
    table = dynamodb.describe_table(TableName=stack.outputs["departures_table"])["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by_day"]
    ttl = dynamodb.describe_time_to_live(TableName=table["TableName"])["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"
    backups = dynamodb.describe_continuous_backups(TableName=table["TableName"])
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"

    filters = stack.client("logs").describe_subscription_filters(logGroupName="/aws/lambda/cnw-dev")
    (capture,) = filters["subscriptionFilters"]
    assert capture["filterPattern"] == '{ $.kind = "prediction_capture" }'
    assert capture["destinationArn"].endswith(":deliverystream/cnw-dev-captures")
    s3 = stack.client("s3")
    bucket = stack.outputs["capture_bucket"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    dashboard = stack.client("cloudwatch").get_dashboard(DashboardName="cnw-dev")
    assert len(json.loads(dashboard["DashboardBody"])["widgets"]) == 12


# --- the canary against what Terraform created ---------------------------------------------------


@pytest.fixture
def recorded(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> CallRecorder:
    """deploy's boto3 clients talk to moto through a recording session."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": stack.moto_url,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }.items():
        monkeypatch.setenv(name, value)
    session = boto3.Session(region_name=REGION)
    recorder = CallRecorder()
    recorder.attach(session)
    ProvisionedConcurrencyApi().attach(session)  # dev has none: Lambda's NotFound answer
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    return recorder


def _rollout(stack: Stack, digest_of: str, clock: FakeClock) -> tuple[int, list[str]]:
    repository = stack.bootstrap_outputs["ecr_repository_url"]["value"]
    image = f"{repository}@{stack.digests[digest_of]}"
    parser = argparse.ArgumentParser()
    deploy.configure(parser)
    args = parser.parse_args(
        [
            "--function",
            stack.outputs["function_name"],
            "--image",
            image,
            "--canary",
            "10",
            "--bake",
            "300s",
        ]
    )
    lines: list[str] = []
    code = deploy.run(args, clock=clock, log=lines.append)
    return code, lines


def test_canary_rollout_then_an_alarm_forces_an_automatic_rollback(
    stack: Stack, recorded: CallRecorder
) -> None:
    lam, cloudwatch = stack.client("lambda"), stack.client("cloudwatch")
    alias = lambda: lam.get_alias(FunctionName="cnw-dev", Name="live")  # noqa: E731
    assert alias()["FunctionVersion"] == "1", "Terraform created the alias on version 1"

    queue_invoke_results(stack.moto_url, REGION, proxy_response(200, GOOD_BODY))
    code, promoted = _rollout(stack, "b-second", FakeClock())
    assert code == 0, promoted
    assert alias()["FunctionVersion"] == "2"
    assert not (alias().get("RoutingConfig") or {}).get("AdditionalVersionWeights")

    queue_invoke_results(stack.moto_url, REGION, proxy_response(200, GOOD_BODY))
    clock = FakeClock()
    seen_weights: list[dict[str, float]] = []

    def fire() -> None:
        seen_weights.append(alias()["RoutingConfig"]["AdditionalVersionWeights"])
        cloudwatch.set_alarm_state(
            AlarmName="cnw-dev-lambda-errors", StateValue="ALARM", StateReason="e2e: forced"
        )

    clock.at(120, fire)
    code, rolled_back = _rollout(stack, "c-third", clock)
    assert code == 1, rolled_back
    assert seen_weights == [{"3": 0.1}], "during the bake version 3 had 10% of the traffic"
    assert alias()["FunctionVersion"] == "2"
    assert not (alias().get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    assert any(
        "ROLLBACK: alarm in ALARM during the bake: cnw-dev-lambda-errors" in line
        for line in rolled_back
    )
    stack.report["rollouts"] = {"promoted": promoted, "rolled_back": rolled_back}
    cloudwatch.set_alarm_state(
        AlarmName="cnw-dev-lambda-errors", StateValue="OK", StateReason="e2e"
    )

    # The rollouts changed only what Terraform leaves to the deploy command.
    code, output = _plan_exit_code(stack.terraform, stack.service, stack.service_vars())
    assert code == 0, output[-4000:]

    _check_deploy_role_allows(stack, recorded.calls)


def _resource_arn(account: str, service: str, operation: str, params: dict[str, Any]) -> list[str]:
    if service == "lambda":
        if "Resource" in params:
            return [params["Resource"]]
        base = f"arn:aws:lambda:{REGION}:{account}:function:{params['FunctionName']}"
        qualifier = params.get("Qualifier") or params.get("Name")
        return [f"{base}:{qualifier}" if qualifier else base]
    if service == "cloudwatch" and operation == "DescribeAlarms":
        return [f"arn:aws:cloudwatch:{REGION}:{account}:alarm:{n}" for n in params["AlarmNames"]]
    raise AssertionError(f"no resource mapping for {service}:{operation}")


def _role_policies(stack: Stack, role: str) -> list[dict[str, Any]]:
    iam = stack.client("iam")
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    documents = [iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"] for n in names]
    return [json.loads(d) if isinstance(d, str) else d for d in documents]


def _check_deploy_role_allows(stack: Stack, calls: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Every call of both rollouts, and the workflow's own calls, against the rendered policies."""
    account = stack.client("sts").get_caller_identity()["Account"]
    policies = _role_policies(stack, "cnw-dev-github-deploy")
    assert len(policies) == 2, "the bootstrap's policy and the stack's smoke-key policy"
    for policy in policies:
        for statement in policy["Statement"]:
            assert "Condition" not in statement, "conditions are not evaluated here"
    denied = [
        (iam_action(s, op), arn)
        for s, op, params in calls
        for arn in _resource_arn(account, s, op, params)
        if not iam_allows(policies, iam_action(s, op), arn)
    ]
    assert not denied, f"the deploy role does not allow: {denied}"
    repository_arn = f"arn:aws:ecr:{REGION}:{account}:repository/cnw"
    key_id = stack.outputs["smoke_api_key_id"]
    workflow = [
        ("ecr:GetAuthorizationToken", "*"),
        ("ecr:DescribeImages", repository_arn),
        ("ecr:DescribeRepositories", repository_arn),
        ("ecr:PutImage", repository_arn),
        ("ecr:InitiateLayerUpload", repository_arn),
        ("ecr:UploadLayerPart", repository_arn),
        ("ecr:CompleteLayerUpload", repository_arn),
        ("ecr:BatchCheckLayerAvailability", repository_arn),
        ("apigateway:GET", f"arn:aws:apigateway:{REGION}::/apikeys/{key_id}"),
    ]
    assert [c for c in workflow if not iam_allows(policies, *c)] == []
    # ...and nothing beyond its own function, alarms and key.
    other = f"arn:aws:lambda:{REGION}:{account}:function:cnw-prd"
    assert not iam_allows(policies, "lambda:UpdateAlias", other)
    assert not iam_allows(policies, "apigateway:GET", f"arn:aws:apigateway:{REGION}::/apikeys/x")
    prd = _role_policies(stack, "cnw-prd-github-deploy")
    assert not iam_allows(prd, "ecr:PutImage", repository_arn), "prd promotes, never pushes"
    assert iam_allows(prd, "ecr:DescribeImages", repository_arn)


def test_the_monitor_role_reads_the_capture_bucket_only(stack: Stack) -> None:
    bucket = stack.outputs["capture_bucket"]
    assert bucket == stack.bootstrap_outputs["capture_buckets"]["value"]["dev"]
    policies = _role_policies(stack, "cnw-dev-github-monitor")
    key = f"arn:aws:s3:::{bucket}/captures/model=delay/date=2026-01-05/part-0001.jsonl"
    assert iam_allows(policies, "s3:GetObject", key)
    assert iam_allows(policies, "s3:ListBucket", f"arn:aws:s3:::{bucket}")
    assert not iam_allows(policies, "s3:PutObject", key)
    assert not iam_allows(policies, "s3:GetObject", f"arn:aws:s3:::{bucket}/errors/x")
    assert not iam_allows(policies, "s3:GetObject", key.replace("cnw-dev", "cnw-prd"))
