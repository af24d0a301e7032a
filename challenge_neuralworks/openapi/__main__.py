"""``python -m challenge_neuralworks.openapi [--write | --check]``: (re)generate the API docs."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from challenge_neuralworks.environment import DEFAULT_MODELS_DIR
from challenge_neuralworks.openapi import DOCS_DIR, generate


def main(argv: Sequence[str] | None = None) -> int:
    """Write the files (``--write``) or report the ones that differ and exit 1 (``--check``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="write docs/openapi.yaml and api.md")
    mode.add_argument("--check", action="store_true", help="exit 1 if the files would change")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--docs-dir", type=Path, default=DOCS_DIR)
    args = parser.parse_args(argv)
    # The examples include a refused artifact on purpose; its log line is not news here, nor
    # the access log (the handler configures logging when imported, so import it first).
    import challenge_neuralworks.handler  # noqa: F401

    logging.getLogger("challenge_neuralworks").setLevel(logging.CRITICAL)
    drifted = []
    for name, text in generate(args.models_dir).items():
        path = args.docs_dir / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        drifted.append(name)
        if args.write:
            path.write_text(text, encoding="utf-8")
    if args.check and drifted:
        print(f"out of date: {', '.join(drifted)}; run `make docs`", file=sys.stderr)
        return 1
    print(f"{'written' if args.write else 'up to date'}: {', '.join(drifted) or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
