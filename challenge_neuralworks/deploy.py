"""``deploy``: roll a new container image out to a Lambda alias progressively, never serving an
untested one, and roll back by itself.

Why this exists instead of ``terraform apply``: Terraform creates the function and its ``live``
alias and then ignores the image and the alias' versions (docs/infra.md). Traffic only ever
reaches the alias, so a rollout is the field's canary (AWS SAM's ``DeploymentPreference`` /
CodeDeploy ``Canary10Percent5Minutes``, done with the Lambda API itself):

1. point ``$LATEST`` at the new image, wait until Lambda has pulled it, publish an immutable
   version (pinned by ``CodeSha256``);
2. smoke-test *that version* by invoking it directly with the proxy event of
   ``POST /inference/delay`` (no client has seen it yet);
3. shift a weighted alias: ``--canary`` percent of requests to the new version, the rest stays on
   the old one; wait for provisioned concurrency to be ``READY`` when the alias has some;
4. bake for ``--bake``, polling the rollout alarms (the function's errors, throttles and p99
   duration, the API's 5XX rate: the function's ``RolloutAlarms`` tag, set by Terraform); any
   alarm in ``ALARM`` moves all traffic back to the old version and exits 1;
5. shift 100% to the new version, then (``--smoke-url``) smoke-test through API Gateway with an
   API key; a failure rolls back too.

Time is injectable (:class:`Clock`) so tests bake in simulated minutes. boto3 is imported lazily:
it is in the ``deploy`` extra, not in the Lambda image.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from challenge_neuralworks.schemas import EXAMPLE_FLIGHT

#: Exit codes: 1 the rollout failed (AWS error, missing function/alias, smoke test); 2 bad input.
EXIT_FAILED = 1
EXIT_USAGE = 2

#: The contract's example request (docs/api.md): a valid flight every model version must score.
SMOKE_FLIGHT: dict[str, Any] = EXAMPLE_FLIGHT

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>(:<tag>|@sha256:<digest>)
_ECR_IMAGE_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d)\.amazonaws\.com(?:\.cn)?"
    r"/(?P<repository>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@(?P<digest>sha256:[0-9a-f]{64}))$"
)
_MUTABLE_TAGS = frozenset({"latest"})


class DeployError(Exception):
    """A rollout that cannot proceed; the message says why and what state the alias is in."""

    exit_code = EXIT_FAILED


class InvalidInputError(DeployError):
    """Arguments rejected before any AWS call (bad image URI, missing API key variable)."""

    exit_code = EXIT_USAGE


class SmokeTestError(DeployError):
    """The new version did not answer a valid prediction."""


class RolledBackError(DeployError):
    """Traffic had moved, a gate failed (alarm, smoke test, provisioned concurrency), and all of
    it is back on the previous version."""

    #: What happened until the rollback, for the log (seconds since the start, event).
    timeline: list[tuple[float, str]]


@dataclass(frozen=True)
class ImageUri:
    """A parsed ECR image reference, pinned by an immutable tag or a digest."""

    uri: str
    account: str
    region: str
    repository: str
    tag: str | None
    digest: str | None


@dataclass(frozen=True)
class PublishedVersion:
    """The version ``deploy`` published and is about to (or did) put behind the alias."""

    function_name: str
    version: str
    arn: str


@dataclass
class RolloutResult:
    """What a successful rollout changed, for the log and for callers."""

    function_name: str
    alias: str
    image_uri: str
    previous_version: str | None
    version: str
    smoke: list[str] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)


class Clock(Protocol):
    """Where a rollout reads the time and waits (tests pass a simulated one)."""

    def now(self) -> float:
        """Seconds on a monotonic scale."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic`` and ``time.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class CanaryPlan:
    """How traffic moves: ``percent`` of requests for ``bake_seconds``, then all of them.

    ``percent = 100`` shifts everything at once and watches the alarms for ``bake_seconds`` after.
    """

    percent: float = 10.0
    bake_seconds: float = 300.0
    poll_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.percent <= 100:
            raise InvalidInputError(f"--canary must be in (0, 100] percent, got {self.percent}")
        if self.bake_seconds < 0 or self.poll_seconds <= 0:
            raise InvalidInputError("--bake must be >= 0 and --poll > 0")

    def steps(self) -> list[tuple[float, float]]:
        """(weight of the new version, seconds to watch the alarms at that weight)."""
        if self.percent >= 100:
            return [(1.0, self.bake_seconds)]
        return [(self.percent / 100.0, self.bake_seconds), (1.0, 0.0)]


class Timeline:
    """Timestamped events of one rollout (seconds since its start), echoed to ``log``."""

    def __init__(self, clock: Clock, log: Callable[[str], None]) -> None:
        self._clock = clock
        self._start = clock.now()
        self._log = log
        self.events: list[tuple[float, str]] = []

    def __call__(self, event: str) -> None:
        elapsed = self._clock.now() - self._start
        self.events.append((elapsed, event))
        self._log(f"[{elapsed:7.1f}s] {event}")


#: A smoke check gets the published version; returns a one-line summary or raises SmokeTestError.
SmokeCheck = Callable[[PublishedVersion], str]


def parse_image_uri(uri: str) -> ImageUri:
    """Validate an ECR image URI before anything talks to AWS.

    A mutable tag (``latest``) is refused: the alias must point to something that cannot change
    under it, and a rollback must be able to name the image that ran before.
    """
    match = _ECR_IMAGE_URI.match(uri)
    if match is None:
        raise InvalidInputError(
            f"not an ECR image URI pinned by tag or digest: {uri!r} "
            "(expected ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG or ...@sha256:DIGEST)"
        )
    tag = match["tag"]
    if tag is not None and tag in _MUTABLE_TAGS:
        raise InvalidInputError(f"refusing mutable tag {tag!r} in {uri!r}: deploy an immutable tag")
    return ImageUri(
        uri=uri,
        account=match["account"],
        region=match["region"],
        repository=match["repository"],
        tag=tag,
        digest=match["digest"],
    )


def check_prediction_response(status: int, body: str) -> str:
    """Accept only a 200 that is a valid answer of the ``delay`` model (the published response
    model: a probability pair summing to 1, the decision at the threshold, model and version)."""
    from pydantic import ValidationError

    from challenge_neuralworks.schemas import DelayPrediction, validate_answer

    if status != 200:
        raise SmokeTestError(f"expected HTTP 200, got {status}: {body[:300]}")
    try:
        answer = validate_answer(DelayPrediction, json.loads(body))
    except ValueError as exc:  # not JSON, or a ValidationError (a ValueError too)
        reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise SmokeTestError(f"not a valid prediction answer ({reason}): {body[:300]}") from None
    payload = answer.model_dump()
    return (
        f"prediction={payload['prediction']} model={payload['model']} version={payload['version']}"
    )


def inference_proxy_event(model: str = "delay", stage: str = "smoke") -> dict[str, Any]:
    """The API Gateway REST (v1) proxy event for ``POST /inference/{model}`` with SMOKE_FLIGHT.

    Shaped like what API Gateway sends (resource, pathParameters, requestContext) so the direct
    invoke exercises the handler's real routing, not a shortcut.
    """
    path = f"/inference/{model}"
    headers = {"Content-Type": "application/json", "x-api-key": "deploy-smoke-test"}
    return {
        "resource": "/inference/{model_name}",
        "path": path,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"model_name": model},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/inference/{model_name}",
            "httpMethod": "POST",
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": "deploy-smoke-test",
            "identity": {"sourceIp": "127.0.0.1", "apiKey": "deploy-smoke-test"},
        },
        "body": json.dumps(SMOKE_FLIGHT),
        "isBase64Encoded": False,
    }


class InvokeSmokeCheck:
    """Invoke the published version itself (not the alias) with a proxy event for a prediction."""

    def __init__(self, lambda_client: Any, model: str = "delay") -> None:
        self._client = lambda_client
        self._model = model

    def __call__(self, published: PublishedVersion) -> str:
        event = inference_proxy_event(self._model)
        answer = self._client.invoke(
            FunctionName=published.function_name,
            Qualifier=published.version,
            Payload=json.dumps(event).encode(),
        )
        raw = answer["Payload"].read().decode("utf-8", errors="replace")
        if answer.get("FunctionError"):
            raise SmokeTestError(
                f"version {published.version} raised ({answer['FunctionError']}): {raw[:300]}"
            )
        try:
            response = json.loads(raw)
        except ValueError as exc:
            raise SmokeTestError(
                f"version {published.version} did not return JSON: {raw[:300]}"
            ) from exc
        if not isinstance(response, dict) or not {"statusCode", "body"} <= response.keys():
            raise SmokeTestError(
                f"version {published.version} did not return an API Gateway proxy response "
                f"(statusCode, body): {raw[:300]}"
            )
        summary = check_prediction_response(int(response["statusCode"]), str(response["body"]))
        return f"invoke {published.function_name}:{published.version}: {summary}"


class HttpSmokeCheck:
    """POST the smoke flight through API Gateway (what a client does), with an API key.

    It reaches whatever the alias serves, so it runs *after* the alias moved; a failure moves the
    alias back.
    """

    def __init__(
        self, base_url: str, api_key: str, model: str = "delay", timeout: float = 15.0
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/inference/{model}"
        self._api_key = api_key
        self._timeout = timeout

    def __call__(self, published: PublishedVersion) -> str:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(SMOKE_FLIGHT).encode(),
            headers={"Content-Type": "application/json", "x-api-key": self._api_key},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                status, body = response.status, response.read().decode("utf-8", errors="replace")
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read().decode("utf-8", errors="replace")
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SmokeTestError(f"POST {self.url} failed: {exc}") from exc
        return f"POST {self.url}: {check_prediction_response(status, body)}"


def _client_error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _describe(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return f"{response['Error'].get('Code')}: {response['Error'].get('Message')}"
    return str(exc)


def parse_duration(text: str) -> float:
    """``"300s"``, ``"5m"``, ``"1h"`` or plain seconds (``"90"``) -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if match is None:
        raise InvalidInputError(f"not a duration: {text!r} (use e.g. 300s, 5m, 1h)")
    return float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2]]


#: The tag Terraform puts on the function: space-separated names of the alarms a bake watches.
ROLLOUT_ALARMS_TAG = "RolloutAlarms"


class AlarmGate:
    """The alarms a bake watches, read with ``cloudwatch:DescribeAlarms``."""

    def __init__(self, cloudwatch: Any, names: Sequence[str]) -> None:
        if not names:
            raise InvalidInputError("no rollout alarms to watch")
        self._client = cloudwatch
        self.names = list(dict.fromkeys(names))

    def states(self) -> dict[str, str]:
        """Alarm name -> state (OK, ALARM, INSUFFICIENT_DATA); refuses alarms that do not exist."""
        found: dict[str, str] = {}
        for start in range(0, len(self.names), 100):  # DescribeAlarms takes at most 100 names
            answer = self._client.describe_alarms(
                AlarmNames=self.names[start : start + 100],
                AlarmTypes=["MetricAlarm", "CompositeAlarm"],
            )
            for alarm in [*answer.get("MetricAlarms", []), *answer.get("CompositeAlarms", [])]:
                found[alarm["AlarmName"]] = alarm["StateValue"]
        missing = [name for name in self.names if name not in found]
        if missing:
            raise DeployError(
                f"rollout alarms not found: {', '.join(missing)} (apply infra/ first)"
            )
        return found

    def firing(self) -> list[str]:
        """Names of the alarms in ALARM (INSUFFICIENT_DATA is not a failure: no traffic yet)."""
        return [name for name, state in self.states().items() if state == "ALARM"]


def rollout_alarm_names(client: Any, function_arn: str) -> list[str]:
    """The function's ``RolloutAlarms`` tag, split (empty when the tag is absent)."""
    tags = client.list_tags(Resource=function_arn).get("Tags", {})
    return tags.get(ROLLOUT_ALARMS_TAG, "").split()


class ProvisionedConcurrency:
    """Waits until the alias' provisioned concurrency is READY after each alias update.

    Lambda re-allocates an alias' provisioned concurrency to the versions it routes to (by weight)
    every time the alias changes; until the status is READY again the new version's share runs on
    cold on-demand instances, or, if allocation FAILED, not at all as intended.
    """

    def __init__(
        self, client: Any, function_name: str, alias: str, clock: Clock, timeout: float
    ) -> None:
        self._client = client
        self._function = function_name
        self._alias = alias
        self._clock = clock
        self._timeout = timeout
        self.configured = self._status() is not None

    def _status(self) -> dict[str, Any] | None:
        try:
            return self._client.get_provisioned_concurrency_config(
                FunctionName=self._function, Qualifier=self._alias
            )
        except Exception as exc:
            # No configuration, or no alias yet (--create-alias): nothing to wait for.
            if _client_error_code(exc) in {
                "ProvisionedConcurrencyConfigNotFoundException",
                "ResourceNotFoundException",
            }:
                return None
            raise

    def wait_ready(self, poll: float = 10.0) -> str:
        """Block until READY; raise DeployError on FAILED or after the timeout."""
        if not self.configured:
            return "no provisioned concurrency"
        deadline = self._clock.now() + self._timeout
        while True:
            config = self._status() or {}
            status = config.get("Status")
            if status == "READY":
                available = config.get("AvailableProvisionedConcurrentExecutions")
                return f"provisioned concurrency READY ({available} available)"
            if status == "FAILED":
                raise DeployError(
                    f"provisioned concurrency of {self._function}:{self._alias} FAILED: "
                    f"{config.get('StatusReason', 'no reason given')}"
                )
            if self._clock.now() >= deadline:
                raise DeployError(
                    f"provisioned concurrency of {self._function}:{self._alias} not READY after "
                    f"{self._timeout:.0f}s (status {status})"
                )
            self._clock.sleep(poll)


def _get_function(client: Any, function_name: str) -> dict[str, Any]:
    try:
        return client.get_function(FunctionName=function_name)["Configuration"]
    except Exception as exc:
        if _client_error_code(exc) == "ResourceNotFoundException":
            raise DeployError(
                f"function {function_name!r} not found in {client.meta.region_name} "
                "(apply infra/ first, and check --function and --region)"
            ) from exc
        raise DeployError(f"cannot read function {function_name!r}: {_describe(exc)}") from exc


def _get_alias(client: Any, function_name: str, alias: str) -> dict[str, Any] | None:
    try:
        return client.get_alias(FunctionName=function_name, Name=alias)
    except Exception as exc:
        if _client_error_code(exc) == "ResourceNotFoundException":
            return None
        raise DeployError(f"cannot read alias {alias!r}: {_describe(exc)}") from exc


def _preflight(
    client: Any, function_name: str, image: ImageUri, alias: str, create_alias: bool
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Everything that can be refused before anything changes: region, function, alias."""
    region = client.meta.region_name
    if image.region != region:
        raise InvalidInputError(
            f"image is in {image.region} but the function is looked up in {region}: "
            "Lambda only pulls images from its own region"
        )
    config = _get_function(client, function_name)
    if config.get("PackageType") != "Image":
        kind = config.get("PackageType")
        raise DeployError(f"function {function_name!r} is a {kind} function, not an image one")
    current_alias = _get_alias(client, function_name, alias)
    if current_alias is None and not create_alias:
        raise DeployError(
            f"alias {alias!r} does not exist on {function_name!r}: Terraform creates it "
            "(apply infra/ first) or pass --create-alias"
        )
    weights = ((current_alias or {}).get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    if weights:
        raise DeployError(
            f"alias {alias!r} is split between versions ({current_alias['FunctionVersion']} + "
            f"{weights}): an earlier rollout did not finish. Move it to one version first "
            f"(aws lambda update-alias --routing-config AdditionalVersionWeights={{}} ...)"
        )
    return config, current_alias


def _update_and_publish(
    client: Any, config: dict[str, Any], image_uri: str, unchanged: str, wait: dict[str, int]
) -> PublishedVersion:
    """Point $LATEST at the image, wait for Lambda to pull it, publish that exact code."""
    function_name = config["FunctionName"]
    guard = {"RevisionId": config["RevisionId"]} if config.get("RevisionId") else {}
    try:
        updated = client.update_function_code(
            FunctionName=function_name, ImageUri=image_uri, **guard
        )
        client.get_waiter("function_updated_v2").wait(FunctionName=function_name, WaiterConfig=wait)
    except Exception as exc:
        reason = _describe(exc)
        try:
            status = client.get_function_configuration(FunctionName=function_name)
            reason += f" (LastUpdateStatus={status.get('LastUpdateStatus')}: "
            reason += f"{status.get('LastUpdateStatusReason', '')})"
        except Exception as detail_exc:  # the original error is the one worth reporting
            reason += f" (status unavailable: {_describe(detail_exc)})"
        raise DeployError(
            f"updating {function_name!r} to {image_uri} failed: {reason}; {unchanged}"
        ) from exc
    try:
        # CodeSha256 makes AWS refuse to publish if someone else changed $LATEST since our update.
        published = client.publish_version(
            FunctionName=function_name,
            CodeSha256=updated["CodeSha256"],
            Description=f"deploy {image_uri}"[:256],
        )
        client.get_waiter("function_active_v2").wait(
            FunctionName=function_name, Qualifier=published["Version"], WaiterConfig=wait
        )
    except Exception as exc:
        raise DeployError(
            f"publishing a version of {function_name!r} failed: {_describe(exc)}; {unchanged}"
        ) from exc
    return PublishedVersion(function_name, published["Version"], published["FunctionArn"])


class AliasRouter:
    """Moves one alias between two versions (weights included), guarded by its RevisionId."""

    def __init__(
        self, client: Any, function_name: str, alias: str, current: dict[str, Any] | None
    ) -> None:
        self._client = client
        self._function = function_name
        self.alias = alias
        self._revision = (current or {}).get("RevisionId")
        self.existed = current is not None

    def route(self, base: str, extra: str | None = None, weight: float = 0.0) -> None:
        """All traffic to ``base``, or ``weight`` of it to ``extra`` and the rest to ``base``."""
        weights = {extra: round(weight, 4)} if extra is not None and 0 < weight < 1 else {}
        if not self.existed:
            answer = self._client.create_alias(
                FunctionName=self._function,
                Name=self.alias,
                FunctionVersion=base,
                RoutingConfig={"AdditionalVersionWeights": weights},
            )
            self.existed = True
        else:
            guard = {"RevisionId": self._revision} if self._revision else {}
            answer = self._client.update_alias(
                FunctionName=self._function,
                Name=self.alias,
                FunctionVersion=base,
                RoutingConfig={"AdditionalVersionWeights": weights},
                **guard,
            )
        self._revision = answer.get("RevisionId")

    def remove(self) -> None:
        """Delete the alias this rollout created (nothing served before it)."""
        self._client.delete_alias(FunctionName=self._function, Name=self.alias)


def _bake(
    gate: AlarmGate | None, seconds: float, poll: float, clock: Clock, event: Timeline
) -> None:
    """Watch the alarms for ``seconds``; raise DeployError naming the first that fires."""
    if gate is None or seconds <= 0:
        return
    deadline = clock.now() + seconds
    event(f"bake {seconds:.0f}s: watching {', '.join(gate.names)} every {poll:.0f}s")
    while True:
        firing = gate.firing()
        if firing:
            raise DeployError(f"alarm in ALARM during the bake: {', '.join(firing)}")
        remaining = deadline - clock.now()
        if remaining <= 0:
            event("bake passed: no alarm fired")
            return
        clock.sleep(min(poll, remaining))


class _TrafficShift:
    """Moves the alias from ``previous`` to ``version`` step by step, and back on failure."""

    def __init__(
        self,
        router: AliasRouter,
        warm: ProvisionedConcurrency,
        previous: str | None,
        version: str,
        event: Timeline,
    ) -> None:
        self._router = router
        self._warm = warm
        self._previous = previous
        self._version = version
        self._event = event

    def run(self, canary: CanaryPlan, alarms: AlarmGate | None, clock: Clock) -> None:
        """Each canary step: route, wait for provisioned concurrency, bake; roll back on failure."""
        alias, new, old = self._router.alias, self._version, self._previous
        # A new alias has no old version to split with: everything at once, then the bake.
        steps = canary.steps() if old is not None else [(1.0, canary.bake_seconds)]
        for weight, bake in steps:
            try:
                if weight < 1 and old is not None:  # (old is None only with steps of 1.0)
                    self._router.route(old, new, weight)
                    self._event(f"shift: {weight:.0%} of {alias} to {new}, rest on {old}")
                else:
                    self._router.route(new)
                    self._event(f"shift: 100% of {alias} to {new}")
                self._event(self._warm.wait_ready())
                _bake(alarms, bake, canary.poll_seconds, clock, self._event)
            except DeployError as exc:
                raise self.roll_back(str(exc)) from exc

    def roll_back(self, reason: str) -> RolledBackError:
        """Route everything to the previous version (or remove a new alias); the error to raise."""
        alias = self._router.alias
        if self._previous is None:
            self._router.remove()
            state = f"alias {alias} removed again"
        else:
            self._router.route(self._previous)
            state = f"all traffic back on version {self._previous}"
            try:
                state += f" ({self._warm.wait_ready()})"
            except DeployError as exc:
                state += f" (but {exc})"
        self._event(f"ROLLBACK: {reason}; {state}")
        error = RolledBackError(f"{reason}; rolled back: {state}")
        error.timeline = self._event.events
        return error


def rollout(
    client: Any,
    function_name: str,
    image_uri: str,
    alias: str = "live",
    *,
    pre_shift: SmokeCheck,
    post_shift: SmokeCheck | None = None,
    alarms: AlarmGate | None = None,
    canary: CanaryPlan | None = None,
    clock: Clock | None = None,
    create_alias: bool = False,
    provisioned_timeout: float = 900.0,
    wait_delay: int = 5,
    wait_attempts: int = 120,
    log: Callable[[str], None] = print,
) -> RolloutResult:
    """Update, publish, smoke-test, shift by canary steps watching ``alarms``, verify; roll back.

    ``client`` is a boto3 Lambda client. No traffic moves before ``pre_shift`` accepted the
    published version or while an alarm is already firing. Once traffic moved, any failed gate
    (an alarm in ALARM during a bake, provisioned concurrency that does not become READY,
    ``post_shift``) routes everything back to the previous version and raises RolledBackError.
    """
    clock = clock or SystemClock()
    event = Timeline(clock, log)
    image = parse_image_uri(image_uri)
    config, current_alias = _preflight(client, function_name, image, alias, create_alias)
    previous = current_alias["FunctionVersion"] if current_alias else None
    unchanged = f"alias {alias} unchanged at {previous}"
    if alarms is not None:
        firing = alarms.firing()  # also proves every alarm exists before anything changes
        if firing:
            raise DeployError(f"alarm already in ALARM before the rollout: {', '.join(firing)}")
    event(f"{function_name}: alias {alias} -> {previous or '(none)'}; deploying {image_uri}")

    wait = {"Delay": wait_delay, "MaxAttempts": wait_attempts}
    published = _update_and_publish(client, config, image_uri, unchanged, wait)
    version = published.version
    event(f"published version {version}")
    result = RolloutResult(published.function_name, alias, image_uri, previous, version)
    result.timeline = event.events

    try:
        result.smoke.append(pre_shift(published))
    except SmokeTestError as exc:
        raise SmokeTestError(f"smoke test of version {version} failed: {exc}; {unchanged}") from exc
    event(f"smoke (version {version} directly): {result.smoke[-1]}")

    warm = ProvisionedConcurrency(client, function_name, alias, clock, provisioned_timeout)
    router = AliasRouter(client, function_name, alias, current_alias)
    shift = _TrafficShift(router, warm, previous, version, event)
    if version == previous:
        event(f"version {version} already serves {alias}: nothing to shift")
    else:
        shift.run(canary or CanaryPlan(), alarms, clock)

    if post_shift is not None:
        try:
            result.smoke.append(post_shift(published))
        except SmokeTestError as exc:
            if version == previous:
                raise SmokeTestError(f"post-rollout smoke test failed: {exc}") from exc
            raise shift.roll_back(f"post-rollout smoke test failed: {exc}") from exc
        event(f"smoke (through the API): {result.smoke[-1]}")
    event(f"done: {alias} serves version {version}")
    return result


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the ``deploy`` options."""
    parser.add_argument("--function", required=True, help="Lambda function name (or ARN)")
    parser.add_argument(
        "--image",
        required=True,
        help="ECR image URI pinned by tag or digest: "
        "ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG (or @sha256:DIGEST)",
    )
    parser.add_argument("--alias", default="live", help="alias API Gateway invokes (default: live)")
    parser.add_argument(
        "--region", default=None, help="AWS region (default: the image URI's region)"
    )
    parser.add_argument(
        "--canary",
        type=float,
        default=10.0,
        help="percent of requests the new version gets during the bake (default 10; "
        "100 shifts everything at once and watches the alarms for --bake after)",
    )
    parser.add_argument(
        "--bake",
        type=parse_duration,
        default=300.0,
        help="how long the canary runs while the alarms are watched (default 300s; e.g. 5m)",
    )
    parser.add_argument(
        "--poll",
        type=parse_duration,
        default=30.0,
        help="how often the alarms are read during the bake (default 30s)",
    )
    parser.add_argument(
        "--alarms",
        default=None,
        help="comma-separated alarm names to watch (default: the function's RolloutAlarms tag, "
        "which Terraform sets)",
    )
    parser.add_argument(
        "--provisioned-timeout",
        type=parse_duration,
        default=900.0,
        help="how long to wait for provisioned concurrency to be READY (default 15m)",
    )
    parser.add_argument(
        "--smoke-url",
        default=None,
        help="API stage base URL (Terraform output invoke_url); after the shift to 100%%, "
        "POST {URL}/inference/MODEL with the API key from --api-key-env, roll back on failure",
    )
    parser.add_argument(
        "--api-key-env",
        default="CNW_API_KEY",
        help="environment variable holding the API key for --smoke-url (default: CNW_API_KEY)",
    )
    parser.add_argument("--smoke-model", default="delay", help="model the smoke tests predict with")
    parser.add_argument(
        "--create-alias",
        action="store_true",
        help="create the alias if missing (normally Terraform owns it and its absence is an error)",
    )


def run(
    args: argparse.Namespace, clock: Clock | None = None, log: Callable[[str], None] = print
) -> int:
    """Run a rollout from parsed arguments; returns the process exit code.

    ``clock`` and ``log`` are for tests (a simulated bake, the timeline as lines).
    """
    try:
        image = parse_image_uri(args.image)
        canary = CanaryPlan(args.canary, args.bake, args.poll)
        post_shift_key = None
        if args.smoke_url:
            post_shift_key = os.environ.get(args.api_key_env)
            if not post_shift_key:
                raise InvalidInputError(
                    f"--smoke-url needs the API key in the environment variable {args.api_key_env}"
                )
        import boto3  # the deploy extra; never part of the Lambda image
        from botocore.exceptions import BotoCoreError, ClientError

        region = args.region or image.region
        client = boto3.client("lambda", region_name=region)
        post_shift = (
            HttpSmokeCheck(args.smoke_url, post_shift_key, model=args.smoke_model)
            if args.smoke_url and post_shift_key
            else None
        )
        try:
            if args.alarms is not None:
                names = [name.strip() for name in args.alarms.split(",") if name.strip()]
            else:
                function_arn = _get_function(client, args.function)["FunctionArn"]
                names = rollout_alarm_names(client, function_arn)
            if not names:
                raise DeployError(
                    f"no alarms to watch: {args.function} has no {ROLLOUT_ALARMS_TAG} tag "
                    "(apply infra/) and --alarms was not given"
                )
            gate = AlarmGate(boto3.client("cloudwatch", region_name=region), names)
            result = rollout(
                client,
                args.function,
                args.image,
                args.alias,
                pre_shift=InvokeSmokeCheck(client, model=args.smoke_model),
                post_shift=post_shift,
                alarms=gate,
                canary=canary,
                clock=clock,
                create_alias=args.create_alias,
                provisioned_timeout=args.provisioned_timeout,
                log=log,
            )
        except (BotoCoreError, ClientError) as exc:
            raise DeployError(f"AWS call failed: {_describe(exc)}") from exc
    except DeployError as exc:
        print(f"deploy: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(
        f"deployed {result.image_uri} to {result.function_name}:{result.alias} "
        f"(version {result.previous_version or '(none)'} -> {result.version})"
    )
    return 0
