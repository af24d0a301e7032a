"""The numpy tree runtime reproduces scikit-learn's predictions exactly."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from challenge_neuralworks.ensemble import TreeEnsemble, sigmoid


def synthetic(n: int = 6000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [
            rng.integers(0, 23, n),  # categorical, like the airline code
            rng.normal(size=n),
            rng.integers(0, 60, n),  # categorical, like the destination code
            rng.normal(size=n),
        ]
    ).astype(float)
    X[rng.random(n) < 0.1, 1] = np.nan
    X[rng.random(n) < 0.05, 0] = np.nan
    signal = (X[:, 0] % 3 == 0) + np.nan_to_num(X[:, 1], nan=2.0) + (X[:, 2] % 7 == 1)
    y = (signal + rng.normal(size=n) > 1).astype(int)
    return X, y


@pytest.mark.parametrize("categorical", [[0, 2], None])
def test_classifier_parity(categorical: list[int] | None) -> None:
    X, y = synthetic()
    model = HistGradientBoostingClassifier(
        max_iter=40, max_depth=7, categorical_features=categorical, random_state=0
    ).fit(X, y)
    ensemble = TreeEnsemble.from_hist_gradient_boosting(model)
    probe, _ = synthetic(2000, seed=1)
    probe[:40, 0] = 22.0 + 7  # categories never seen in training behave as missing
    np.testing.assert_allclose(ensemble.raw(probe), model._raw_predict(probe).ravel(), atol=1e-12)
    np.testing.assert_allclose(
        sigmoid(ensemble.raw(probe)), model.predict_proba(probe)[:, 1], atol=1e-12
    )


@pytest.mark.parametrize("loss", [{"loss": "squared_error"}, {"loss": "quantile", "quantile": 0.9}])
def test_regressor_parity(loss: dict) -> None:
    X, _ = synthetic()
    target = np.nan_to_num(X[:, 1]) * 3 + X[:, 3]
    model = HistGradientBoostingRegressor(
        max_iter=30, categorical_features=[0, 2], random_state=0, **loss
    ).fit(X, target)
    ensemble = TreeEnsemble.from_hist_gradient_boosting(model)
    probe, _ = synthetic(1500, seed=2)
    np.testing.assert_allclose(ensemble.raw(probe), model.predict(probe), atol=1e-10)


def test_single_rows_equal_batch_rows() -> None:
    X, y = synthetic()
    ensemble = TreeEnsemble.from_hist_gradient_boosting(
        HistGradientBoostingClassifier(
            max_iter=20, categorical_features=[0, 2], random_state=0
        ).fit(X, y)
    )
    batch = ensemble.raw(X[:50])
    singles = [ensemble.raw(X[i : i + 1])[0] for i in range(50)]
    np.testing.assert_array_equal(batch, singles)


def test_wrong_shape_is_refused() -> None:
    X, y = synthetic(500)
    ensemble = TreeEnsemble.from_hist_gradient_boosting(
        HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(X, y)
    )
    with pytest.raises(ValueError, match="expected shape"):
        ensemble.raw(X[:, :3])


def test_multiclass_is_refused() -> None:
    X, _ = synthetic(600)
    y = np.arange(600) % 3
    model = HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="only binary"):
        TreeEnsemble.from_hist_gradient_boosting(model)


def test_artifacts_hold_the_fields_only_and_rebuild_the_walk() -> None:
    """The walk layout is derived on load, never stored: the artifact holds the node arrays."""
    from challenge_neuralworks import artifacts

    X, y = synthetic(800)
    ensemble = TreeEnsemble.from_hist_gradient_boosting(
        HistGradientBoostingClassifier(max_iter=8, random_state=0, categorical_features=[0, 2]).fit(
            X, y
        )
    )
    assert ensemble.categories, "the case with category tables (int keys) is the one to store"
    payload = artifacts.dumps(ensemble)
    assert b"_walk" not in payload
    restored = artifacts.loads(payload)
    assert isinstance(restored, TreeEnsemble)
    np.testing.assert_array_equal(restored.raw(X), ensemble.raw(X))
    assert artifacts.dumps(restored) == payload


def test_blocks_of_rows_equal_one_row_at_a_time() -> None:
    """Inputs longer than one block are split; the seams change nothing."""
    from challenge_neuralworks.ensemble import _BLOCK_ROWS

    X, y = synthetic(2 * _BLOCK_ROWS + 7)
    ensemble = TreeEnsemble.from_hist_gradient_boosting(
        HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(X, y)
    )
    rows = [ensemble.raw(X[i : i + 1])[0] for i in range(len(X))]
    np.testing.assert_array_equal(ensemble.raw(X), rows)


def test_the_walk_reads_nodes_level_by_level() -> None:
    """The walk's layout holds every node once, roots first, each level after the one above
    it (the order that keeps a step's reads together); predictions are unchanged by it."""
    from challenge_neuralworks.ensemble import level_order

    X, y = synthetic(3000)
    model = HistGradientBoostingClassifier(max_iter=12, max_depth=5, random_state=0).fit(X, y)
    ensemble = TreeEnsemble.from_hist_gradient_boosting(model)
    order = level_order(ensemble.children, ensemble.roots)
    assert sorted(order.tolist()) == list(range(len(ensemble.threshold)))
    depth = np.concatenate([tree[0].nodes["depth"] for tree in model._predictors])
    assert np.all(np.diff(depth[order]) >= 0), "a node is laid out before one above it"
    assert order[: ensemble.n_trees].tolist() == ensemble.roots.tolist()
    walk = ensemble._walk  # type: ignore[attr-defined]
    np.testing.assert_array_equal(walk.threshold[::2], ensemble.threshold[order])
    np.testing.assert_array_equal(walk.roots, 2 * np.arange(ensemble.n_trees))
    np.testing.assert_allclose(ensemble.raw(X), model._raw_predict(X).ravel(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("categorical", [[0, 2], None])
def test_evaluating_leaves_the_input_unchanged(categorical: list[int] | None) -> None:
    """Widening writes category codes into its own copy (reordered inputs) and reads an input
    in training order as it is: the caller's matrix never changes."""
    X, y = synthetic(1500)
    model = HistGradientBoostingClassifier(
        max_iter=5, random_state=0, categorical_features=categorical
    ).fit(X, y)
    ensemble = TreeEnsemble.from_hist_gradient_boosting(model)
    assert ensemble._widening.in_order is (categorical is None)  # type: ignore[attr-defined]
    before = X.copy()
    ensemble.raw(X)
    ensemble.raw(X[:1])
    np.testing.assert_array_equal(X, before)
