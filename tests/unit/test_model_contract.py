"""Every registered model passes every contract check: the committed artifacts and fresh ones.

Each (model, check) pair is its own test id (``delay-check_round_trip``), as scikit-learn's
``parametrize_with_checks`` does for estimators.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from challenge_neuralworks.environment import DEFAULT_MODELS_DIR
from challenge_neuralworks.model import discover
from challenge_neuralworks.registry import Registry
from challenge_neuralworks.testing import (
    Check,
    check_batch_agrees_with_single,
    check_lean_imports,
    check_model,
    parametrize_with_checks,
)

COMMITTED = Registry(DEFAULT_MODELS_DIR)
REGISTERED = sorted(discover())


def test_every_registered_model_has_a_committed_artifact() -> None:
    assert COMMITTED.names() == REGISTERED
    assert COMMITTED.status() == dict.fromkeys(REGISTERED, "not_loaded")


@parametrize_with_checks(REGISTERED)
def test_committed_artifact(name: str, check: Check) -> None:
    check(COMMITTED.get(name))


@parametrize_with_checks(REGISTERED, skip=[check_lean_imports])
def test_freshly_trained_model(fast_models_dir: Path, name: str, check: Check) -> None:
    check(Registry(fast_models_dir).get(name))


def test_the_checks_catch_a_broken_model(fast_models_dir: Path) -> None:
    """The contract can fail: a model whose batch answers come back in reverse order."""
    model = Registry(fast_models_dir).get("delay")

    class Shuffled(type(model)):
        def predict(self, items, context=None):
            return list(reversed(super().predict(items, context)))

    broken = object.__new__(Shuffled)
    broken.__dict__.update(model.__dict__)
    with pytest.raises(AssertionError, match="batch predictions differ"):
        check_batch_agrees_with_single(broken)
    with pytest.raises(AssertionError):
        check_model(broken, skip=[check_lean_imports])
