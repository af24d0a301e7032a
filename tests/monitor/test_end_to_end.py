"""The monitor on real data: train on January-October, capture November-December, report.

The model is the temporal protocol's own (same rows, same recipe, deterministic), so the
report's realised quality must be the protocol's figures on the flights that could be joined,
and the drift sections must show what is known about the data: the delay rate rises towards
December, five destinations appear that training never saw, the months are new.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from challenge_neuralworks.capture import DirectorySink
from challenge_neuralworks.data import DEFAULT_DATA_PATH, Flights
from challenge_neuralworks.delay.evaluate import (
    ProtocolResult,
    classification_metrics,
    evaluate_classifier,
)
from challenge_neuralworks.delay.features import normalize_flight_number
from challenge_neuralworks.delay.model import DelayClassifier
from challenge_neuralworks.delay.train import FAST_CONFIG
from challenge_neuralworks.monitor.outcomes import join_outcomes
from challenge_neuralworks.monitor.reader import read_captures

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def temporal(flights: Flights) -> ProtocolResult:
    """``delay.evaluate``'s temporal protocol with the same recipe."""
    return evaluate_classifier(flights, FAST_CONFIG, protocols=("temporal",))["temporal"]


@pytest.fixture(scope="module")
def models(
    tmp_path_factory: pytest.TempPathFactory, jan_oct_models: Path, temporal: ProtocolResult
) -> Path:
    """The January-October artifact with the protocol's metrics in its manifest, as
    ``train --train-until 2017-10-31`` (with evaluation) writes them."""
    out = tmp_path_factory.mktemp("models")
    shutil.copytree(jan_oct_models / "delay", out / "delay")
    path = out / "delay" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["metrics"] = {"temporal": temporal.metrics}
    path.write_text(json.dumps(manifest))
    return out


@pytest.fixture(scope="module")
def nov_dec_captures(
    tmp_path_factory: pytest.TempPathFactory,
    jan_oct_model: DelayClassifier,
    nov_dec: pd.DataFrame,
    replay_flights,
) -> tuple[Path, Counter]:
    """November-December through the model and the capture: 70% of the items in the richer
    contract, one request per day."""
    captures = tmp_path_factory.mktemp("captures")
    counts = replay_flights(jan_oct_model, nov_dec, DirectorySink(captures), full_share=0.7)
    return captures, counts


@pytest.fixture(scope="module")
def run(
    tmp_path_factory: pytest.TempPathFactory,
    models: Path,
    nov_dec_captures: tuple[Path, Counter],
    run_monitor,
) -> dict[str, Any]:
    captures, counts = nov_dec_captures
    out = tmp_path_factory.mktemp("report")
    code = run_monitor(models, captures, out, "--labels", str(DEFAULT_DATA_PATH))
    return {
        "code": code,
        "counts": counts,
        "captures": captures,
        "out": out,
        "report": json.loads((out / "report.json").read_text()),
    }


def test_every_flight_is_captured_once(run: dict, nov_dec: pd.DataFrame) -> None:
    counts, report = run["counts"], run["report"]
    assert counts["captured"] + counts["rejected"] == len(nov_dec) == 12_438
    assert counts["failures"] == 0
    assert report["input"]["captures"] == len(nov_dec)
    assert sum(report["input"]["skipped"].values()) == 0
    assert report["volumes"]["predictions"] == counts["captured"]
    assert report["volumes"]["rejections"] == counts["rejected"]
    assert len(report["volumes"]["per_day"]) == 61  # one request per scheduled day


def test_new_destinations_appear(run: dict, nov_dec: pd.DataFrame, jan_oct: pd.DataFrame) -> None:
    """A destination new since training shows up either served with an ``unseen_destination``
    warning (its city resolves to an airport) or refused as ``unknown_value`` (the data's own
    spelling names no airport: "Ushuia", "Puerto Stanley"); every flight to one is in one of
    the two, by name, in the report and its markdown."""
    new = set(nov_dec["destination"]) - set(jan_oct["destination"])
    assert len(new) == 5
    unseen = run["report"]["unseen"]
    refused = {v["value"]: v["count"] for v in unseen["rejections"]["unknown_values"]["SIGLADES"]}
    served = {
        v["value"].split(" (")[0]: v["count"] for v in unseen["warnings"]["unseen_destinations"]
    }
    assert refused and served, "both paths are exercised by these two months"
    assert set(refused) | set(served) == new
    assert not set(refused) & set(served)
    to_new = int(nov_dec["destination"].isin(new).sum())
    assert sum(refused.values()) + sum(served.values()) == to_new
    assert unseen["rejections"]["by_code"] == {"unknown_value": sum(refused.values())}
    assert unseen["warnings"]["by_code"]["unseen_destination"] == sum(served.values())
    markdown = (run["out"] / "report.md").read_text()
    assert all(name in markdown for name in new)


def test_new_flight_numbers_and_months(run: dict) -> None:
    report = run["report"]
    month = report["features"]["month"]
    assert month["unseen_share"] == 1.0
    assert {v["value"] for v in month["unseen_values"]} == {11, 12}
    flights = report["unseen"]["flights"]
    assert 0.01 < flights["unknown_share"] < 0.10  # 2.8% of Nov-Dec flights are new


def test_the_delay_rate_rises_towards_december(run: dict) -> None:
    report = run["report"]
    quality = report["quality"]
    training_rate = report["reference"]["delay_rate"]
    assert quality["realised_delay_rate"] > training_rate + 0.03
    weekly = quality["weekly"]
    november = [w["delay_rate"] for w in weekly if w["week"] <= "2017-11-27"]
    december = [w["delay_rate"] for w in weekly if w["week"] >= "2017-12-04"]
    assert np.mean(december) > np.mean(november) > training_rate
    worst = max(weekly, key=lambda w: w["delay_rate"])
    assert worst["week"].startswith("2017-12")
    assert sum(w["flights"] for w in weekly) == quality["joined"]


def test_the_score_follows_the_shift_and_the_exit_status_says_so(run: dict) -> None:
    report = run["report"]
    score = report["score"]
    assert score["source"] == "out_of_fold"
    assert score["mean"] > score["reference_mean"] + 0.02
    assert score["psi"] > 0.1  # at least a moderate shift on two months of captures
    assert score["positive_rate"] > score["reference_positive_rate"]
    assert set(score["by_mode"]) == {"full", "basic"}
    assert run["code"] == (1 if report["alerts"] else 0)
    assert report["status"] == ("alert" if report["alerts"] else "ok")


def test_calendar_features_are_reported_not_alerted(run: dict) -> None:
    report = run["report"]
    assert report["features"]["month"]["psi"] > 1.0
    assert all(a["subject"] != "month" for a in report["alerts"])


def test_unjoinable_captures_are_counted(run: dict) -> None:
    quality = run["report"]["quality"]
    basic = run["report"]["score"]["by_mode"]["basic"]["rows"]
    assert quality["unjoinable"]["no_scheduled_date"] == basic  # original contract requests
    assert quality["unjoinable"]["not_in_labels"] == 0
    assert quality["joined"] == run["report"]["score"]["by_mode"]["full"]["rows"]


def test_realised_metrics_are_the_temporal_protocols(
    run: dict, temporal: ProtocolResult, flights: Flights, jan_oct_model: DelayClassifier
) -> None:
    # the protocol fitted the very same model
    assert temporal.fitted.threshold == jan_oct_model.threshold
    quality = run["report"]["quality"]
    realised = quality["metrics"]
    # on the joined flights: the protocol's probabilities of those rows, same metric code
    records, _ = read_captures(str(run["captures"]), model="delay")
    joined = join_outcomes([r for r in records if not r.rejected], flights)
    test = flights.frame.iloc[temporal.split.test]
    position = {
        f"{when:%Y-%m-%dT%H:%M:%S}|{airline}|{normalize_flight_number(number)}": i
        for i, (when, airline, number) in enumerate(
            zip(test["scheduled"], test["OPERA"], test["Vlo-I"], strict=True)
        )
    }
    rows = [
        position[f"{r.input['scheduled']}|{r.input['airline']}|{r.input['flight_number']}"]
        for r in joined.records
    ]
    assert joined.delayed.tolist() == temporal.test_labels[rows].tolist()
    same_rows = classification_metrics(
        temporal.test_labels[rows],
        temporal.probabilities["full"][rows],
        temporal.fitted.threshold,
        temporal.metrics["train_delay_rate"],
    )
    for name in ("roc_auc", "pr_auc", "brier", "log_loss", "precision", "recall"):
        assert realised[name] == pytest.approx(same_rows[name], abs=2e-5), name  # 6-digit answers
    # and on all of the protocol's test flights (full requests): the same figures, within the
    # noise of using 70% of them
    protocol = quality["temporal_protocol"]
    assert protocol["mode"] == "full"
    assert protocol["roc_auc"] == temporal.metrics["full"]["roc_auc"]
    assert realised["roc_auc"] == pytest.approx(protocol["roc_auc"], abs=0.015)
    assert realised["brier"] == pytest.approx(protocol["brier"], abs=0.01)
    assert all(a["check"] != "roc_auc_drop" for a in run["report"]["alerts"])
    assert len(quality["reliability"]) == 10


def test_the_report_files(run: dict) -> None:
    out = run["out"]
    for name in (
        "report.md",
        "volumes.png",
        "score.png",
        "features.png",
        "categories.png",
        "reliability.png",
        "weekly.png",
    ):
        assert (out / name).stat().st_size > 5_000, name
    markdown = (out / "report.md").read_text()
    for image in ("score.png", "weekly.png", "reliability.png"):
        assert f"]({image})" in markdown
    assert f"PSI {run['report']['score']['psi']:.3f}" in markdown
