"""``evaluate``: both protocols' metrics (JSON) and the model card's charts.

python -m challenge_neuralworks evaluate --model delay [--out-dir docs/evaluation] [--fast]
python -m challenge_neuralworks evaluate --all       # every registered model (``make evaluate``)

A model whose trainer renders a card section (:meth:`Trainer.card_section`) gets it written into
``docs/model_card.md`` (``--card``) between its two markers, so the card's figures are the ones
this run measured; without the markers the section is appended.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from challenge_neuralworks.commands.train import add_model_options, trainers
from challenge_neuralworks.data import DataValidationError, load_flights

DEFAULT_OUT_DIR = Path(__file__).resolve().parents[2] / "docs" / "evaluation"
DEFAULT_CARD = DEFAULT_OUT_DIR.parent / "model_card.md"


def card_markers(model: str) -> tuple[str, str]:
    """The comments around a model's generated section of the model card."""
    return (
        f"<!-- evaluate:{model}:begin (written by `python -m challenge_neuralworks evaluate`) -->",
        f"<!-- evaluate:{model}:end -->",
    )


def write_card_section(card: Path, model: str, section: str) -> None:
    """Replace ``model``'s generated section of ``card`` (append it when it has none)."""
    begin, end = card_markers(model)
    block = f"{begin}\n{section.strip()}\n{end}"
    text = card.read_text(encoding="utf-8") if card.exists() else ""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + block + "\n"
    card.write_text(text, encoding="utf-8")


def configure(parser: argparse.ArgumentParser) -> None:
    """Options of the evaluate command."""
    add_model_options(parser)
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=DEFAULT_OUT_DIR,
        help="writes <out-dir>/<model>/metrics.json and charts",
    )
    parser.add_argument(
        "--card",
        type=Path,
        default=DEFAULT_CARD,
        help="the model card the generated sections are written into",
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
        section = trainer.card_section(report)
        if section is not None:
            write_card_section(args.card, trainer.model.name, section)
            print(f"wrote {trainer.model.name}'s section of {args.card}", file=sys.stderr)
    return 0
