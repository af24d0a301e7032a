"""The notebook's experiment loop scores every variant the same way, on both protocols."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from challenge_neuralworks.data import Flights
from challenge_neuralworks.delay import experiments as ex
from challenge_neuralworks.delay.train import BoostingParams, TrainingConfig

#: Small enough for a unit test; the recipe (encoder, OOF rates, blanked rows) is the real one.
TINY = TrainingConfig(
    boosting=BoostingParams(max_iter=15, learning_rate=0.3, max_leaf_nodes=7, max_depth=4),
    folds=2,
)


@pytest.fixture(scope="module")
def bench(flights: Flights) -> ex.Workbench:
    return ex.Workbench.from_flights(flights)


@pytest.fixture(scope="module")
def rows(bench: ex.Workbench) -> tuple[np.ndarray, np.ndarray]:
    """A slice of the temporal split: 6,000 training rows, 2,000 test rows."""
    split = bench.splits["temporal"]
    return split.train[::9][:6000], split.test[::6][:2000]


def test_extended_fit_without_options_is_the_production_scorer(
    bench: ex.Workbench, rows: tuple[np.ndarray, np.ndarray]
) -> None:
    train, test = rows
    production = ex.scorer_fit(bench, TINY)(train)
    extended = ex.extended_fit(bench, TINY)(train)
    for mode in ("full", "basic"):
        np.testing.assert_allclose(extended(test, mode), production(test, mode), atol=1e-9)


def test_extended_fit_options_change_the_model(
    bench: ex.Workbench, rows: tuple[np.ndarray, np.ndarray]
) -> None:
    train, test = rows
    plain = ex.extended_fit(bench, TINY)(train)(test, "full")
    weighted = ex.extended_fit(bench, TINY, weight=ex.recency_weight(30))(train)(test, "full")
    extra = ex.extended_fit(bench, TINY, extra=ex.daily_schedule_count(bench))(train)(test, "full")
    assert not np.allclose(weighted, plain)
    assert not np.allclose(extra, plain)


def test_basic_requests_blank_minute_and_flight_number(bench: ex.Workbench) -> None:
    flights = bench.flights(np.arange(50), "basic")
    assert np.isnan(flights.minute).all()
    assert set(flights.flight_number) == {None}
    full = bench.flights(np.arange(50), "full")
    assert not np.isnan(full.minute).any()


def test_run_experiment_reports_both_protocols_with_row_counts(bench: ex.Workbench) -> None:
    def base_rate(train: np.ndarray) -> ex.Predictor:
        rate = bench.delayed[train].mean()
        return lambda test, mode: np.full(len(test), rate)

    result = ex.run_experiment(bench, "base rate", base_rate)
    for protocol, split in bench.splits.items():
        m = result.metrics[protocol]
        assert (m["train_rows"], m["test_rows"]) == (len(split.train), len(split.test))
        for mode in ("full", "basic"):
            assert m[mode]["roc_auc"] == pytest.approx(0.5)
            assert m[mode]["brier"] == pytest.approx(m[mode]["brier_base_rate"])
    assert result.metrics["temporal"]["train_rows"] == 55_768
    assert len(result.rows()) == 4
    row = result.summary("reference")
    assert row["decision"] == "reference" and row["T ROC-AUC"] == 0.5
    frame = ex.results_frame(result, result)
    assert frame.index.names == ["experiment", "protocol", "mode"] and len(frame) == 8
    assert list(ex.summary_frame([row]).index) == ["base rate"]


def test_served_columns_differ_from_training_columns_only_where_the_file_leaks(
    flights: Flights, bench: ex.Workbench, rows: tuple[np.ndarray, np.ndarray]
) -> None:
    leaky = bench.with_columns(ex.file_calendar_columns(flights))
    changed = (
        (leaky.columns.day != bench.columns.day)
        | (leaky.columns.month != bench.columns.month)
        | (np.asarray(leaky.columns.destination) != np.asarray(bench.columns.destination))
    )
    frame = flights.frame
    moved = (frame["operated"].dt.normalize() != frame["scheduled"].dt.normalize()).to_numpy()
    diverted = (frame["SIGLADES"] != frame["destination"]).to_numpy()
    assert (moved.sum(), diverted.sum()) == (306, 20)
    np.testing.assert_array_equal(changed, moved | diverted)
    train, _ = rows
    test = np.arange(len(bench.delayed))
    trained_leaky = ex.scorer_fit(leaky, TINY)(train)
    served = ex.scorer_fit(leaky, TINY, serve=bench)(train)
    as_trained, as_served = trained_leaky(test, "full"), served(test, "full")
    np.testing.assert_array_equal(as_trained[~changed], as_served[~changed])
    assert (as_trained[changed] != as_served[changed]).any()


def test_file_calendar_is_the_actual_departure_date(flights: Flights) -> None:
    columns = ex.file_calendar_columns(flights)
    operated = flights.frame["operated"]
    assert (columns.day == operated.dt.day.to_numpy()).all()
    assert (columns.month == operated.dt.month.to_numpy()).all()
    assert (columns.hour == flights.frame["scheduled"].dt.hour.to_numpy()).all()


def test_classic_fit_scores_both_calendars(
    bench: ex.Workbench, rows: tuple[np.ndarray, np.ndarray]
) -> None:
    train, test = rows
    for calendar in ("file", "scheduled"):
        p = ex.classic_fit(bench, "logistic", calendar=calendar)(train)(test, "basic")
        assert p.shape == (len(test),) and ((p > 0) & (p < 1)).all()
    with pytest.raises(ValueError, match="unknown calendar"):
        ex.classic_fit(bench, "logistic", calendar="operated")


def test_recency_weight_halves_every_half_life(bench: ex.Workbench) -> None:
    flights = bench.columns.take(bench.splits["temporal"].train)
    weight = ex.recency_weight(30)(flights)
    last = np.flatnonzero((flights.month == 10) & (flights.day == 31))
    month_before = np.flatnonzero((flights.month == 10) & (flights.day == 1))
    assert np.allclose(weight[last], 1.0)
    assert np.allclose(weight[month_before], 0.5)


def test_daily_schedule_count_counts_the_flights_of_each_date(bench: ex.Workbench) -> None:
    count = ex.daily_schedule_count(bench)
    first_of_january = np.flatnonzero((bench.columns.month == 1) & (bench.columns.day == 1))
    counts = count(bench.columns)
    assert (counts[first_of_january] == len(first_of_january)).all()
    outside = replace(bench.columns.take(np.array([0])), year=np.array([2019]))
    assert np.isnan(count(outside)).all()


def test_unseen_destinations_scores_each_flight_by_a_model_without_its_destination(
    bench: ex.Workbench,
) -> None:
    split = bench.splits["temporal"]
    destination = np.array(bench.columns.destination)
    scored: list[np.ndarray] = []

    def fit(train: np.ndarray) -> ex.Predictor:
        seen = set(destination[train])

        def predict(test: np.ndarray, mode: str) -> np.ndarray:
            assert not seen & set(destination[test]), "a held destination was in training"
            if mode == "full":
                scored.append(test)
            return bench.delayed[test] * 0.5 + 0.25  # a perfect ranking

        return predict

    result = ex.run_unseen_destinations(bench, "oracle", fit, groups=4)
    assert len(scored) == 4
    everything = np.sort(np.concatenate(scored))
    np.testing.assert_array_equal(everything, split.test)  # every test row once
    m = result.metrics[ex.UNSEEN_DESTINATIONS]
    assert m["test_rows"] == 12_438 and m["train_rows"] < len(split.train)
    assert m["full"]["roc_auc"] == 1.0 and m["basic"]["roc_auc"] == 1.0
    assert len(result.rows()) == 2
