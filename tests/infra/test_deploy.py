"""``python -m challenge_neuralworks deploy`` against moto, in process, without Docker.

What moto can and cannot do here (found by experiment, moto 5 with ``use_docker: False``):
update_function_code, the waiters, publish_version, weighted aliases (RoutingConfig), tags,
CloudWatch alarms with ``set_alarm_state`` and invoke with a Qualifier all work; ``invoke`` cannot
run an image, so it answers with the first entry of moto's documented result queue or, if the
queue is empty, echoes the request payload back with status 200. moto ignores ``RevisionId`` and
``CodeSha256`` guards (the tests record the parameters boto3 sends to prove deploy sends them) and
has no provisioned-concurrency API (rollout_support.ProvisionedConcurrencyApi answers it).

Bakes run on a simulated clock (rollout_support.FakeClock): a 300 s canary takes no real time,
and an alarm is forced into ALARM at a chosen simulated second.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from infra_support import INFRA, load_hcl
from moto import mock_aws
from rollout_support import (
    CallRecorder,
    FakeClock,
    ProvisionedConcurrencyApi,
    iam_action,
    proxy_response,
    queue_invoke_results,
)

from challenge_neuralworks import deploy
from challenge_neuralworks.cli import main

REGION = "us-east-1"
ACCOUNT = "000000000000"  # moto's fixed account id differs; URIs only need the right format.
REPOSITORY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/cnw"
OLD_IMAGE = f"{REPOSITORY}:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
NEW_IMAGE = f"{REPOSITORY}:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
FUNCTION = "cnw-dev"
ALARMS = [
    "cnw-dev-lambda-errors",
    "cnw-dev-lambda-throttles",
    "cnw-dev-lambda-duration-p99",
    "cnw-dev-api-5xx-rate",
]
API_KEY = "test-smoke-key-0123456789"
#: A real answer of the delay model (what schemas.validate_answer accepts).
GOOD_BODY = {
    "prediction": [0.859, 0.141],
    "delayed": False,
    "threshold": 0.198378,
    "model": "delay",
    "version": "2025.06.01",
}
IN_PROCESS_MOTO = "http://motoapi.amazonaws.com"


def queue(*results: str) -> None:
    queue_invoke_results(IN_PROCESS_MOTO, REGION, *results)


@dataclass
class Aws:
    """The mocked account: an image function with a `live` alias on version 1 and its alarms."""

    client: Any
    cloudwatch: Any
    recorder: CallRecorder
    provisioned: ProvisionedConcurrencyApi

    def alias(self) -> dict[str, Any]:
        return self.client.get_alias(FunctionName=FUNCTION, Name="live")

    def alias_version(self) -> str:
        return self.alias()["FunctionVersion"]

    def weights(self) -> dict[str, float]:
        return (self.alias().get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}

    def image(self) -> str:
        return self.client.get_function(FunctionName=FUNCTION)["Code"]["ImageUri"]

    def code_sha(self, qualifier: str) -> str:
        config = self.client.get_function_configuration(FunctionName=FUNCTION, Qualifier=qualifier)
        return config["CodeSha256"]

    def called(self, operation: str) -> list[dict[str, Any]]:
        return self.recorder.called(operation)

    def alias_moves(self) -> list[tuple[str, dict[str, float]]]:
        return [
            (p["FunctionVersion"], p.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}))
            for p in self.called("UpdateAlias")
        ]

    def set_alarm(self, name: str, state: str = "ALARM") -> Callable[[], None]:
        def action() -> None:
            self.cloudwatch.set_alarm_state(
                AlarmName=name, StateValue=state, StateReason="forced by the test"
            )

        return action


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws(config={"lambda": {"use_docker": False}}):
        # deploy creates its own clients through boto3.client(): give it a recording session; the
        # test's own calls go through another one, so only deploy's calls are recorded.
        recorded = boto3.Session(region_name=REGION)
        recorder, provisioned = CallRecorder(), ProvisionedConcurrencyApi()
        recorder.attach(recorded)
        provisioned.attach(recorded)
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", recorded)
        session = boto3.Session(region_name=REGION)
        state = Aws(session.client("lambda"), session.client("cloudwatch"), recorder, provisioned)

        role = session.client("iam").create_role(
            RoleName="cnw-dev-lambda", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        created = state.client.create_function(
            FunctionName=FUNCTION,
            Role=role,
            PackageType="Image",
            Code={"ImageUri": OLD_IMAGE},
            Publish=True,
            Timeout=10,
            MemorySize=1024,
            Tags={deploy.ROLLOUT_ALARMS_TAG: " ".join(ALARMS)},
        )
        state.client.create_alias(
            FunctionName=FUNCTION, Name="live", FunctionVersion=created["Version"]
        )
        for alarm in ALARMS:
            state.cloudwatch.put_metric_alarm(
                AlarmName=alarm,
                Namespace="AWS/Lambda",
                MetricName="Errors",
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=0,
                ComparisonOperator="GreaterThanThreshold",
            )
        assert state.alias_version() == "1"
        yield state


class FakeApi(BaseHTTPRequestHandler):
    """Answers POST /dev/inference/delay the way API Gateway + the handler do."""

    behaviour = "ok"
    received: list[dict[str, Any]]  # set per server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append(
            {"path": self.path, "key": self.headers.get("x-api-key"), "body": body.decode()}
        )
        if self.headers.get("x-api-key") != API_KEY:
            self._answer(403, {"message": "Forbidden"})
        elif self.path != "/dev/inference/delay":
            self._answer(403, {"message": "Missing Authentication Token"})
        elif self.behaviour == "broken":
            self._answer(502, {"message": "Internal server error"})
        elif self.behaviour == "bad-sum":
            self._answer(200, {**GOOD_BODY, "prediction": [0.9, 0.3]})
        else:
            self._answer(200, GOOD_BODY)

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        return


@pytest.fixture
def fake_api() -> Iterator[Callable[[str], tuple[str, list[dict[str, Any]]]]]:
    servers: list[ThreadingHTTPServer] = []

    def start(behaviour: str) -> tuple[str, list[dict[str, Any]]]:
        received: list[dict[str, Any]] = []
        handler = type("Api", (FakeApi,), {"behaviour": behaviour, "received": received})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/dev", received

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _deploy(*extra: str, image: str = NEW_IMAGE, clock: FakeClock | None = None) -> int:
    """The real CLI parser and run(), on a simulated clock."""
    parser = argparse.ArgumentParser()
    deploy.configure(parser)
    args = parser.parse_args(["--function", FUNCTION, "--image", image, *extra])
    return deploy.run(args, clock=clock or FakeClock())


# --- the canary -------------------------------------------------------------------------------


def test_canary_publishes_smoke_tests_shifts_ten_percent_bakes_then_promotes(
    aws: Aws, fake_api: Callable, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    url, received = fake_api("ok")
    monkeypatch.setenv("CNW_API_KEY", API_KEY)
    queue(proxy_response(200, GOOD_BODY))
    before_sha = aws.code_sha("1")
    clock = FakeClock()

    assert _deploy("--smoke-url", url, clock=clock) == 0

    assert aws.alias_version() == "2"
    assert aws.weights() == {}
    assert aws.image() == NEW_IMAGE
    # moto reports $LATEST's ImageUri for every version; CodeSha256 is per version, so version 1
    # still holds the old code: the rollback target survives.
    assert aws.code_sha("1") == before_sha
    assert aws.code_sha("2") != before_sha
    # 10% to version 2 for the whole bake, then 100%: never more than the canary before the bake.
    assert aws.alias_moves() == [("1", {"2": 0.1}), ("2", {})]
    assert sum(clock.sleeps) == pytest.approx(300)
    assert max(clock.sleeps) <= 30, "alarms are read at least every --poll (30 s)"
    reads = aws.called("DescribeAlarms")
    assert len(reads) == 1 + 11, "one check before the rollout, then at 0, 30, ..., 300 s"
    assert all(set(r["AlarmNames"]) == set(ALARMS) for r in reads)
    # The pre-shift smoke test invoked the published version itself, before any alias move.
    (invoke,) = aws.called("Invoke")
    assert invoke["Qualifier"] == "2"
    event = json.loads(invoke["Payload"])
    assert (event["httpMethod"], event["path"]) == ("POST", "/inference/delay")
    assert json.loads(event["body"]) == deploy.SMOKE_FLIGHT
    operations = aws.recorder.operations()
    assert operations.index("Invoke") < operations.index("UpdateAlias")
    (update,) = aws.called("UpdateFunctionCode")
    (publish,) = aws.called("PublishVersion")
    assert update["ImageUri"] == NEW_IMAGE
    assert publish["CodeSha256"] == aws.code_sha("2")
    # The API smoke test runs after the promotion, with the key.
    assert len(received) == 1
    assert received[0]["key"] == API_KEY
    out = capsys.readouterr().out
    assert "version 1 -> 2" in out
    assert "bake passed: no alarm fired" in out


def test_an_alarm_during_the_bake_rolls_everything_back(
    aws: Aws, capsys: pytest.CaptureFixture
) -> None:
    queue(proxy_response(200, GOOD_BODY))
    clock = FakeClock()
    clock.at(75, aws.set_alarm("cnw-dev-lambda-errors"))

    assert _deploy(clock=clock) == 1

    assert aws.alias_version() == "1"
    assert aws.weights() == {}
    # Version 2 never got more than its 10%: the alarm was seen at the 90 s poll.
    assert aws.alias_moves() == [("1", {"2": 0.1}), ("1", {})]
    assert clock.t == pytest.approx(90)
    err = capsys.readouterr().err
    assert "alarm in ALARM during the bake: cnw-dev-lambda-errors" in err
    assert "rolled back: all traffic back on version 1" in err


@pytest.mark.parametrize("alarm", ALARMS)
def test_each_rollout_alarm_gates_the_canary(aws: Aws, alarm: str) -> None:
    queue(proxy_response(200, GOOD_BODY))
    clock = FakeClock()
    clock.at(200, aws.set_alarm(alarm))
    assert _deploy(clock=clock) == 1
    assert aws.alias_version() == "1"
    assert aws.weights() == {}


def test_canary_100_shifts_at_once_and_still_watches_the_alarms(
    aws: Aws, capsys: pytest.CaptureFixture
) -> None:
    queue(proxy_response(200, GOOD_BODY))
    clock = FakeClock()
    clock.at(30, aws.set_alarm("cnw-dev-api-5xx-rate"))
    assert _deploy("--canary", "100", "--bake", "2m", clock=clock) == 1
    assert aws.alias_moves() == [("2", {}), ("1", {})]
    assert "cnw-dev-api-5xx-rate" in capsys.readouterr().err


def test_bake_and_poll_are_configurable(aws: Aws) -> None:
    queue(proxy_response(200, GOOD_BODY))
    clock = FakeClock()
    assert _deploy("--canary", "25", "--bake", "10m", "--poll", "1m", clock=clock) == 0
    assert aws.alias_moves() == [("1", {"2": 0.25}), ("2", {})]
    assert clock.sleeps == [60.0] * 10


def test_an_alarm_already_firing_stops_the_rollout_before_anything_changes(
    aws: Aws, capsys: pytest.CaptureFixture
) -> None:
    aws.set_alarm("cnw-dev-lambda-throttles")()
    assert _deploy() == 1
    assert "alarm already in ALARM before the rollout: cnw-dev-lambda-throttles" in (
        capsys.readouterr().err
    )
    assert not aws.called("UpdateFunctionCode")
    assert aws.image() == OLD_IMAGE


def test_a_rollout_alarm_that_does_not_exist_is_refused_before_anything_changes(
    aws: Aws, capsys: pytest.CaptureFixture
) -> None:
    aws.cloudwatch.delete_alarms(AlarmNames=["cnw-dev-lambda-duration-p99"])
    assert _deploy() == 1
    assert "rollout alarms not found: cnw-dev-lambda-duration-p99" in capsys.readouterr().err
    assert not aws.called("UpdateFunctionCode")


def test_without_the_rollout_alarms_tag_deploy_asks_for_alarms(
    aws: Aws, capsys: pytest.CaptureFixture
) -> None:
    arn = aws.client.get_function(FunctionName=FUNCTION)["Configuration"]["FunctionArn"]
    aws.client.untag_resource(Resource=arn, TagKeys=[deploy.ROLLOUT_ALARMS_TAG])
    assert _deploy() == 1
    assert "no alarms to watch" in capsys.readouterr().err
    assert not aws.called("UpdateFunctionCode")

    queue(proxy_response(200, GOOD_BODY))
    clock = FakeClock()
    clock.at(10, aws.set_alarm("cnw-dev-api-5xx-rate"))
    assert _deploy("--alarms", "cnw-dev-api-5xx-rate", clock=clock) == 1
    (read,) = aws.called("DescribeAlarms")[-1:]
    assert read["AlarmNames"] == ["cnw-dev-api-5xx-rate"]


def test_an_alias_left_split_by_an_earlier_rollout_is_refused(
    aws: Aws, capsys: pytest.CaptureFixture
) -> None:
    aws.client.publish_version(FunctionName=FUNCTION)
    aws.client.update_alias(
        FunctionName=FUNCTION,
        Name="live",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}},
    )
    assert _deploy() == 1
    assert "an earlier rollout did not finish" in capsys.readouterr().err
    assert not aws.called("UpdateFunctionCode")


# --- provisioned concurrency ------------------------------------------------------------------


def test_provisioned_concurrency_is_ready_before_the_bake_and_after_the_promotion(
    aws: Aws, capsys: pytest.CaptureFixture
) -> None:
    # preflight READY; after the 10% shift twice IN_PROGRESS; READY; after 100% IN_PROGRESS, READY
    aws.provisioned.script("READY", "IN_PROGRESS", "IN_PROGRESS", "READY", "IN_PROGRESS", "READY")
    queue(proxy_response(200, GOOD_BODY))
    clock = FakeClock()
    assert _deploy(clock=clock) == 0
    reads = aws.called("GetProvisionedConcurrencyConfig")
    assert len(reads) == 6
    assert all(r["Qualifier"] == "live" for r in reads)
    out = capsys.readouterr().out
    assert out.count("provisioned concurrency READY (1 available)") == 2
    # 2 waits of 10 s, the 300 s bake, 1 wait of 10 s
    assert sum(clock.sleeps) == pytest.approx(330)
    assert out.index("provisioned concurrency READY") < out.index("bake 300s")


def test_provisioned_concurrency_that_fails_rolls_back(
    aws: Aws, capsys: pytest.CaptureFixture
) -> None:
    aws.provisioned.script("READY", "FAILED", reason="insufficient account concurrency")
    queue(proxy_response(200, GOOD_BODY))
    assert _deploy() == 1
    assert aws.alias_moves() == [("1", {"2": 0.1}), ("1", {})]
    err = capsys.readouterr().err
    assert "FAILED: insufficient account concurrency" in err
    assert "rolled back" in err


def test_provisioned_concurrency_that_never_gets_ready_times_out_and_rolls_back(
    aws: Aws, capsys: pytest.CaptureFixture
) -> None:
    aws.provisioned.script("READY", "IN_PROGRESS")
    queue(proxy_response(200, GOOD_BODY))
    clock = FakeClock()
    assert _deploy("--provisioned-timeout", "60s", clock=clock) == 1
    assert "not READY after 60s (status IN_PROGRESS)" in capsys.readouterr().err
    assert aws.alias_version() == "1"
    assert aws.weights() == {}


# --- failed smoke tests leave (or put back) the alias -------------------------------------------


def test_moto_echo_is_not_mistaken_for_a_prediction(
    aws: Aws, capsys: pytest.CaptureFixture
) -> None:
    """Nothing queued: moto echoes the proxy event back with 200, which must not pass."""
    assert _deploy() == 1
    assert aws.alias_version() == "1"
    err = capsys.readouterr().err
    assert "did not return an API Gateway proxy response" in err
    assert "alias live unchanged at 1" in err
    assert not aws.called("UpdateAlias")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (proxy_response(500, {"error": {"code": "internal"}}), "expected HTTP 200, got 500"),
        (proxy_response(200, {**GOOD_BODY, "prediction": [0.7, 0.7]}), "sum to 1.4"),
        (proxy_response(200, {**GOOD_BODY, "prediction": [1.0]}), "not a valid prediction"),
        (proxy_response(200, {"model": "delay"}), "not a valid prediction"),
        ("Traceback (most recent call last):", "did not return JSON"),
    ],
    ids=["500", "bad-sum", "one-probability", "no-prediction", "not-json"],
)
def test_failed_pre_shift_smoke_test_leaves_the_alias(
    aws: Aws, capsys: pytest.CaptureFixture, answer: str, reason: str
) -> None:
    queue(answer)
    assert _deploy() == 1
    assert aws.alias_version() == "1"
    err = capsys.readouterr().err
    assert reason in err
    assert "smoke test of version 2 failed" in err
    assert "alias live unchanged at 1" in err
    assert not aws.called("UpdateAlias")


@pytest.mark.parametrize(
    "case",
    [
        ("ok", "wrong-key", "expected HTTP 200, got 403"),
        ("broken", API_KEY, "expected HTTP 200, got 502"),
        ("bad-sum", API_KEY, "sum to 1.2"),
    ],
    ids=["forbidden", "bad-gateway", "bad-sum"],
)
def test_failed_post_shift_smoke_test_rolls_back(
    aws: Aws,
    fake_api: Callable,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    case: tuple[str, str, str],
) -> None:
    behaviour, api_key, reason = case
    url, received = fake_api(behaviour)
    monkeypatch.setenv("CNW_API_KEY", api_key)
    queue(proxy_response(200, GOOD_BODY))

    assert _deploy("--smoke-url", url) == 1

    assert aws.alias_version() == "1"
    err = capsys.readouterr().err
    assert reason in err
    assert "rolled back: all traffic back on version 1" in err
    assert aws.alias_moves() == [("1", {"2": 0.1}), ("2", {}), ("1", {})]
    assert len(received) == 1


def test_unreachable_api_counts_as_a_failed_smoke_test(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    probe = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    closed_port = probe.server_address[1]
    probe.server_close()
    monkeypatch.setenv("CNW_API_KEY", API_KEY)
    queue(proxy_response(200, GOOD_BODY))
    assert _deploy("--smoke-url", f"http://127.0.0.1:{closed_port}/dev") == 1
    assert aws.alias_version() == "1"
    assert "POST http://127.0.0.1" in capsys.readouterr().err


# --- refusals before anything changes -----------------------------------------------------------


def test_missing_function_is_a_clear_error(aws: Aws, capsys: pytest.CaptureFixture) -> None:
    assert main(["deploy", "--function", "cnw-nope", "--image", NEW_IMAGE]) == 1
    err = capsys.readouterr().err
    assert f"function 'cnw-nope' not found in {REGION}" in err
    assert aws.recorder.operations() == ["GetFunction"]
    assert aws.image() == OLD_IMAGE


@pytest.mark.parametrize(
    "image",
    [
        "not-a-uri",
        f"{REPOSITORY}",
        f"{REPOSITORY}:latest",
        "python:3.11-slim",
        f"{REPOSITORY}@sha256:abc123",
        f"12345.dkr.ecr.{REGION}.amazonaws.com/cnw-dev:abc",
        f"{ACCOUNT}.dkr.ecr.{REGION}.example.com/cnw-dev:abc",
        f"{REPOSITORY}:-leading-dash",
    ],
)
def test_bad_image_uri_is_refused_before_any_aws_call(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, image: str
) -> None:
    def no_client(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("an AWS client was created for an invalid image URI")

    monkeypatch.setattr(boto3, "client", no_client)
    assert _deploy(image=image) == 2
    err = capsys.readouterr().err
    assert "deploy: error:" in err
    assert image in err
    assert aws.recorder.calls == []
    assert aws.image() == OLD_IMAGE


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--canary", "0", "--canary must be in (0, 100]"),
        ("--canary", "150", "--canary must be in (0, 100]"),
        ("--poll", "0s", "--poll > 0"),
    ],
)
def test_bad_canary_settings_are_refused_before_any_aws_call(
    aws: Aws, capsys: pytest.CaptureFixture, option: str, value: str, message: str
) -> None:
    assert _deploy(option, value) == 2
    assert message in capsys.readouterr().err
    assert aws.recorder.calls == []


def test_image_from_another_region_is_refused(aws: Aws, capsys: pytest.CaptureFixture) -> None:
    foreign = NEW_IMAGE.replace(f".{REGION}.", ".eu-west-1.")
    assert _deploy("--region", REGION, image=foreign) == 2
    assert "Lambda only pulls images from its own region" in capsys.readouterr().err
    assert "UpdateFunctionCode" not in aws.recorder.operations()


def test_smoke_url_without_an_api_key_is_refused(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.delenv("CNW_API_KEY", raising=False)
    assert _deploy("--smoke-url", "http://127.0.0.1:9/dev") == 2
    assert "CNW_API_KEY" in capsys.readouterr().err
    assert aws.recorder.calls == []


def test_missing_alias_is_an_error_unless_asked_to_create_it(
    aws: Aws, capsys: pytest.CaptureFixture
) -> None:
    aws.client.delete_alias(FunctionName=FUNCTION, Name="live")
    assert _deploy() == 1
    assert "alias 'live' does not exist" in capsys.readouterr().err
    assert not aws.called("UpdateFunctionCode"), "nothing may change before the refusal"

    queue(proxy_response(200, GOOD_BODY))
    assert _deploy("--create-alias") == 0
    assert aws.alias_version() == "2"
    (created,) = aws.called("CreateAlias")
    assert created["FunctionVersion"] == "2"


def test_the_cli_entry_point_runs_a_rollout(aws: Aws, capsys: pytest.CaptureFixture) -> None:
    """`python -m challenge_neuralworks deploy` wiring (a zero bake, so the real clock is fine)."""
    queue(proxy_response(200, GOOD_BODY))
    assert main(["deploy", "--function", FUNCTION, "--image", NEW_IMAGE, "--bake", "0s"]) == 0
    assert aws.alias_version() == "2"
    assert "version 1 -> 2" in capsys.readouterr().out


# --- the deploy role allows every call a rollout makes (issue 10, defect 10) ---------------------


def _deploy_role_actions() -> set[str]:
    """Actions of the bootstrap's deploy-role policy and the stack's smoke-key policy (hcl2)."""
    github = load_hcl(INFRA / "bootstrap" / "github.tf")
    actions: set[str] = set()
    for entry in github["data"]:
        document = entry.get("aws_iam_policy_document", {}).get("deploy")
        if document is None:
            continue
        for statement in document["statement"]:
            actions.update(statement["actions"])
        for dynamic in document.get("dynamic", []):
            actions.update(dynamic["statement"]["content"][0]["actions"])
    smoke = load_hcl(INFRA / "deploy_access.tf")
    for entry in smoke["data"]:
        for statement in entry["aws_iam_policy_document"]["smoke_key"]["statement"]:
            actions.update(statement["actions"])
    assert actions, "no deploy-role actions parsed"
    return actions


def test_every_call_of_every_rollout_path_is_an_action_of_the_deploy_role(
    aws: Aws, fake_api: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Canary + promotion + API smoke, alarm rollback, provisioned concurrency, alias creation.

    moto does not enforce IAM, so every operation boto3 really sent is mapped to its IAM action
    and looked up in the role's policy (resources are checked against the rendered policy in the
    moto end-to-end test).
    """
    url, _ = fake_api("ok")
    monkeypatch.setenv("CNW_API_KEY", API_KEY)
    queue(proxy_response(200, GOOD_BODY))
    assert _deploy("--smoke-url", url) == 0
    queue(proxy_response(200, GOOD_BODY))
    clock = FakeClock()
    clock.at(30, aws.set_alarm("cnw-dev-lambda-errors"))
    assert _deploy(clock=clock) == 1
    aws.set_alarm("cnw-dev-lambda-errors", "OK")()
    aws.provisioned.script("READY")
    queue(proxy_response(200, GOOD_BODY))
    assert _deploy() == 0
    aws.client.delete_alias(FunctionName=FUNCTION, Name="live")
    aws.provisioned.configured = False
    queue(proxy_response(200, GOOD_BODY))
    assert _deploy("--create-alias") == 0

    needed = {iam_action(service, op) for service, op, _ in aws.recorder.calls}
    assert {"lambda:UpdateAlias", "lambda:CreateAlias", "cloudwatch:DescribeAlarms"} <= needed
    assert "lambda:GetProvisionedConcurrencyConfig" in needed
    missing = needed - _deploy_role_actions()
    assert not missing, f"the deploy role lacks {sorted(missing)}"
    # apigateway:GET (the smoke key's value) is read by the workflow with the same role.
    assert "apigateway:GET" in _deploy_role_actions()


# --- the pieces on their own --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"), [("300s", 300), ("5m", 300), ("1h", 3600), ("90", 90), ("1.5m", 90)]
)
def test_durations(text: str, seconds: float) -> None:
    assert deploy.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "-3s", "m5"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(deploy.InvalidInputError):
        deploy.parse_duration(text)


@pytest.mark.parametrize(
    ("status", "body", "accepted"),
    [
        (200, json.dumps(GOOD_BODY), True),
        (200, json.dumps({**GOOD_BODY, "prediction": [1, 0]}), True),
        (200, json.dumps({**GOOD_BODY, "prediction": [0.5, 0.5000001], "delayed": True}), True),
        (200, json.dumps({**GOOD_BODY, "prediction": [0.5, 0.51]}), False),
        (200, json.dumps({**GOOD_BODY, "prediction": [True, False]}), False),
        (200, json.dumps({**GOOD_BODY, "prediction": [1.2, -0.2]}), False),
        (200, json.dumps({**GOOD_BODY, "prediction": ["0.8", "0.2"]}), False),
        (200, json.dumps({**GOOD_BODY, "delayed": True}), False),  # against its threshold
        (200, json.dumps({k: v for k, v in GOOD_BODY.items() if k != "version"}), False),
        (200, json.dumps([0.8, 0.2]), False),
        (200, "not json", False),
        (400, json.dumps(GOOD_BODY), False),
    ],
)
def test_prediction_response_check(status: int, body: str, accepted: bool) -> None:
    if accepted:
        assert "prediction=" in deploy.check_prediction_response(status, body)
    else:
        with pytest.raises(deploy.SmokeTestError):
            deploy.check_prediction_response(status, body)


def test_parsed_image_uri_keeps_its_parts() -> None:
    digest = "sha256:" + "0" * 64
    by_digest = deploy.parse_image_uri(f"{REPOSITORY}@{digest}")
    assert (by_digest.region, by_digest.repository, by_digest.digest) == (REGION, "cnw", digest)
    by_tag = deploy.parse_image_uri(f"{ACCOUNT}.dkr.ecr.sa-east-1.amazonaws.com/team/cnw:v1.2")
    assert (by_tag.account, by_tag.region, by_tag.repository, by_tag.tag) == (
        ACCOUNT,
        "sa-east-1",
        "team/cnw",
        "v1.2",
    )


def test_smoke_event_is_accepted_by_the_real_handler() -> None:
    """The direct-invoke event must be one the handler routes to a prediction.

    The committed artifact must accept the exact event a rollout sends.
    """
    from challenge_neuralworks import handler

    response = handler.lambda_handler(deploy.inference_proxy_event(), None)
    summary = deploy.check_prediction_response(response["statusCode"], response["body"])
    assert summary.startswith("prediction=")
