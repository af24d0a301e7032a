"""Command line entry point: ``python -m challenge_neuralworks <command>``.

Each command lives in its own module exposing ``configure(parser)`` and ``run(args) -> int``.
The modules are imported only when their command runs, so ``invoke`` never pays for
pandas and ``serve`` never pays for scikit-learn.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: command name -> (implementing module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("challenge_neuralworks.commands.train", "train a model and write its artifact"),
    "evaluate": (
        "challenge_neuralworks.commands.evaluate",
        "evaluate a model on the random and temporal protocols",
    ),
    "predict": ("challenge_neuralworks.commands.predict", "score a CSV or JSON-lines file"),
    "serve": ("challenge_neuralworks.local.cli", "run the local API Gateway twin"),
    "invoke": ("challenge_neuralworks.commands.invoke", "run the Lambda handler on one event"),
    "deploy": ("challenge_neuralworks.deploy", "roll a new image out to a Lambda alias"),
    "monitor": ("challenge_neuralworks.commands.monitor", "drift and quality report of captures"),
}


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """Build the parser, configuring only the command being run (lazy imports)."""
    parser = argparse.ArgumentParser(
        prog="python -m challenge_neuralworks",
        description="SCL departure delay service: training, serving and deployment.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = argv[0] if argv else None
    for name, (module, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:
            importlib.import_module(module).configure(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    return int(module.run(args) or 0)
