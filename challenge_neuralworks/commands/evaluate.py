"""``evaluate``: both protocols' metrics (JSON) and the model card's charts.

python -m challenge_neuralworks evaluate --model delay [--out-dir docs/evaluation] [--fast]
python -m challenge_neuralworks evaluate --all       # every registered model (``make evaluate``)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from challenge_neuralworks.commands.train import add_model_options, trainers
from challenge_neuralworks.data import DataValidationError, load_flights

DEFAULT_OUT_DIR = Path(__file__).resolve().parents[2] / "docs" / "evaluation"


def configure(parser: argparse.ArgumentParser) -> None:
    """Options of the evaluate command."""
    add_model_options(parser)
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=DEFAULT_OUT_DIR,
        help="writes <out-dir>/<model>/metrics.json and charts",
    )


def run(args: argparse.Namespace) -> int:
    """Evaluate, write the files, print the report."""
    try:
        selected = trainers(args)
        data = load_flights(args.data)
    except (KeyError, DataValidationError) as exc:
        print(f"error: {exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
        return 2
    for trainer in selected:
        out_dir = args.out_dir / trainer.model.name
        out_dir.mkdir(parents=True, exist_ok=True)
        config = trainer.fast_config() if args.fast else None
        report = trainer.evaluate(data, config=config, out_dir=out_dir)
        (out_dir / "metrics.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(report, indent=2))
        print(f"wrote {out_dir}", file=sys.stderr)
    return 0
