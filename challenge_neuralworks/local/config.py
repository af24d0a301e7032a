"""Configuration of the local API Gateway twin: stage, API keys, usage plans and limits.

It lives in one immutable object because several uvicorn worker processes must enforce the very
same keys and plans: the parent serialises it to JSON (``to_json``) and each worker rebuilds it
(``from_json``). Sources, merged by ``build_config``: a small JSON or TOML file (``--config``), then
command line options, then the built-in defaults. See ``docs/local.md`` for the file format.

The objects are pydantic dataclasses: pydantic validates every field and rejects unknown keys,
and the dataclass form keeps positional construction (``UsagePlan("default", 7.0, 3)``).
``build_config`` turns pydantic's errors into one ``ConfigError`` per problem, named by setting.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic.dataclasses import dataclass
from pydantic_settings import BaseSettings, SettingsConfigDict

from challenge_neuralworks import environment

DEFAULT_HANDLER = "challenge_neuralworks.handler.lambda_handler"
#: A fixed, deliberately non-secret development key; overridable with --api-key or CNW_API_KEY.
DEFAULT_API_KEY = "local-dev-key"
#: The twin's stand-in for a SigV4 signature on ``AWS_IAM`` routes (header ``x-ingest-key``):
#: fixed and non-secret like the development key; overridable with --ingest-key or CNW_INGEST_KEY.
DEFAULT_INGEST_KEY = "local-dev-ingest-key"
DEFAULT_STAGE = "dev"
DEFAULT_PLAN = "default"
#: API Gateway's account-level default throttle (10,000 req/s steady, 5,000 burst): a development
#: twin should not throttle before AWS itself would unless a plan asks for it.
DEFAULT_RATE = 10_000.0
DEFAULT_BURST = 5_000
QUOTA_PERIODS = ("DAY", "WEEK", "MONTH")
#: API Gateway REST gives up on an integration after 29 s; infra/ keeps the Lambda timeout below.
MAX_INTEGRATION_TIMEOUT_MS = 29_000

_STAGE_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_FROZEN = ConfigDict(extra="forbid", frozen=True)


class ConfigError(ValueError):
    """The gateway configuration is invalid; the message says which setting and why."""


@dataclass(config=_FROZEN)
class UsagePlan:
    """API Gateway usage plan: token bucket (rate per second, burst size) and optional quota."""

    name: str
    rate: float = DEFAULT_RATE
    burst: int = Field(default=DEFAULT_BURST, strict=True)
    quota_limit: int | None = None
    quota_period: Literal["DAY", "WEEK", "MONTH"] | None = None

    @model_validator(mode="after")
    def _check(self) -> UsagePlan:
        where = f"usage plan {self.name!r}"
        if not self.rate > 0:
            raise ValueError(f"{where}: rate must be > 0, got {self.rate!r}")
        if self.burst < 1:
            raise ValueError(f"{where}: burst must be an integer >= 1")
        if (self.quota_limit is None) != (self.quota_period is None):
            raise ValueError(f"{where}: a quota needs both a limit and a period")
        if self.quota_limit is not None and self.quota_limit < 1:
            raise ValueError(f"{where}: quota limit must be >= 1")
        return self

    def describe(self) -> str:
        """One human line for the startup banner."""
        quota = (
            f"quota {self.quota_limit}/{self.quota_period.lower()}"
            if self.quota_limit is not None and self.quota_period is not None
            else "no quota"
        )
        return f"rate {self.rate:g} req/s, burst {self.burst}, {quota}"


@dataclass(config=_FROZEN)
class ApiKey:
    """An API key value bound to one usage plan, as API Gateway keys are."""

    name: str
    value: str
    usage_plan: str = DEFAULT_PLAN

    @cached_property
    def key_id(self) -> str:
        """A stable 10-character id shaped like API Gateway's (``identity.apiKeyId``); cached."""
        number = int.from_bytes(hashlib.sha256(self.value.encode()).digest()[:8], "big")
        chars = []
        for _ in range(10):
            number, digit = divmod(number, 36)
            chars.append(_BASE36[digit])
        return "".join(chars)


def _default_plans() -> dict[str, UsagePlan]:
    return {DEFAULT_PLAN: UsagePlan(DEFAULT_PLAN)}


@dataclass(config=_FROZEN)
class GatewayConfig:
    """Everything the twin needs to answer like the deployed API Gateway stage and Lambda."""

    stage: str = DEFAULT_STAGE
    api_keys: tuple[ApiKey, ...] = (ApiKey("developer", DEFAULT_API_KEY),)
    usage_plans: dict[str, UsagePlan] = Field(default_factory=_default_plans)
    stage_variables: dict[str, str] | None = None
    handler: str = DEFAULT_HANDLER
    #: ``process``: the handler runs in a child execution environment, killed at its timeout;
    #: ``inline``: imported into the worker (debuggers work; the timeout is checked afterwards).
    isolation: Literal["process", "inline"] = "process"
    #: The value of ``x-ingest-key`` that stands for a valid SigV4 signature on AWS_IAM routes.
    ingest_key: str = DEFAULT_INGEST_KEY
    #: Lambda function name; None means infra/'s naming, ``cnw-<stage>``.
    function_name: str | None = None
    #: The alias API Gateway invokes (infra/ ``lambda_alias_name``).
    function_alias: str = "live"
    #: infra/envs/*.tfvars: 1024 MB, 10 s timeout (below API Gateway's 29 s integration limit).
    memory_limit_mb: int = 1024
    timeout_ms: int = 10_000
    #: Lambda's limit on the Init phase (importing the handler) of an on-demand environment.
    init_timeout_ms: int = 10_000
    #: Connections idle this long between requests are closed (uvicorn's ``timeout_keep_alive``).
    keep_alive_timeout_s: float = 5.0
    #: A request line and headers not received in full this long after the connection became
    #: ready for them (slowloris) close the connection; the body has ``body_timeout_s`` more.
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    region: str = "us-east-1"
    #: Obviously fake ids: the twin never talks to AWS.
    account_id: str = "000000000000"
    api_id: str = "localtwin0"
    #: Path of the shared-memory usage-plan state when several workers serve (set by ``serve``).
    shared_state_path: str | None = None

    @model_validator(mode="after")
    def _check(self) -> GatewayConfig:
        if not _STAGE_RE.match(self.stage):
            raise ValueError(
                f"stage {self.stage!r}: use 1-128 letters, digits, '-' or '_' (API Gateway's rule)"
            )
        if not 1_000 <= self.timeout_ms < MAX_INTEGRATION_TIMEOUT_MS:
            raise ValueError("the Lambda timeout must be 1 s or more and below API Gateway's 29 s")
        if self.init_timeout_ms < 1_000:
            raise ValueError("the Lambda init timeout must be 1 s or more")
        if min(self.keep_alive_timeout_s, self.header_timeout_s, self.body_timeout_s) <= 0:
            raise ValueError("connection timeouts must be > 0 seconds")
        if not self.ingest_key:
            raise ValueError("the ingest key must not be empty")
        if not self.api_keys:
            raise ValueError("at least one API key is required")
        seen: set[str] = set()
        for key in self.api_keys:
            if not key.value or key.value in seen:
                raise ValueError(f"API key {key.name!r}: values must be non-empty and unique")
            seen.add(key.value)
            if key.usage_plan not in self.usage_plans:
                raise ValueError(
                    f"API key {key.name!r} names usage plan {key.usage_plan!r}, not defined"
                )
        return self

    @property
    def lambda_function_name(self) -> str:
        """The Lambda function's name (``context.function_name``)."""
        return self.function_name or f"cnw-{self.stage}"

    def plan_for(self, key: ApiKey) -> UsagePlan:
        """The usage plan that throttles ``key``."""
        return self.usage_plans[key.usage_plan]

    def to_json(self) -> str:
        """Serialise for worker processes (they rebuild it with ``from_json``)."""
        return _CONFIG_ADAPTER.dump_json(self).decode("utf-8")

    @classmethod
    def from_json(cls, text: str) -> GatewayConfig:
        """Inverse of ``to_json``."""
        return _CONFIG_ADAPTER.validate_json(text)


_CONFIG_ADAPTER = TypeAdapter(GatewayConfig)


def parse_quota(text: str) -> tuple[int, str]:
    """Parse ``"LIMIT/PERIOD"`` (e.g. ``"10000/day"``) into ``(10000, "DAY")``."""
    limit, sep, period = text.partition("/")
    period = period.strip().upper()
    if not sep or not limit.strip().isdigit() or period not in QUOTA_PERIODS:
        raise ConfigError(
            f"quota {text!r}: expected LIMIT/PERIOD with PERIOD one of day, week, month"
        )
    return int(limit), period


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a ``.json`` or ``.toml`` gateway configuration file into a plain dict."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(path.read_text(encoding="utf-8"))
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ConfigError(f"{path}: the top level must be an object")
            return data
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    raise ConfigError(f"{path}: the configuration file must end in .toml or .json")


class _PlanSettings(BaseModel):
    """One ``[usage_plans.<name>]`` table of the file."""

    model_config = ConfigDict(extra="forbid")

    rate: float = DEFAULT_RATE
    burst: int = Field(default=DEFAULT_BURST, strict=True)
    quota: str | None = None


class _KeySettings(BaseModel):
    """One ``[[api_keys]]`` entry of the file."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    name: str | None = None
    value: str
    usage_plan: str = DEFAULT_PLAN


class _FileSettings(BaseModel):
    """The configuration file: what a developer may set (the rest are the twin's facts)."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    stage: str = DEFAULT_STAGE
    handler: str = DEFAULT_HANDLER
    ingest_key: str | None = None
    stage_variables: dict[str, str] | None = None
    usage_plans: dict[str, _PlanSettings] = Field(default_factory=dict)
    api_keys: list[_KeySettings] = Field(default_factory=list)
    timeout_ms: int | None = None
    keep_alive_timeout_s: float | None = None
    header_timeout_s: float | None = None
    body_timeout_s: float | None = None


#: The model that validates the entries under each top-level table of the file.
_ALLOWED: dict[str, type[BaseModel]] = {"usage_plans": _PlanSettings, "api_keys": _KeySettings}


def _config_error(where: str, exc: ValidationError) -> ConfigError:
    """One readable message per problem: the setting's dotted path, then the reason."""
    problems = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error["loc"])
        prefix = f"{where}: " if not location else f"{where}: {location}: "
        if error["type"] == "extra_forbidden":
            allowed = sorted(_ALLOWED.get(str(error["loc"][0]), _FileSettings).model_fields)
            if len(error["loc"]) == 1:
                allowed = sorted(_FileSettings.model_fields)
            problems.append(f"{prefix}unknown setting; allowed: {allowed}")
        elif error["type"] == "missing":
            problems.append(
                f"{where}: {location.rsplit('.', 1)[0]}: {error['loc'][-1]!r} is required"
            )
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{prefix}{message}")
    return ConfigError("; ".join(problems))


def build_config(
    file_data: Mapping[str, Any] | None = None,
    *,
    api_keys: Sequence[str] = (),
    stage: str | None = None,
    rate: float | None = None,
    burst: int | None = None,
    quota: str | None = None,
    handler: str | None = None,
    env_api_key: str | None = None,
    ingest_key: str | None = None,
) -> GatewayConfig:
    """Merge the file, the command line and the defaults into one ``GatewayConfig``.

    ``rate``/``burst``/``quota`` override the ``default`` plan, which serves every key that does
    not name another plan. Keys from ``api_keys`` (``--api-key``) are added to the file's keys;
    with no key anywhere, the development key (``env_api_key`` when set, else ``local-dev-key``)
    is the only one. ``ingest_key`` (``--ingest-key`` or ``CNW_INGEST_KEY``) beats the file's.
    """
    try:
        settings = _FileSettings.model_validate(dict(file_data or {}))
    except ValidationError as exc:
        raise _config_error("configuration file", exc) from exc
    plans_data = dict(settings.usage_plans)
    base = plans_data.pop(DEFAULT_PLAN, _PlanSettings())
    default_plan = _PlanSettings(
        rate=base.rate if rate is None else float(rate),
        burst=base.burst if burst is None else burst,
        quota=quota or base.quota,
    )
    keys = [
        ApiKey(key.name or f"key-{index + 1}", key.value, key.usage_plan)
        for index, key in enumerate(settings.api_keys)
    ]
    keys.extend(ApiKey(f"cli-{i + 1}", value) for i, value in enumerate(api_keys))
    if not keys:
        keys.append(ApiKey("developer", env_api_key or DEFAULT_API_KEY))
    limits = {
        name: value
        for name in ("timeout_ms", "keep_alive_timeout_s", "header_timeout_s", "body_timeout_s")
        if (value := getattr(settings, name)) is not None
    }
    try:
        plans = {DEFAULT_PLAN: _plan(DEFAULT_PLAN, default_plan)}
        plans.update({name: _plan(name, plan) for name, plan in plans_data.items()})
        return GatewayConfig(
            stage=stage or settings.stage,
            api_keys=tuple(keys),
            usage_plans=plans,
            stage_variables=settings.stage_variables or None,
            handler=handler or settings.handler,
            ingest_key=ingest_key or settings.ingest_key or DEFAULT_INGEST_KEY,
            **limits,
        )
    except ValidationError as exc:
        raise _config_error("configuration", exc) from exc


def _plan(name: str, settings: _PlanSettings) -> UsagePlan:
    limit, period = parse_quota(settings.quota) if settings.quota else (None, None)
    return UsagePlan(name, settings.rate, settings.burst, limit, period)


class TwinEnvironment(BaseSettings):
    """What the twin reads from the environment (names from ``challenge_neuralworks.environment``).

    ``serve`` reads the keys and the log level; a uvicorn worker process reads the whole
    configuration that its parent ``serve`` wrote to ``GATEWAY_CONFIG`` as JSON.
    """

    model_config = SettingsConfigDict(extra="ignore", env_ignore_empty=True)

    api_key: str | None = Field(default=None, validation_alias=environment.API_KEY)
    ingest_key: str | None = Field(default=None, validation_alias=environment.INGEST_KEY)
    log_level: str = Field(default="info", validation_alias=environment.LOG_LEVEL)
    gateway_config: GatewayConfig | None = Field(
        default=None, validation_alias=environment.GATEWAY_CONFIG
    )
