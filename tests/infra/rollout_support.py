"""Helpers for rollout tests: a simulated clock, a recorder of every AWS call, moto's answer
queue, the provisioned-concurrency API moto lacks, and an IAM policy evaluator.

moto implements Lambda versions, weighted aliases, invoke (with queued answers) and CloudWatch
alarm states, but not provisioned concurrency and not IAM enforcement. So:

* ``ProvisionedConcurrencyApi`` answers ``GetProvisionedConcurrencyConfig`` through botocore's
  ``before-call`` hook (the call is still recorded), the way Lambda answers it: NotFound for an
  alias without provisioned concurrency, or the statuses a test scripts (IN_PROGRESS ... READY).
* ``CallRecorder`` records every operation a rollout performs (``provide-client-params``), and
  ``iam_allows`` decides whether a policy document allows each of them, so the deploy role's
  policy is tested against the calls the deploy command really makes.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests


class FakeClock:
    """Simulated monotonic time: ``sleep`` advances it and fires what a test scheduled."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []
        self._hooks: list[tuple[float, Callable[[], None]]] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds > 0, "a rollout must never busy-wait"
        self.sleeps.append(seconds)
        self.t += seconds
        due = [hook for hook in self._hooks if hook[0] <= self.t]
        self._hooks = [hook for hook in self._hooks if hook[0] > self.t]
        for _, action in due:
            action()

    def at(self, seconds: float, action: Callable[[], None]) -> None:
        """Run ``action`` once simulated time reaches ``seconds``."""
        self._hooks.append((seconds, action))


@dataclass
class CallRecorder:
    """Every (service, operation, parameters) a boto3 session's clients perform."""

    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def attach(self, session: Any) -> None:
        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            service = model.service_model.service_name
            self.calls.append((service, model.name, dict(params)))

        session.events.register("provide-client-params", record)

    def called(self, operation: str) -> list[dict[str, Any]]:
        return [params for _, name, params in self.calls if name == operation]

    def operations(self) -> list[str]:
        return [name for _, name, _ in self.calls]


class _Http:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}


@dataclass
class ProvisionedConcurrencyApi:
    """Lambda's GetProvisionedConcurrencyConfig, which moto does not implement."""

    statuses: list[dict[str, Any]] = field(default_factory=list)
    configured: bool = False

    def attach(self, session: Any) -> None:
        session.events.register("before-call.lambda.GetProvisionedConcurrencyConfig", self._answer)

    def script(self, *statuses: str, available: int = 1, reason: str = "") -> None:
        """The alias has provisioned concurrency; successive reads return these statuses."""
        self.configured = True
        self.statuses.extend(
            {
                "Status": status,
                "AvailableProvisionedConcurrentExecutions": available,
                "StatusReason": reason,
            }
            for status in statuses
        )

    def _answer(self, **_: Any) -> tuple[_Http, dict[str, Any]]:
        if not self.configured:
            error = {
                "Code": "ProvisionedConcurrencyConfigNotFoundException",
                "Message": "No Provisioned Concurrency Config found for this function",
            }
            return _Http(404), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 404}}
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return _Http(200), {**status, "ResponseMetadata": {"HTTPStatusCode": 200}}


def proxy_response(status: int, body: dict[str, Any]) -> str:
    return json.dumps(
        {
            "statusCode": status,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body),
            "isBase64Encoded": False,
        }
    )


def queue_invoke_results(base_url: str, region: str, *results: str) -> None:
    """moto's documented queue of answers for invokes of functions it cannot run."""
    answer = requests.post(
        f"{base_url}/moto-api/static/lambda-simple/response",
        json={"results": list(results), "region": region},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text


# --- IAM: operations -> actions -> allowed? ----------------------------------------------

#: boto3 operation names whose IAM action is spelled differently.
_ACTION_EXCEPTIONS = {("lambda", "Invoke"): "lambda:InvokeFunction"}
_IAM_PREFIX = {"monitoring": "cloudwatch"}


def iam_action(service: str, operation: str) -> str:
    """The IAM action an API operation needs (``lambda:UpdateAlias``)."""
    prefix = _IAM_PREFIX.get(service, service)
    return _ACTION_EXCEPTIONS.get((service, operation), f"{prefix}:{operation}")


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def iam_allows(policies: Iterable[dict[str, Any]], action: str, resource: str) -> bool:
    """Identity-policy evaluation without conditions: an Allow matches and no Deny does.

    Conditions are ignored: callers check that the statements they rely on have none.
    """
    allowed = False
    for policy in policies:
        for statement in policy.get("Statement", []):
            actions = _as_list(statement.get("Action"))
            resources = _as_list(statement.get("Resource"))
            action_hit = any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions)
            resource_hit = any(fnmatch.fnmatchcase(resource, r) for r in resources)
            if action_hit and resource_hit:
                if statement.get("Effect") == "Deny":
                    return False
                allowed = True
    return allowed
