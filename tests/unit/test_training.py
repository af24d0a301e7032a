"""Training is deterministic, the threshold comes from training data, and quality holds."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from challenge_neuralworks.cli import main
from challenge_neuralworks.data import Flights
from challenge_neuralworks.delay.build import DelayTrainer
from challenge_neuralworks.delay.train import FAST_CONFIG, choose_threshold


def test_same_data_and_code_give_the_same_artifact(flights: Flights, tmp_path: Path) -> None:
    first = DelayTrainer().fit(flights, config=FAST_CONFIG, evaluate=False)
    second = DelayTrainer().fit(flights, config=FAST_CONFIG, evaluate=False)
    hashes = []
    for run, model in enumerate((first, second)):
        manifest = json.loads(model.save(tmp_path / str(run)).read_text())
        payload = (tmp_path / str(run) / "delay" / manifest["artifact"]).read_bytes()
        assert hashlib.sha256(payload).hexdigest() == manifest["sha256"]
        hashes.append(manifest["sha256"])
    assert hashes[0] == hashes[1]
    assert first.version == second.version


def test_train_until_restricts_the_window(flights: Flights) -> None:
    model = DelayTrainer().fit(
        flights, config=FAST_CONFIG, evaluate=False, train_until="2017-06-30"
    )
    window = model.metadata["training_window"]
    assert window["last_scheduled"] < "2017-07-01"
    assert window["rows"] == int((flights.frame["scheduled"] < "2017-07-01").sum())


def test_threshold_rules() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 5000)
    probability = np.clip(labels * 0.3 + rng.random(5000) * 0.7, 0, 1)
    f1_threshold = choose_threshold(probability, labels, "f1")
    recall_threshold = choose_threshold(probability, labels, "recall:0.9")
    assert 0 < f1_threshold < 1
    assert (probability[labels == 1] >= recall_threshold).mean() >= 0.9
    with pytest.raises(ValueError, match="unknown threshold rule"):
        choose_threshold(probability, labels, "accuracy")


@pytest.fixture(scope="module")
def fast_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`evaluate --fast`: both protocols with the fast configuration (also checks the CLI)."""
    out = tmp_path_factory.mktemp("evaluation")
    assert main(["evaluate", "--model", "delay", "--fast", "--out-dir", str(out)]) == 0
    for chart in ("roc.png", "pr.png", "calibration.png", "importance.png"):
        assert (out / "delay" / chart).stat().st_size > 5_000
    return json.loads((out / "delay" / "metrics.json").read_text())


@pytest.mark.parametrize("mode", ["full", "basic"])
def test_metrics_do_not_regress(fast_report: dict, mode: str) -> None:
    """Floors a little under what the fast configuration measured (see docs/model_card.md)."""
    temporal = fast_report["protocols"]["temporal"]
    random = fast_report["protocols"]["random"]
    assert temporal["train_rows"] == 55_768 and temporal["test_rows"] == 12_438
    assert random["train_rows"] == 45_698 and random["test_rows"] == 22_508
    t, r = temporal[mode], random[mode]
    assert t["roc_auc"] >= 0.665 and t["pr_auc"] >= 0.36
    assert r["roc_auc"] >= 0.715 and r["pr_auc"] >= 0.38
    for m in (t, r):
        assert m["brier"] <= 0.96 * m["brier_base_rate"]
        assert m["recall"] >= 0.55 and m["f1"] >= 0.40


def test_permutation_importance_ranks_known_signals(fast_report: dict) -> None:
    drops = fast_report["permutation_importance_temporal"]
    top = list(drops)[:5]
    assert "hour" in top or "minute_of_day" in top
    assert set(drops) == set(fast_report["config"]["features"])
