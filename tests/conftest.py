"""Fixtures shared by the test tree: the real data set and quickly trained models."""

from __future__ import annotations

import os
import tempfile
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

# The handler's module-level departures store is a SQLite file in .data/ (or a DynamoDB table
# when CNW_DEPARTURES_TABLE is set): the test session, and every process it starts, gets a
# private file instead, so no test writes into a developer's store or reaches AWS.
os.environ.pop("CNW_DEPARTURES_TABLE", None)
os.environ["CNW_DEPARTURES_DB"] = str(
    Path(tempfile.mkdtemp(prefix="cnw-test-departures-")) / "departures.sqlite"
)


@pytest.fixture(scope="session")
def flights() -> Flights:
    """dataset_SCL.csv, validated (loaded once per session)."""
    return load_flights()


@pytest.fixture(scope="session")
def fast_models_dir(tmp_path_factory: pytest.TempPathFactory, flights: Flights) -> Path:
    """Every registered model trained with its fast configuration, saved like `train` does."""
    from challenge_neuralworks.model import discover_trainers

    out = tmp_path_factory.mktemp("models")
    for trainer_class in discover_trainers().values():
        trainer = trainer_class()
        trainer.fit(flights, config=trainer.fast_config(), evaluate=False).save(out)
    return out
