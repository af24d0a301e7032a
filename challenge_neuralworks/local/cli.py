"""``python -m challenge_neuralworks serve``: run the local API Gateway twin on uvicorn.

It prints what a developer needs to make the first call (URL, key, a ready-to-paste curl line,
the Swagger UI page), then serves with the twin's protocol (``protocol.py``) and the access log
off: the twin is load-tested, and a log line per request would cost more than the gateway itself.
With several workers, each key's usage plan is enforced once for the whole server through a
shared-memory token bucket (see ``usage_plans.py``), not per worker. What the handler reads from
the environment (models directory, stage, capture directory) is set here, before any worker or
execution environment starts, so the handler sees it exactly as in Lambda.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from challenge_neuralworks import environment
from challenge_neuralworks.local.config import (
    DEFAULT_API_KEY,
    DEFAULT_INGEST_KEY,
    ConfigError,
    GatewayConfig,
    TwinEnvironment,
    build_config,
    load_config_file,
)
from challenge_neuralworks.routes import ROUTES

_LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the ``serve`` options."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        dest="api_keys",
        metavar="KEY",
        help=f"accepted x-api-key value, repeatable (default: ${environment.API_KEY} or"
        f" {DEFAULT_API_KEY})",
    )
    parser.add_argument(
        "--ingest-key",
        help="x-ingest-key value standing for a SigV4 signature on AWS_IAM routes (default:"
        f" ${environment.INGEST_KEY} or {DEFAULT_INGEST_KEY})",
    )
    parser.add_argument(
        "--models-dir", help=f"models directory for the handler (sets {environment.MODELS_DIR})"
    )
    parser.add_argument(
        "--capture-dir",
        help=f"write captured predictions under DIR (sets {environment.CAPTURE_DIR})",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes (default 1)"
    )
    parser.add_argument(
        "--stage",
        help=f"API Gateway stage, the first path segment (default dev; sets {environment.STAGE})",
    )
    parser.add_argument("--rate", type=float, help="usage plan steady rate, requests/s per key")
    parser.add_argument("--burst", type=int, help="usage plan burst (token bucket size) per key")
    parser.add_argument("--quota", help="usage plan quota per key, LIMIT/PERIOD, e.g. 10000/day")
    parser.add_argument("--config", help="gateway configuration file (.toml or .json)")
    parser.add_argument(
        "--handler", help="Lambda handler as package.module.function (default: the project's)"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the handler inside the worker (debuggers work; the Lambda timeout is then"
        " checked after the handler returns instead of stopping it)",
    )
    parser.add_argument(
        "--access-log", action="store_true", help="log every request (off by default for speed)"
    )
    env_level = TwinEnvironment().log_level.lower()
    parser.add_argument(
        "--log-level",
        choices=_LOG_LEVELS,
        default=env_level if env_level in _LOG_LEVELS else "info",
        help=f"server log level (default: ${environment.LOG_LEVEL} or info)",
    )


def gateway_config(args: argparse.Namespace) -> GatewayConfig:
    """The configuration the options (and the ``--config`` file) describe."""
    env = TwinEnvironment()
    config = build_config(
        load_config_file(args.config) if args.config else None,
        api_keys=args.api_keys,
        stage=args.stage,
        rate=args.rate,
        burst=args.burst,
        quota=args.quota,
        handler=args.handler,
        env_api_key=env.api_key,
        ingest_key=args.ingest_key or env.ingest_key,
    )
    return replace(config, isolation="inline") if args.in_process else config


def _display_host(host: str) -> str:
    if host in ("0.0.0.0", "", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def banner(config: GatewayConfig, host: str, port: int, workers: int) -> str:
    """The startup text: URL, keys and plans, how limits are enforced, a curl line to paste."""
    from challenge_neuralworks.local.samples import EXAMPLE_FLIGHT

    base = f"http://{_display_host(host)}:{port}/{config.stage}"
    key = config.api_keys[0]
    resources = " ".join(dict.fromkeys(route.path for route in ROUTES))
    isolation = (
        "in each worker (--in-process)"
        if config.isolation == "inline"
        else "in its own execution environment per worker, stopped at its"
        f" {config.timeout_ms / 1000:g} s timeout"
    )
    lines = [
        f"challenge_neuralworks local API Gateway twin: stage {config.stage!r}, "
        f"{workers} worker(s), handler {config.handler}",
        f"  URL:      {base}  (resources: {resources})",
        f"  Docs:     {base}/docs  (Swagger UI; twin-only, no key)",
    ]
    for api_key in config.api_keys:
        # The first key is shown in full for the curl line; the others only by name.
        shown = api_key.value if api_key is key else f"{api_key.name} (value not shown)"
        note = " (development key, not a secret)" if api_key.value == DEFAULT_API_KEY else ""
        lines.append(
            f"  API key:  {shown}{note}; usage plan {api_key.usage_plan!r}:"
            f" {config.plan_for(api_key).describe()}"
        )
    if any(route.authorization == "AWS_IAM" for route in ROUTES):
        shown = (
            config.ingest_key if config.ingest_key == DEFAULT_INGEST_KEY else "(value not shown)"
        )
        lines.append(f"  IAM:      AWS_IAM routes also need header x-ingest-key: {shown}")
    lines.append(f"  Handler:  runs {isolation}")
    if workers > 1:
        lines.append(
            f"  Limits:   each key's rate, burst and quota hold for the whole server: the {workers}"
            " workers share one token bucket and quota counter per key (not rate/workers each),"
            f" in shared memory {config.shared_state_path}"
        )
    else:
        lines.append("  Limits:   each key's rate, burst and quota are enforced in this process")
    curl = shlex.join(
        [
            "curl",
            "-sS",
            "-X",
            "POST",
            f"{base}/inference/delay",
            "-H",
            f"x-api-key: {key.value}",
            "-H",
            "content-type: application/json",
            "-d",
            json.dumps(EXAMPLE_FLIGHT, ensure_ascii=False),
        ]
    )
    lines += ["  Try it:", f"  {curl}"]
    return "\n".join(lines)


def _shared_state(config: GatewayConfig) -> GatewayConfig:
    """Create and fill the shared usage-plan state for several workers; returns the config."""
    from challenge_neuralworks.local.usage_plans import (
        SharedUsageState,
        SystemClock,
        UsagePlanEnforcer,
    )

    directory = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    fd, path = tempfile.mkstemp(prefix="cnw-usage-", dir=directory)
    os.close(fd)
    slots = len(config.api_keys)
    SharedUsageState.create(path, slots)
    enforcer = UsagePlanEnforcer(
        [config.plan_for(k) for k in config.api_keys], SharedUsageState(path, slots), SystemClock()
    )
    enforcer.initialise()
    enforcer.close()
    return replace(config, shared_state_path=path)


def _handler_environment(args: argparse.Namespace, config: GatewayConfig) -> dict[str, str]:
    """What the handler reads from the environment, as ``serve``'s options set it."""
    handler_env = {environment.STAGE: config.stage}
    for option, name in (
        (args.models_dir, environment.MODELS_DIR),
        (args.capture_dir, environment.CAPTURE_DIR),
    ):
        if option:
            handler_env[name] = str(Path(option).resolve())
    return handler_env


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns the exit code (2 for a bad configuration)."""
    import uvicorn

    from challenge_neuralworks.local.app import GatewayApp
    from challenge_neuralworks.local.protocol import server_options

    try:
        config = gateway_config(args)
    except ConfigError as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("serve: --workers must be >= 1", file=sys.stderr)
        return 2
    if args.models_dir and not Path(args.models_dir).is_dir():
        print(f"serve: --models-dir {args.models_dir} is not a directory", file=sys.stderr)
        return 2
    if args.capture_dir:
        Path(args.capture_dir).mkdir(parents=True, exist_ok=True)
    os.environ.update(_handler_environment(args, config))
    if args.workers > 1:
        config = _shared_state(config)
    print(banner(config, args.host, args.port, args.workers), flush=True)
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        **server_options(config, log_level=args.log_level, access_log=args.access_log),
    }
    try:
        if args.workers > 1:
            os.environ[environment.GATEWAY_CONFIG] = config.to_json()
            uvicorn.run(
                "challenge_neuralworks.local.app:create_app_from_env",
                factory=True,
                workers=args.workers,
                **options,
            )
        else:
            uvicorn.run(GatewayApp(config), **options)
    finally:
        if config.shared_state_path:
            Path(config.shared_state_path).unlink(missing_ok=True)
    return 0
