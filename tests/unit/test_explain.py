"""The numpy TreeSHAP equals shap's TreeExplainer and the definition, and adds up to the model.

Three references, each independent of ``challenge_neuralworks.explain``:

* ``shap.TreeExplainer`` on the scikit-learn model before compilation (path-dependent, as shap
  does it for ``HistGradientBoostingClassifier``: cover = the nodes' ``count``), on 200 real
  flights with and without the optional request fields;
* the definition itself, brute force: the path-dependent expectation of every subset of the
  features, walked on scikit-learn's own nodes, and the Shapley formula over all subsets. This
  one also covers native categorical splits, which shap reads wrongly for this model type
  (shap/shap#3436: it ignores ``is_categorical`` and the category reordering);
* a two-tree ensemble worked out by hand.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from challenge_neuralworks import artifacts
from challenge_neuralworks.data import Flights, scheduled_view
from challenge_neuralworks.delay.features import FlightColumns, columns_from_frame
from challenge_neuralworks.delay.train import (
    FAST_CONFIG,
    FittedScorer,
    blank_optional,
    classifier_factory,
    fit_scorer,
)
from challenge_neuralworks.ensemble import TreeEnsemble
from challenge_neuralworks.explain import TreeExplainer

TRAIN_ROWS = 30_000
EXPLAINED = 200


def _fit(flights: Flights, **config: Any) -> tuple[FittedScorer, Any, FlightColumns]:
    """A fast model on the first flights, its scikit-learn estimator, and the other flights."""
    columns = columns_from_frame(scheduled_view(flights))
    delayed = flights.frame["delayed"].to_numpy(np.int64)
    fitted: list[Any] = []

    def keep(kwargs: dict[str, Any]) -> Any:
        fitted.append(classifier_factory(kwargs))
        return fitted[-1]

    train = np.arange(TRAIN_ROWS)
    scorer = fit_scorer(
        columns.take(train),
        delayed[train],
        replace(FAST_CONFIG, **config),
        make_estimator=keep,
    )
    rest = np.random.default_rng(7).choice(
        np.arange(TRAIN_ROWS, len(delayed)), EXPLAINED, replace=False
    )
    return scorer, fitted[0], columns.take(np.sort(rest))


@pytest.fixture(scope="module")
def numeric(flights: Flights) -> tuple[FittedScorer, Any, FlightColumns]:
    return _fit(flights)


@pytest.fixture(scope="module")
def categorical(flights: Flights) -> tuple[FittedScorer, Any, FlightColumns]:
    return _fit(flights, native_categorical=True)


def _inputs(scorer: FittedScorer, flights: FlightColumns) -> dict[str, np.ndarray]:
    return {
        "full": scorer.encoder.encode(flights),
        "basic": scorer.encoder.encode(blank_optional(flights)),
    }


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # shap's own colour maps
@pytest.mark.parametrize("mode", ["full", "basic"])
def test_contributions_equal_shap_on_real_flights(numeric: tuple, mode: str) -> None:
    import shap

    scorer, estimator, flights = numeric
    X = _inputs(scorer, flights)[mode]
    if mode == "basic":
        assert np.isnan(X[:, list(scorer.encoder.features).index("flight_delay_rate")]).all()
    reference = shap.TreeExplainer(estimator)  # no data: tree_path_dependent, node counts
    assert reference.feature_perturbation == "tree_path_dependent"
    explainer = TreeExplainer.of(scorer.ensemble)
    ours = explainer.shap_values(X)
    theirs = np.asarray(reference.shap_values(X))
    assert ours.shape == theirs.shape == (EXPLAINED, len(scorer.encoder.features))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    expected = float(np.ravel(reference.expected_value)[0])
    assert explainer.expected_value == pytest.approx(expected, abs=1e-9)
    assert np.abs(theirs).max() > 0.1, "the comparison must involve real contributions"


@pytest.mark.parametrize("model", ["numeric", "categorical"])
def test_local_accuracy(model: str, request: pytest.FixtureRequest) -> None:
    scorer, _, flights = request.getfixturevalue(model)
    explainer = TreeExplainer.of(scorer.ensemble)
    for X in _inputs(scorer, flights).values():
        total = explainer.expected_value + explainer.shap_values(X).sum(axis=1)
        np.testing.assert_allclose(total, scorer.ensemble.raw(X), rtol=0, atol=1e-9)


def _goes_left(node: Any, bitsets: np.ndarray, row: np.ndarray) -> bool:
    """Where scikit-learn's predictor sends a (preprocessed) row at ``node``."""
    value = row[node["feature_idx"]]
    if np.isnan(value):
        return bool(node["missing_go_to_left"])
    if node["is_categorical"]:
        code = int(value)
        return bool((bitsets[node["bitset_idx"], code // 32] >> (code % 32)) & 1)
    return bool(value <= node["num_threshold"])


def _expectation(
    nodes: np.ndarray, bitsets: np.ndarray, i: int, row: np.ndarray, known: np.ndarray
) -> np.ndarray:
    """E[tree(x) | x_S] for every subset S at once (``known``: (subsets, tree columns)),
    averaging an unknown feature's split by the children's counts (Algorithm 1 of the paper)."""
    node = nodes[i]
    if node["is_leaf"]:
        return np.full(len(known), float(node["value"]))
    left, right = int(node["left"]), int(node["right"])
    below = {child: _expectation(nodes, bitsets, child, row, known) for child in (left, right)}
    hot = below[left] if _goes_left(node, bitsets, row) else below[right]
    averaged = (nodes[left]["count"] * below[left] + nodes[right]["count"] * below[right]) / node[
        "count"
    ]
    return np.where(known[:, node["feature_idx"]], hot, averaged)


def _brute_force(estimator: Any, X: np.ndarray) -> tuple[np.ndarray, float]:
    """Shapley values of the path-dependent game from the definition (all 2**M subsets of the
    input columns), on scikit-learn's predictor nodes."""
    m = X.shape[1]
    preprocessor = getattr(estimator, "_preprocessor", None)
    tree_column_of = np.arange(m)  # input column -> the trees' column
    Xp = X
    if preprocessor is not None:  # categorical columns first: scikit-learn's own bookkeeping
        for name, columns in preprocessor.output_indices_.items():
            mask = next(c for n, _, c in preprocessor.transformers_ if n == name)
            tree_column_of[np.flatnonzero(mask)] = np.arange(columns.start, columns.stop)
        Xp = preprocessor.transform(X)
    subsets = np.arange(2**m)
    known = ((subsets[:, None] >> np.arange(m)) & 1).astype(bool)  # by input column
    known_by_tree_column = np.empty_like(known)
    known_by_tree_column[:, tree_column_of] = known
    size = known.sum(axis=1)
    weight = np.array(
        [math.factorial(k) * math.factorial(m - k - 1) if k < m else 0 for k in size]
    ) / math.factorial(m)
    base = float(np.ravel(estimator._baseline_prediction)[0])
    phi = np.zeros_like(X)
    value = np.zeros(2**m)
    for r, row in enumerate(Xp):
        value = base + sum(
            _expectation(p.nodes, p.raw_left_cat_bitsets, 0, row, known_by_tree_column)
            for (p,) in estimator._predictors
        )
        # the reference walks like scikit-learn: with every feature known, it predicts
        assert value[-1] == pytest.approx(float(estimator._raw_predict(X[r : r + 1])[0, 0]))
        for i in range(m):
            outside = ~known[:, i]
            phi[r, i] = np.sum((weight * (value[subsets | (1 << i)] - value))[outside])
    return phi, float(value[0])


@pytest.mark.parametrize("model", ["numeric", "categorical"])
def test_contributions_equal_the_definition(model: str, request: pytest.FixtureRequest) -> None:
    scorer, estimator, flights = request.getfixturevalue(model)
    if model == "categorical":
        assert len(scorer.ensemble.categorical_features) > 0, "no categorical split to check"
    inputs = _inputs(scorer, flights)
    X = np.vstack([inputs["full"][:3], inputs["basic"][:2]])
    X[0, list(scorer.encoder.features).index("airline")] = 99  # an airline never seen
    ours = TreeExplainer.of(scorer.ensemble)
    phi, expected = _brute_force(estimator, X)
    np.testing.assert_allclose(ours.shap_values(X), phi, rtol=0, atol=1e-9)
    assert ours.expected_value == pytest.approx(expected, abs=1e-9)


def _hand_built() -> TreeEnsemble:
    """Tree 1 splits x0 <= 0.5 (cover 10: 4 left, leaf 1.0; 6 right), then x1 <= 0.5 (3 left,
    leaf 2.0; 3 right, leaf 4.0); tree 2 is a single leaf, 0.5. Missing x0 goes right."""
    return TreeEnsemble(
        n_features=2,
        column=np.array([0, 0, 1, 1, 0, 0]),  # node 0 reads x0 with NaN as +inf: right
        threshold=np.array([0.5, np.inf, 0.5, np.inf, np.inf, np.inf]),
        children=np.array([[2, 1], [1, 1], [4, 3], [3, 3], [4, 4], [5, 5]]),
        leaf_value=np.array([0.0, 1.0, 0.0, 2.0, 4.0, 0.5]),
        cover=np.array([10.0, 4.0, 6.0, 3.0, 3.0, 10.0]),
        roots=np.array([0, 5]),
        max_depth=2,
        baseline=-1.0,
        feature_order=np.array([0, 1]),
        categories={},
        categorical_features=np.zeros(0, dtype=np.intp),
        categorical_left=np.zeros((0, 256), dtype=np.uint8),
    )


def test_a_worked_example() -> None:
    """With v(S) the expectation given the features in S:

    * x = (1, 0): v({}) = 0.4 * 1 + 0.6 * 3 = 2.2, v({0}) = 3, v({1}) = 0.4 + 0.6 * 2 = 1.6,
      v({0, 1}) = 2, so phi0 = (0.8 + 0.4) / 2 = 0.6 and phi1 = (-0.6 - 1.0) / 2 = -0.8;
    * x = (missing, 0) goes where x0 = 1 goes: the same;
    * x = (0, 7): v({0}) = 1, v({1}) = 0.4 + 0.6 * 4 = 2.8, v({0, 1}) = 1, so
      phi0 = (-1.2 - 1.8) / 2 = -1.5 and phi1 = (0.6 + 0) / 2 = 0.3: x1 counts although the
      row never reaches the node that tests it (it does in the coalitions without x0).
    """
    ensemble = _hand_built()
    explainer = TreeExplainer.of(ensemble)
    assert explainer.expected_value == pytest.approx(-1.0 + 2.2 + 0.5, abs=1e-12)
    X = np.array([[1.0, 0.0], [np.nan, 0.0], [0.0, 7.0]])
    np.testing.assert_allclose(
        explainer.shap_values(X), [[0.6, -0.8], [0.6, -0.8], [-1.5, 0.3]], atol=1e-12
    )
    np.testing.assert_allclose(
        explainer.expected_value + explainer.shap_values(X).sum(axis=1), ensemble.raw(X)
    )


def test_blocks_of_rows_equal_one_row_at_a_time(numeric: tuple) -> None:
    scorer, _, flights = numeric
    X = _inputs(scorer, flights)["full"]
    explainer = TreeExplainer.of(scorer.ensemble)
    rows = np.vstack([explainer.shap_values(X[i : i + 1]) for i in range(len(X))])
    np.testing.assert_array_equal(explainer.shap_values(X), rows)


def test_the_artifact_stores_the_cover_and_derives_the_tables(numeric: tuple) -> None:
    scorer, estimator, flights = numeric
    ensemble = scorer.ensemble
    first = estimator._predictors[0][0].nodes
    np.testing.assert_array_equal(ensemble.cover[: len(first)], first["count"])
    restored = artifacts.loads(artifacts.dumps(ensemble))
    np.testing.assert_array_equal(restored.cover, ensemble.cover)
    X = _inputs(scorer, flights)["basic"]
    np.testing.assert_array_equal(
        TreeExplainer.of(restored).shap_values(X), TreeExplainer.of(ensemble).shap_values(X)
    )


def test_a_wrong_input_shape_is_refused(numeric: tuple) -> None:
    explainer = TreeExplainer.of(numeric[0].ensemble)
    with pytest.raises(ValueError, match="expected shape"):
        explainer.shap_values(np.zeros((1, 3)))


@pytest.mark.parametrize("cover", [[10.0, 4.0, 6.0, 3.0, 0.0, 10.0], [1.0, 2.0]])
def test_an_ensemble_without_a_positive_cover_per_node_is_refused(cover: list[float]) -> None:
    with pytest.raises(ValueError, match="cover"):
        replace(_hand_built(), cover=np.array(cover))


def test_an_ensemble_too_deep_to_tabulate_is_refused(
    numeric: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    from challenge_neuralworks import explain

    monkeypatch.setattr(explain, "MAX_TABLE_SIZE", 1000)
    with pytest.raises(ValueError, match="bound max_depth"):
        TreeExplainer.of(numeric[0].ensemble)
