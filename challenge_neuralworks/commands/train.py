"""``train``: fit models on the data file and write their artifacts and manifests.

python -m challenge_neuralworks train --model delay [--train-until 2017-10-31] [--out models/]
python -m challenge_neuralworks train --all          # every registered model (``make train``)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from challenge_neuralworks.data import DEFAULT_DATA_PATH, DataValidationError, load_flights
from challenge_neuralworks.environment import DEFAULT_MODELS_DIR
from challenge_neuralworks.model import Trainer, discover_trainers


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """``--model NAME`` or ``--all`` (the registered models with a trainer)."""
    names = sorted(discover_trainers())
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", help=f"one registered model: {', '.join(names)}")
    which.add_argument("--all", action="store_true", help=f"every model: {', '.join(names)}")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_PATH, help="dataset_SCL.csv")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="small, quick configuration (tests and smoke runs, not production)",
    )


def trainers(args: argparse.Namespace) -> list[Trainer]:
    """The trainers ``--model``/``--all`` select, in name order; ``KeyError`` names the known
    models when ``--model`` is not one of them."""
    registered = discover_trainers()
    if not args.all and args.model not in registered:
        raise KeyError(f"unknown model {args.model!r}; known: {sorted(registered)}")
    names = sorted(registered) if args.all else [args.model]
    return [registered[name]() for name in names]


def configure(parser: argparse.ArgumentParser) -> None:
    """Options of the train command."""
    add_model_options(parser)
    parser.add_argument(
        "--train-until",
        metavar="YYYY-MM-DD",
        help="train on flights scheduled up to this day (default: all)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_MODELS_DIR, help="models directory")
    parser.add_argument(
        "--no-evaluate",
        action="store_true",
        help="skip the random/temporal evaluation (no metrics in the manifest)",
    )


def run(args: argparse.Namespace) -> int:
    """Train, save, and print a summary per model."""
    try:
        selected = trainers(args)
        data = load_flights(args.data)
    except (KeyError, DataValidationError) as exc:
        print(f"error: {exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
        return 2
    for trainer in selected:
        started = time.perf_counter()
        try:
            model = trainer.fit(
                data,
                config=trainer.fast_config() if args.fast else None,
                train_until=args.train_until,
                evaluate=not args.no_evaluate,
            )
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        manifest = model.save(args.out)
        summary = {
            "model": model.name,
            "version": model.version,
            "manifest": str(manifest),
            "seconds": round(time.perf_counter() - started, 1),
            "metrics": model.metadata.get("metrics", {}),
        }
        print(json.dumps(summary, indent=2))
    return 0
