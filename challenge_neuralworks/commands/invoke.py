"""``python -m challenge_neuralworks invoke --event FILE``: one local Lambda invocation.

Like ``sam local invoke`` without Docker: the event file (see ``events/``) goes to the handler
with a Lambda context, and the proxy response is printed as pretty JSON, its body decoded when it
is JSON so that it reads as the client would see it. A handler exception prints Lambda's error
shape (errorMessage, errorType, stackTrace) and exits 1, as the invoke would fail on AWS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from challenge_neuralworks import environment
from challenge_neuralworks.local.config import DEFAULT_HANDLER, GatewayConfig
from challenge_neuralworks.local.context import ContextFactory
from challenge_neuralworks.local.events import new_request_ids
from challenge_neuralworks.local.loading import import_handler


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the ``invoke`` options."""
    parser.add_argument(
        "--event", required=True, help="API Gateway proxy event JSON file ('-' reads stdin)"
    )
    parser.add_argument(
        "--models-dir",
        help="models directory (the project's handler is built on it; another handler gets it "
        "as CNW_MODELS_DIR, as a Lambda function gets its configuration)",
    )
    parser.add_argument(
        "--handler",
        default=DEFAULT_HANDLER,
        help=f"Lambda handler as package.module.function (default {DEFAULT_HANDLER})",
    )


def _read_event(source: str) -> Any:
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    return json.loads(text)


def readable(response: Any) -> Any:
    """The response with a JSON ``body`` replaced by its parsed value (anything else as is)."""
    if not isinstance(response, dict) or response.get("isBase64Encoded"):
        return response
    body = response.get("body")
    if not isinstance(body, str):
        return response
    try:
        parsed = json.loads(body)
    except ValueError:
        return response
    return {**response, "body": parsed}


def _lambda_error(exc: BaseException) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def _handler(dotted: str, models_dir: str | None) -> Any:
    """The project's handler built on ``models_dir`` (no environment involved), or another
    handler imported by name, configured through the environment like a Lambda function."""
    if models_dir is None:
        return import_handler(dotted)
    directory = Path(models_dir).resolve()
    if dotted == DEFAULT_HANDLER:
        from challenge_neuralworks.handler import create_handler
        from challenge_neuralworks.registry import Registry

        return create_handler(Registry(directory))
    os.environ[environment.MODELS_DIR] = str(directory)
    return import_handler(dotted)


def run(args: argparse.Namespace) -> int:
    """Invoke the handler once; 0 when it returned, 1 when it raised, 2 for a bad event file."""
    try:
        event = _read_event(args.event)
    except (OSError, ValueError) as exc:
        print(f"invoke: cannot read event {args.event}: {exc}", file=sys.stderr)
        return 2
    try:
        handler = _handler(args.handler, args.models_dir)
    except Exception as exc:
        print(json.dumps(_lambda_error(exc), indent=2), file=sys.stderr)
        return 1
    ids = new_request_ids(0.0)
    context = ContextFactory(GatewayConfig(handler=args.handler)).new(ids.lambda_request_id)
    try:
        response = handler(event, context)
    except Exception as exc:
        print(json.dumps(_lambda_error(exc), indent=2), file=sys.stderr)
        return 1
    try:
        text = json.dumps(readable(response), indent=2, ensure_ascii=False)
    except (TypeError, ValueError) as exc:  # Lambda cannot serialise it either
        error = {
            "errorMessage": f"Unable to marshal response: {exc}",
            "errorType": "Runtime.MarshalError",
        }
        print(json.dumps(error, indent=2), file=sys.stderr)
        return 1
    print(text)
    return 0
