"""Fixtures shared by the test tree: the real data set and quickly trained models."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from challenge_neuralworks.data import Flights, load_flights

# Hypothesis fails an example slower than 200 ms and data generation it finds too slow: on a
# busy machine both measure the machine, not the code. The suite asserts behaviour only.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

REPO = Path(__file__).resolve().parent.parent
COMMITTED_MODELS = REPO / "models"


@pytest.fixture(scope="session")
def flights() -> Flights:
    """dataset_SCL.csv, validated (loaded once per session)."""
    return load_flights()


@pytest.fixture(scope="session")
def fast_models_dir(tmp_path_factory: pytest.TempPathFactory, flights: Flights) -> Path:
    """Both delay-family models trained with the fast configuration, saved like `train` does."""
    from challenge_neuralworks.delay.minutes import FAST_MINUTES_CONFIG
    from challenge_neuralworks.delay.model import DelayClassifier, DelayMinutes
    from challenge_neuralworks.delay.train import FAST_CONFIG

    out = tmp_path_factory.mktemp("models")
    DelayClassifier.train(flights, config=FAST_CONFIG, evaluate=False).save(out)
    DelayMinutes.train(flights, config=FAST_MINUTES_CONFIG, evaluate=False).save(out)
    return out
