"""Features: no leakage, one implementation for frames and single requests."""

from __future__ import annotations

import numpy as np
import pytest

from challenge_neuralworks import dates
from challenge_neuralworks.data import Flights, scheduled_view
from challenge_neuralworks.delay.features import (
    ALL_FEATURES,
    FlightColumns,
    chilean_holidays,
    columns_from_frame,
    encode_training,
    fit_encoder,
)
from challenge_neuralworks.delay.model import DelayClassifier
from challenge_neuralworks.registry import Registry


@pytest.fixture(scope="module")
def columns(flights: Flights) -> FlightColumns:
    return columns_from_frame(scheduled_view(flights))


@pytest.fixture(scope="module")
def encoder(flights: Flights, columns: FlightColumns):
    return fit_encoder(
        columns,
        flights.frame["delayed"].to_numpy(),
        features=ALL_FEATURES,
        holidays=chilean_holidays(),
    )


def test_columns_read_only_the_scheduled_view(flights: Flights) -> None:
    view = scheduled_view(flights)
    # the frame path works on the scheduled view alone: nothing else is reachable
    assert len(columns_from_frame(view)) == len(view)


def test_calendar_features_come_from_the_scheduled_time(flights: Flights, columns, encoder) -> None:
    frame = flights.frame
    X = encoder.encode(columns)
    month = X[:, ALL_FEATURES.index("month")]
    day = X[:, ALL_FEATURES.index("day")]
    after_midnight = frame["DIA"].astype(int).to_numpy() != frame["scheduled"].dt.day.to_numpy()
    assert after_midnight.sum() == 306
    assert np.array_equal(day, frame["scheduled"].dt.day.to_numpy())
    assert np.array_equal(month, frame["scheduled"].dt.month.to_numpy())
    assert not np.array_equal(
        day[after_midnight], frame["DIA"].astype(int).to_numpy()[after_midnight]
    )


def test_out_of_fold_rate_ignores_the_rows_own_label(flights: Flights, columns, encoder) -> None:
    delayed = flights.frame["delayed"].to_numpy().copy()
    folds = np.arange(len(delayed)) % 5
    position = ALL_FEATURES.index("flight_delay_rate")
    before = encode_training(encoder, columns, delayed, folds)[:, position]
    flipped = delayed.copy()
    flipped[folds == 0] = 1 - flipped[folds == 0]
    after = encode_training(encoder, columns, flipped, folds)[:, position]
    assert np.array_equal(before[folds == 0], after[folds == 0])
    assert not np.array_equal(before[folds != 0], after[folds != 0])


def test_unknown_feature_names_are_refused(encoder) -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match="unknown features"):
        replace(encoder, features=("month", "DIANOM"))


def test_frame_path_equals_single_request_path(flights: Flights, fast_models_dir) -> None:
    """The matrix of the whole frame equals the API's one-request-at-a-time matrix."""
    model = Registry(fast_models_dir).get("delay")
    assert isinstance(model, DelayClassifier)
    frame = flights.frame
    rng = np.random.default_rng(7)
    after_midnight = np.flatnonzero(frame["DIA"].astype(int) != frame["scheduled"].dt.day)
    rows = np.concatenate([rng.choice(len(frame), 300, replace=False), after_midnight[:50]])
    batch = model.encoder.encode(columns_from_frame(scheduled_view(flights)).take(rows))
    for position, row in enumerate(rows):
        record = frame.iloc[row]
        request = {
            "FECHA-I": record["Fecha-I"],
            "OPERA": record["OPERA"],
            "TIPOVUELO": record["TIPOVUELO"],
            "SIGLADES": record["destination"],
            "VLO-I": record["Vlo-I"],
        }
        single = model.encoder.encode(FlightColumns.from_flights([model.parse(request)]))
        np.testing.assert_array_equal(single[0], batch[position], err_msg=f"row {row}")


def test_original_contract_resolves_to_the_scheduled_date(flights: Flights) -> None:
    """Day, month and weekday of every 2017 flight infer 2017 when 2017 is the reference."""
    frame = flights.frame.drop_duplicates(subset=[frame_col := "scheduled"]).head(2000)
    for when in frame[frame_col]:
        assert dates.infer_year(when.day, when.month, when.weekday(), 2017) == 2017


def test_missing_optional_fields_are_nan_not_guesses(encoder) -> None:
    from challenge_neuralworks.schemas import ScheduledFlight

    flight = ScheduledFlight(2017, 2, 3, 9, None, "Grupo LATAM", "La Serena", "N", None)
    X = encoder.encode(FlightColumns.from_flights([flight]))[0]
    assert np.isnan(X[ALL_FEATURES.index("minute_of_day")])
    assert np.isnan(X[ALL_FEATURES.index("flight_delay_rate")])
    unseen = flight._replace(flight_number="99999")
    X = encoder.encode(FlightColumns.from_flights([unseen]))[0]
    assert X[ALL_FEATURES.index("flight_delay_rate")] == pytest.approx(encoder.prior_rate)


def test_every_feature_has_one_formula_in_matrix_order() -> None:
    from challenge_neuralworks.delay.features import FEATURE_FORMULAS

    assert tuple(FEATURE_FORMULAS) == ALL_FEATURES


def test_a_feature_subset_equals_those_columns_of_all_features(
    flights: Flights, columns, encoder
) -> None:
    """Computing only the selected features changes no value, serving or training."""
    from dataclasses import replace

    subset = ("flight_delay_rate", "hour", "days_to_holiday", "airline", "weekday")
    picked = [ALL_FEATURES.index(name) for name in subset]
    narrow = replace(encoder, features=subset)
    rows = columns.take(np.arange(0, len(columns), 37))
    np.testing.assert_array_equal(narrow.encode(rows), encoder.encode(rows)[:, picked])
    delayed = flights.frame["delayed"].to_numpy()[::37]
    folds = np.arange(len(delayed)) % 3
    np.testing.assert_array_equal(
        encode_training(narrow, rows, delayed, folds),
        encode_training(encoder, rows, delayed, folds)[:, picked],
    )
