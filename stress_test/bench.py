"""``make bench``: in-process latency, batch throughput, cold start and memory, with ratios.

What it measures (figures printed and written to ``stress_test/results/bench.json``):

* the handler's latency for one prediction (p50/p99), through the handler
  :func:`~challenge_neuralworks.handler.create_handler` builds (as deployed: EMF metrics written
  for every request), with the proxy events the local twin builds, on real flights from the data
  set; the same handler with metrics off, and explained (``?explain=true``), interleaved in the
  same rounds, as ratios; and where the time goes (JSON + validation, features, tree ensemble,
  the rest of ``predict``, TreeSHAP);
* batch throughput in rows/s for batches of 1, 10, 100 and 1000 flights;
* ``delay_nowcast``'s latency with the SQLite departures store, against ``delay``'s on the same
  flights in the same rounds (with the cached window, as served, and with a store read on every
  request, to show what the cache saves);
* cold start (fresh process: import the handler and load every model) and peak memory;
* the public solutions' serving path (one-row DataFrame, ``get_dummies``, ``reindex``,
  scikit-learn ``predict_proba``) on the same flights in the same run, as a ratio.

No figure is asserted: the machine is shared, so targets are compared in the printout and the
report, never in a timed test. Rounds are interleaved and repeated; medians and their spread
(max/min across rounds) are reported so the noise is visible.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from challenge_neuralworks.departures.feed import CACHE_SECONDS
from stress_test import coldstart
from stress_test.measure import machine, spread, summarise_us, time_calls, write_json
from stress_test.public_baseline import fit_public_model, save_public_model
from stress_test.traffic import load_requests

BATCH_SIZES = (1, 10, 100, 1000)
TARGETS = {
    "single_p50_us": 150.0,
    "nowcast_over_delay_p50": 2.0,
    "explained_single_p50_us": 2000.0,
    "cold_start_s": 0.5,
    "cold_start_ratio_vs_public": 0.3,
    "public_over_handler_p50_min": 10.0,
    "metrics_on_over_off_p50_max": 1.25,
}
Handler = Callable[[Any, Any], dict[str, Any]]


def build_handlers(sink: Any) -> dict[str, Handler]:
    """The handler as deployed in dev (metrics on and every prediction captured, both written
    to ``sink`` as they are to stdout in Lambda), and with metrics and capture off."""
    from challenge_neuralworks.capture import Capture, StreamSink
    from challenge_neuralworks.environment import DEFAULT_MODELS_DIR
    from challenge_neuralworks.handler import create_handler
    from challenge_neuralworks.registry import Registry
    from challenge_neuralworks.telemetry import EmfWriter, RequestMetrics

    registry = Registry(DEFAULT_MODELS_DIR)
    return {
        "on": create_handler(
            registry,
            metrics=RequestMetrics("bench", EmfWriter(sink.write)),
            capture=Capture(StreamSink(sink), sample=1.0, stage="bench"),
        ),
        "off": create_handler(
            registry,
            metrics=RequestMetrics("bench", EmfWriter(None)),
            capture=Capture(StreamSink(sink), sample=0.0),
        ),
    }


def _event(body: Any, model: str = "delay", query: bytes = b"") -> dict[str, Any]:
    """The proxy event the local twin builds for ``POST /inference/<model>`` with ``body``."""
    from challenge_neuralworks.local.samples import SampleRequest, render_event

    return render_event(SampleRequest("bench", "POST", f"/inference/{model}", body, query))


@contextmanager
def _access_log_at_info() -> Iterator[None]:
    """Run the handler with its INFO access log on (as deployed), written to /dev/null."""
    root = logging.getLogger("challenge_neuralworks")
    handlers = [h for h in root.handlers if isinstance(h, logging.StreamHandler)]
    level = root.level
    with open(os.devnull, "w", encoding="utf-8") as sink:
        streams = [h.setStream(sink) for h in handlers]
        root.setLevel(logging.INFO)
        try:
            yield
        finally:
            root.setLevel(level)
            for handler, stream in zip(handlers, streams, strict=True):
                handler.setStream(stream)


def _check_ok(handler: Callable[[Any, Any], dict[str, Any]], events: Sequence[Any]) -> None:
    statuses = {handler(e, None)["statusCode"] for e in events}
    if statuses != {200}:
        raise RuntimeError(f"benchmark events got statuses {statuses}, expected only 200")


def single_latency(
    handlers: dict[str, Handler],
    classic: list[dict[str, Any]],
    mixed: list[dict[str, Any]],
    public: Any,
    *,
    rounds: int,
    calls: int,
) -> dict[str, Any]:
    """Handler p50/p99 per round (metrics on and off), interleaved with the public path on the
    same flights."""
    lambda_handler = handlers["on"]
    classic_events = [_event(r) for r in classic[:calls]]
    mixed_events = [_event(r) for r in mixed[:calls]]
    minutes_events = [_event(r, "delay_minutes") for r in classic[:calls]]
    explained_events = [_event(r, query=b"explain=true") for r in classic[:calls]]
    for events in (classic_events, mixed_events, minutes_events, explained_events):
        _check_ok(lambda_handler, events)
    public_requests = classic[: max(50, calls // 10)]
    per_round: list[dict[str, Any]] = []
    for _ in range(rounds):
        ours = summarise_us(time_calls(lambda e: lambda_handler(e, None), classic_events))
        off = summarise_us(time_calls(lambda e: handlers["off"](e, None), classic_events))
        explained = summarise_us(time_calls(lambda e: lambda_handler(e, None), explained_events))
        theirs = summarise_us(time_calls(public.predict_one, public_requests))
        per_round.append(
            {
                "handler": ours,
                "handler_metrics_off": off,
                "metrics_on_over_off_p50": ours["p50_us"] / off["p50_us"],
                "handler_mixed_shapes": summarise_us(
                    time_calls(lambda e: lambda_handler(e, None), mixed_events)
                ),
                "handler_delay_minutes": summarise_us(
                    time_calls(lambda e: lambda_handler(e, None), minutes_events)
                ),
                "handler_explained": explained,
                "explained_over_handler_p50": explained["p50_us"] / ours["p50_us"],
                "public_predict_one": theirs,
                "public_over_handler_p50": theirs["p50_us"] / ours["p50_us"],
            }
        )
    with _access_log_at_info():
        info = summarise_us(time_calls(lambda e: lambda_handler(e, None), classic_events))

    def across(path: tuple[str, str]) -> dict[str, float]:
        return spread([r[path[0]][path[1]] for r in per_round])

    return {
        "flights": len(classic_events),
        "rounds": rounds,
        "handler_p50_us": across(("handler", "p50_us")),
        "handler_p99_us": across(("handler", "p99_us")),
        "handler_metrics_off_p50_us": across(("handler_metrics_off", "p50_us")),
        "metrics_on_over_off_p50": spread([r["metrics_on_over_off_p50"] for r in per_round]),
        "handler_mixed_shapes_p50_us": across(("handler_mixed_shapes", "p50_us")),
        "handler_delay_minutes_p50_us": across(("handler_delay_minutes", "p50_us")),
        "handler_explained_p50_us": across(("handler_explained", "p50_us")),
        "handler_explained_p99_us": across(("handler_explained", "p99_us")),
        "explained_over_handler_p50": spread([r["explained_over_handler_p50"] for r in per_round]),
        "handler_with_info_access_log": info,
        "public_predict_one_p50_us": across(("public_predict_one", "p50_us")),
        "public_predict_one_p99_us": across(("public_predict_one", "p99_us")),
        "public_over_handler_p50": spread([r["public_over_handler_p50"] for r in per_round]),
        "per_round": per_round,
    }


def stages(
    handlers: dict[str, Handler], classic: list[dict[str, Any]], rounds: int, calls: int
) -> dict[str, Any]:
    """Where one prediction's time goes, stage by stage (median p50 over rounds, in µs)."""
    from challenge_neuralworks.delay.features import FlightColumns

    model = handlers["on"].registry.get("delay")  # type: ignore[attr-defined]
    bodies = [json.dumps(r) for r in classic[:calls]]
    flights = [model.parse(json.loads(b)) for b in bodies]
    columns = [FlightColumns.from_flights([f]) for f in flights]
    matrices = [model.encoder.encode(c) for c in columns]
    steps: dict[str, tuple[Callable[[Any], Any], Sequence[Any]]] = {
        "json_and_validation": (lambda b: model.parse(json.loads(b)), bodies),
        "features": (
            lambda f: model.encoder.encode(FlightColumns.from_flights([f])),
            flights,
        ),
        "ensemble": (model.ensemble.raw, matrices),
        "predict_total": (lambda f: model.predict([f]), flights),
        "explanation": (model.explainer.shap_values, matrices),  # TreeSHAP alone
    }
    figures: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, (function, arguments) in steps.items():
            figures[name].append(summarise_us(time_calls(function, arguments))["p50_us"])
    return {
        "explainer_build_ms": _explainer_build_ms(model),
        "trees": model.ensemble.n_trees,
        "max_depth": model.ensemble.max_depth,
        "nodes": len(model.ensemble.threshold),
        **{f"{name}_p50_us": spread(values) for name, values in figures.items()},
    }


#: The nowcast bench's "now" (SCL local): the departures of the 8 days before it are reported,
#: the flights of the 24 hours after it are predicted.
NOWCAST_NOW = (2017, 12, 8, 12, 0)


def nowcast_latency(registry: Any, sink: Any, rounds: int, calls: int) -> dict[str, Any]:
    """``delay_nowcast`` p50/p99 through the handler with a SQLite store of real departures,
    interleaved with ``delay`` on the same flights (full requests: FECHA-I and VLO-I), metrics
    written to ``sink`` as deployed, capture off (both models pay the same for either)."""
    import csv
    import datetime as dt

    from challenge_neuralworks.capture import Capture, StreamSink
    from challenge_neuralworks.departures.records import epoch_of
    from challenge_neuralworks.departures.sqlite import SQLiteDepartureStore
    from challenge_neuralworks.handler import create_handler
    from challenge_neuralworks.schemas import DepartureReport, resolve_departure
    from challenge_neuralworks.telemetry import EmfWriter, RequestMetrics
    from stress_test.traffic import DATA_PATH, request_from_row

    now_local = dt.datetime(*NOWCAST_NOW)
    now = epoch_of(now_local)
    with DATA_PATH.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["Des-I"] == r["Des-O"]]

    def when(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text)

    reported = [
        resolve_departure(
            DepartureReport.model_validate(
                {
                    "FECHA-I": r["Fecha-I"],
                    "FECHA-O": r["Fecha-O"],
                    "OPERA": r["OPERA"],
                    "VLO-I": r["Vlo-I"],
                    "SIGLADES": r["SIGLADES"],
                }
            ),
            now=now_local,
        )
        for r in rows
        if now_local - dt.timedelta(days=8) <= when(r["Fecha-O"]) <= now_local
    ]
    upcoming = [
        request_from_row(r, "fecha")
        for r in rows
        if now_local < when(r["Fecha-I"]) <= now_local + dt.timedelta(hours=24)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteDepartureStore(Path(tmp) / "departures.sqlite")
        store.put(reported, now=now)
        handler = create_handler(
            registry,
            clock=lambda: now,
            metrics=RequestMetrics("bench", EmfWriter(sink.write)),
            capture=Capture(StreamSink(sink), sample=0.0),
            departures=store,
        )
        nowcast = [_event(r, "delay_nowcast") for r in upcoming]
        delay = [_event(r) for r in upcoming]
        _check_ok(handler, [*nowcast, *delay])
        modes = {json.loads(handler(e, None)["body"])["context"]["mode"] for e in nowcast}
        if modes != {"live"}:
            raise RuntimeError(f"nowcast bench answers are {modes}, expected only live ones")
        per_round = []
        feed = handler.departures  # type: ignore[attr-defined]
        for _ in range(rounds):
            repeat = max(1, calls // len(upcoming))
            ours = summarise_us(time_calls(lambda e: handler(e, None), nowcast * repeat))
            base = summarise_us(time_calls(lambda e: handler(e, None), delay * repeat))
            feed.cache_seconds = 0.0  # a store read on every request
            reads = feed.reads
            uncached = summarise_us(time_calls(lambda e: handler(e, None), nowcast))
            if feed.reads - reads != len(nowcast):
                raise RuntimeError("with the cache off every request must read the store")
            feed.cache_seconds = CACHE_SECONDS
            per_round.append(
                {
                    "nowcast": ours,
                    "delay": base,
                    "nowcast_uncached": uncached,
                    "nowcast_over_delay_p50": ours["p50_us"] / base["p50_us"],
                }
            )

    def across(name: str, key: str = "p50_us") -> dict[str, float]:
        return spread([r[name][key] for r in per_round])

    return {
        "now": now_local.isoformat(sep=" "),
        "departures_in_store": len(reported),
        "flights": len(upcoming),
        "nowcast_p50_us": across("nowcast"),
        "nowcast_p99_us": across("nowcast", "p99_us"),
        "delay_p50_us": across("delay"),
        "nowcast_uncached_p50_us": across("nowcast_uncached"),
        "nowcast_over_delay_p50": spread([r["nowcast_over_delay_p50"] for r in per_round]),
        "per_round": per_round,
    }


def _explainer_build_ms(model: Any) -> float:
    """What the first explained request of a container pays once: the TreeSHAP tables."""
    import time

    from challenge_neuralworks.explain import TreeExplainer

    started = time.perf_counter()
    TreeExplainer.of(model.ensemble)
    return (time.perf_counter() - started) * 1000


def batch_throughput(
    handlers: dict[str, Handler], mixed: list[dict[str, Any]], rounds: int
) -> dict[str, Any]:
    """Rows per second through the handler for each batch size (median over rounds)."""
    lambda_handler = handlers["on"]

    out: dict[str, Any] = {}
    for size in BATCH_SIZES:
        repeats = max(10, min(2000, 20_000 // size))
        events = [
            _event({"flights": mixed[(i * size) % len(mixed) :][:size]}) for i in range(repeats)
        ]
        events = [e for e in events if len(json.loads(e["body"])["flights"]) == size]
        _check_ok(lambda_handler, events[:3])
        rows_per_s = []
        p50s = []
        for _ in range(rounds):
            call = summarise_us(time_calls(lambda e: lambda_handler(e, None), events))
            p50s.append(call["p50_us"])
            rows_per_s.append(size / (call["p50_us"] / 1e6))
        out[str(size)] = {
            "calls_per_round": len(events),
            "call_p50_us": spread(p50s),
            "rows_per_s": spread(rows_per_s),
            "us_per_row": spread([p / size for p in p50s]),
        }
    return out


def _print(results: dict[str, Any]) -> None:
    single, cold, mem = results["single"], results["cold_start"], results["memory"]
    stage = results["stages"]
    print(
        f"machine: {results['machine']['cpu']}, {results['machine']['cores']} cores, load "
        f"{results['machine']['load_average']} -> {results['machine_after']['load_average']}"
    )
    print(
        "single prediction through the handler (delay, original contract, metrics on, every "
        "prediction captured), µs:"
    )
    print(
        f"  p50 {single['handler_p50_us']['median']:.1f} (rounds "
        f"{single['handler_p50_us']['min']:.1f}-{single['handler_p50_us']['max']:.1f}), "
        f"p99 {single['handler_p99_us']['median']:.1f}; target p50 <= "
        f"{TARGETS['single_p50_us']:.0f}"
    )
    explained = single["handler_explained_p50_us"]
    print(
        f"  explained (?explain=true) p50 {explained['median']:.1f} (rounds "
        f"{explained['min']:.1f}-{explained['max']:.1f}), p99 "
        f"{single['handler_explained_p99_us']['median']:.1f}: "
        f"{single['explained_over_handler_p50']['median']:.1f}x the plain p50; target p50 <= "
        f"{TARGETS['explained_single_p50_us']:.0f}"
    )
    print(
        f"  metrics and capture off p50 {single['handler_metrics_off_p50_us']['median']:.1f}; "
        f"on / off {single['metrics_on_over_off_p50']['median']:.2f}x (target <= "
        f"{TARGETS['metrics_on_over_off_p50_max']}x)"
    )
    print(
        f"  mixed request shapes p50 {single['handler_mixed_shapes_p50_us']['median']:.1f}; "
        f"delay_minutes p50 {single['handler_delay_minutes_p50_us']['median']:.1f}; "
        f"with the INFO access log p50 {single['handler_with_info_access_log']['p50_us']:.1f}"
    )
    print(
        f"  stages p50: json+validation {stage['json_and_validation_p50_us']['median']:.1f}, "
        f"features {stage['features_p50_us']['median']:.1f}, ensemble "
        f"{stage['ensemble_p50_us']['median']:.1f} ({stage['trees']} trees, depth "
        f"{stage['max_depth']}), predict total {stage['predict_total_p50_us']['median']:.1f}; "
        f"TreeSHAP {stage['explanation_p50_us']['median']:.1f} (tables built once per container "
        f"by the first explained request: {stage['explainer_build_ms']:.0f} ms)"
    )
    print(
        f"public serving path (pandas get_dummies + scikit-learn) p50 "
        f"{single['public_predict_one_p50_us']['median']:.1f} µs: "
        f"{single['public_over_handler_p50']['median']:.1f}x our whole handler "
        f"(rounds {single['public_over_handler_p50']['min']:.1f}-"
        f"{single['public_over_handler_p50']['max']:.1f}x; target >= "
        f"{TARGETS['public_over_handler_p50_min']:.0f}x)"
    )
    live = results["nowcast"]
    ratio = live["nowcast_over_delay_p50"]
    print(
        f"delay_nowcast, SQLite store ({live['departures_in_store']} departures, "
        f"{live['flights']} flights of the next 24 h): p50 {live['nowcast_p50_us']['median']:.1f}"
        f" µs, p99 {live['nowcast_p99_us']['median']:.1f}; delay on the same flights p50 "
        f"{live['delay_p50_us']['median']:.1f}: ratio {ratio['median']:.2f} (rounds "
        f"{ratio['min']:.2f}-{ratio['max']:.2f}; target <= "
        f"{TARGETS['nowcast_over_delay_p50']}); reading the store on every request p50 "
        f"{live['nowcast_uncached_p50_us']['median']:.1f} µs"
    )
    print("batch throughput through the handler:")
    for size, figure in results["batch"].items():
        print(
            f"  {size:>5} flights/request: {figure['rows_per_s']['median']:>9,.0f} rows/s "
            f"({figure['us_per_row']['median']:.1f} µs/row; rounds "
            f"{figure['rows_per_s']['min']:,.0f}-{figure['rows_per_s']['max']:,.0f})"
        )
    ours, public = cold["ours"], cold["public"]
    print(
        f"cold start, fresh process, median of {ours['import_and_load_s']['runs']} "
        f"(import handler + load {len(ours['models'])} models): "
        f"{ours['import_and_load_s']['median']:.3f} s (import {ours['import_s']['median']:.3f},"
        f" load {ours['load_s']['median']:.3f}; first answer "
        f"{ours['first_answer_s']['median']:.3f};"
        f" process wall {ours['process_wall_s']['median']:.3f}); target <= "
        f"{TARGETS['cold_start_s']}"
    )
    print(
        f"  public stack (pandas + scikit-learn + pickle): "
        f"{public['import_and_load_s']['median']:.3f} s (process wall "
        f"{public['process_wall_s']['median']:.3f}); ours/public "
        f"{cold['ratio_import_and_load']['median']:.2f} (target <= "
        f"{TARGETS['cold_start_ratio_vs_public']}); pandas imported by ours: "
        f"{ours['pandas_imported']}, scikit-learn: {ours['sklearn_imported']}"
    )
    print(
        f"memory: peak RSS {ours['maxrss_mib']['median']:.1f} MiB (public stack "
        f"{public['maxrss_mib']['median']:.1f} MiB); tracemalloc peak import+load "
        f"{mem['tracemalloc_import_and_load_peak_mib']:.1f} MiB, serving a single and a "
        f"1000-flight batch {mem['tracemalloc_serving_peak_mib']:.1f} MiB"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run every measurement, print the figures, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="repetitions of each measurement")
    parser.add_argument("--calls", type=int, default=3000, help="single requests per round")
    parser.add_argument("--cold-runs", type=int, default=9, help="fresh processes per stack")
    parser.add_argument("--out", default="bench.json", help="file name in stress_test/results/")
    args = parser.parse_args(argv)
    from challenge_neuralworks.logs import configure_logging

    before = machine()
    requests = load_requests()
    classic = [r for r in requests if "DIA-I" in r and "VLO-I" not in r]
    sink = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - the EMF lines' stdout
    handlers = build_handlers(sink)
    configure_logging("WARNING")  # the access log at INFO is measured on its own
    registry = handlers["on"].registry  # type: ignore[attr-defined]
    failed = {n: m for n, m in registry.load_all().items() if isinstance(m, Exception)}
    if failed:
        print(f"models not loadable: {failed}", file=sys.stderr)
        return 1
    print("fitting the public solution's model (pandas + scikit-learn) ...", flush=True)
    public = fit_public_model()
    results: dict[str, Any] = {"machine": before, "targets": TARGETS}
    results["single"] = single_latency(
        handlers, classic, requests, public, rounds=args.rounds, calls=args.calls
    )
    results["stages"] = stages(handlers, classic, args.rounds, min(args.calls, 1000))
    results["nowcast"] = nowcast_latency(registry, sink, args.rounds, min(args.calls, 1000))
    results["batch"] = batch_throughput(handlers, requests, args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        model_path = save_public_model(public, Path(tmp) / "public_model.pkl")
        results["cold_start"] = coldstart.cold_starts(
            _event(classic[0]), classic[0], model_path, runs=args.cold_runs
        )
    results["memory"] = coldstart.memory([_event(classic[0]), _event({"flights": requests[:1000]})])
    results["machine_after"] = machine()
    path = write_json(args.out, results)
    _print(results)
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
