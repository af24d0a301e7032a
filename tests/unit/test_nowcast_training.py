"""The nowcast's recipe and its evaluation, on a quarter of the data with the fast configuration.

October trains, November-December test (the temporal protocol's cut-off): live departures must
beat the schedule-only answer clearly at short leads, or the live features are broken.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from challenge_neuralworks.data import Flights
from challenge_neuralworks.nowcast.build import EVALUATION_LEADS, build_nowcast, evaluate_nowcast
from challenge_neuralworks.nowcast.train import FAST_NOWCAST_CONFIG, NowcastConfig, sample_leads

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def autumn(flights: Flights) -> Flights:
    frame = flights.frame
    return replace(flights, frame=frame[frame["scheduled"] >= "2017-10-01"].reset_index(drop=True))


def test_live_departures_beat_the_schedule_at_short_leads(autumn: Flights) -> None:
    metrics = evaluate_nowcast(autumn, FAST_NOWCAST_CONFIG)
    assert metrics["train_rows"] + metrics["test_rows"] == len(autumn.frame)
    assert list(metrics["leads"]) == ["0.5h", "1h", "2h", "6h", "24h"]
    schedule = metrics["schedule_only"]["full"]
    for lead in ("0.5h", "1h", "2h"):
        live = metrics["leads"][lead]["full"]
        assert live["roc_auc"] > schedule["roc_auc"] + 0.02, lead
        assert live["pr_auc"] > schedule["pr_auc"] + 0.02, lead
    for shape in ("full", "basic"):
        assert 0 < metrics["leads"]["2h"][shape]["threshold"] < 1


def test_the_manifest_states_the_recipe_and_its_live_features(autumn: Flights) -> None:
    model = build_nowcast(autumn, config=FAST_NOWCAST_CONFIG, evaluate=False)
    meta = model.metadata
    assert meta["live_features"] == list(FAST_NOWCAST_CONFIG.live_features)
    assert meta["training_config"]["lead_hours"] == [0.5, 24.0]
    assert meta["departures_lookback_hours"] == 7 * 24
    assert 0 < model.threshold < 1 and 0 < model.schedule_threshold < 1
    again = build_nowcast(autumn, config=FAST_NOWCAST_CONFIG, evaluate=False)
    assert again.version == model.version
    assert again.predict([again.parse(again.example())]) == model.predict(
        [model.parse(model.example())]
    )


def test_leads_are_log_uniform_over_the_trained_range() -> None:
    leads = sample_leads(np.random.default_rng(0), 200_000, NowcastConfig())
    assert leads.min() >= 0.5 and leads.max() <= 24.0
    # as many leads in each doubling: 0.5-1 h, 1-2 h, ..., 8-16 h
    counts = np.histogram(leads, bins=[0.5, 1, 2, 4, 8, 16])[0]
    assert counts.max() / counts.min() < 1.05
    assert EVALUATION_LEADS == (0.5, 1.0, 2.0, 6.0, 24.0)
