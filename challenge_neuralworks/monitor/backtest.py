"""``make monitoring-report``: the monitor on real data, end to end, into ``docs/monitoring/``.

What production would see after two months: ``delay`` trained on January–October with the
production recipe, served behind the local twin with every prediction captured
(``serve --capture-dir``), every November–December flight of the data set sent as a client sends
it (one request per flight, the richer contract: scheduled datetime, flight number, airline,
destination), then ``monitor`` with the flights' actual departures as labels. The report must show
the known shift (December's delay rate rises, new destinations appear) and realised metrics equal
to the temporal protocol's; the committed one is linked from the model card.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from challenge_neuralworks import environment

DEFAULT_OUT: Final[Path] = Path(__file__).resolve().parents[2] / "docs" / "monitoring"
MODEL: Final[str] = "delay"
BACKTEST_KEY: Final[str] = "backtest-key"


def run_backtest(out: Path, *, fast: bool = False) -> int:
    """Train, serve, replay, monitor; returns the monitor's exit status (1: drift, expected)."""
    import httpx

    from challenge_neuralworks.cli import main as cli
    from challenge_neuralworks.commands.predict import request_item
    from challenge_neuralworks.data import DEFAULT_DATA_PATH, load_flights
    from challenge_neuralworks.delay.evaluate import TEMPORAL_CUTOFF
    from challenge_neuralworks.local.testing import running_serve
    from challenge_neuralworks.model import discover_trainers
    from challenge_neuralworks.registry import Registry

    data = load_flights()
    trainer = discover_trainers()[MODEL]()
    with tempfile.TemporaryDirectory(prefix="cnw-backtest-") as tmp:
        models, captures = Path(tmp) / "models", Path(tmp) / "captures"
        config = trainer.fast_config() if fast else None
        trainer.fit(data, config=config, train_until=TEMPORAL_CUTOFF, evaluate=False).save(models)
        model = Registry(models).get(MODEL)
        frame = data.frame
        later = frame[frame["scheduled"] > f"{TEMPORAL_CUTOFF} 23:59:59"]
        rows = later.astype(str).to_dict("records")
        statuses: Counter[int] = Counter()
        with (
            running_serve(
                "--models-dir",
                str(models),
                "--capture-dir",
                str(captures),
                "--api-key",
                BACKTEST_KEY,
                "--log-level",
                "warning",
                log_path=Path(tmp) / "serve.log",
                env={
                    environment.CAPTURE_SAMPLE: "1.0",
                    environment.METRICS: "off",
                    environment.LOG_LEVEL: "WARNING",
                },
                ready_key=BACKTEST_KEY,
            ) as served,
            httpx.Client(
                base_url=served.base_url, headers={"x-api-key": BACKTEST_KEY}, timeout=60
            ) as client,
        ):
            for row in rows:
                statuses[
                    client.post(f"/inference/{MODEL}", json=request_item(model, row)).status_code
                ] += 1
        print(f"sent {len(rows)} November-December flights: statuses {dict(statuses)}", flush=True)
        shutil.rmtree(out, ignore_errors=True)
        return cli(
            [
                "monitor",
                "--model",
                MODEL,
                "--captures",
                str(captures),
                "--labels",
                str(DEFAULT_DATA_PATH),
                "--models-dir",
                str(models),
                "--out",
                str(out),
            ]
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Write the report; exit 0 when it was written (the monitor's own verdict is printed)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--fast", action="store_true", help="the fast recipe (smoke runs)")
    args = parser.parse_args(argv)
    status = run_backtest(args.out, fast=args.fast)
    verdict = {0: "nothing crossed", 1: "a documented threshold crossed (the known shift)"}
    print(f"monitor exit {status}: {verdict.get(status, 'bad input')}; report in {args.out}")
    return 0 if status in verdict else status


if __name__ == "__main__":
    sys.exit(main())
