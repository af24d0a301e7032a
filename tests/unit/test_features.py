"""Features: no leakage, one implementation for frames and single requests."""

from __future__ import annotations

import numpy as np
import pytest

from challenge_neuralworks import dates
from challenge_neuralworks.airports import great_circle_km
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
    """The matrix of the whole frame equals the API's one-request-at-a-time matrix, for a
    request naming the scheduled airport (``DES-I``) and, where that airport is its city's
    busiest, for one naming the city alone."""
    model = Registry(fast_models_dir).get("delay")
    assert isinstance(model, DelayClassifier)
    frame = flights.frame
    rng = np.random.default_rng(7)
    after_midnight = np.flatnonzero(frame["DIA"].astype(int) != frame["scheduled"].dt.day)
    diverted = np.flatnonzero(frame["Des-I"] != frame["Des-O"])
    rows = np.concatenate(
        [rng.choice(len(frame), 300, replace=False), after_midnight[:50], diverted]
    )
    batch = model.encoder.encode(columns_from_frame(scheduled_view(flights)).take(rows))
    main = model.encoder.main_airports
    by_city = 0
    for position, row in enumerate(rows):
        record = frame.iloc[row]
        common = {
            "FECHA-I": record["Fecha-I"],
            "OPERA": record["OPERA"],
            "TIPOVUELO": record["TIPOVUELO"],
            "VLO-I": record["Vlo-I"],
        }
        requests = [{**common, "DES-I": record["Des-I"]}]
        if main[record["destination"]] == record["Des-I"]:
            requests.append({**common, "SIGLADES": record["destination"]})
            by_city += 1
        for request in requests:
            single = model.encoder.encode(FlightColumns.from_flights([model.parse(request)]))
            np.testing.assert_array_equal(single[0], batch[position], err_msg=f"row {row}")
    assert by_city > 300


def test_original_contract_resolves_to_the_scheduled_date(flights: Flights) -> None:
    """Day, month and weekday of every 2017 flight infer 2017 when 2017 is the reference."""
    frame = flights.frame.drop_duplicates(subset=[frame_col := "scheduled"]).head(2000)
    for when in frame[frame_col]:
        assert dates.infer_year(when.day, when.month, when.weekday(), 2017) == 2017


def test_missing_optional_fields_are_nan_not_guesses(encoder) -> None:
    from challenge_neuralworks.schemas import ScheduledFlight

    flight = ScheduledFlight(2017, 2, 3, 9, None, "Grupo LATAM", "La Serena", "N", None, "SCSE")
    X = encoder.encode(FlightColumns.from_flights([flight]))[0]
    assert np.isnan(X[ALL_FEATURES.index("minute_of_day")])
    assert np.isnan(X[ALL_FEATURES.index("flight_delay_rate")])
    unseen = flight._replace(flight_number="99999")
    X = encoder.encode(FlightColumns.from_flights([unseen]))[0]
    assert X[ALL_FEATURES.index("flight_delay_rate")] == pytest.approx(encoder.prior_rate)


def test_geography_comes_from_the_destination_airport(flights: Flights, columns, encoder) -> None:
    rows = np.flatnonzero(flights.frame["Des-I"].isin(["SAEZ", "SABE", "SCSE", "NZAA"]))
    X = encoder.encode(columns.take(rows))
    table = encoder.airports
    airports = flights.frame["Des-I"].to_numpy()[rows]
    facts = [table.airport(table.row(code)) for code in airports]
    np.testing.assert_array_equal(
        X[:, ALL_FEATURES.index("distance_km")],
        [table.distance_km[table.row(code)] for code in airports],
    )
    np.testing.assert_array_equal(
        X[:, ALL_FEATURES.index("utc_offset")], [f.utc_offset + 4 for f in facts]
    )
    country = X[:, ALL_FEATURES.index("country")]
    assert [encoder.countries[int(c)] for c in country] == [f.country for f in facts]
    region = X[:, ALL_FEATURES.index("region")]
    assert [encoder.regions[int(c)] for c in region] == [f.region for f in facts]
    # two airports of one city: one destination code, two distances
    buenos_aires = np.isin(airports, ["SAEZ", "SABE"])
    assert len(set(X[buenos_aires, ALL_FEATURES.index("destination")])) == 1
    assert len(set(X[buenos_aires, ALL_FEATURES.index("distance_km")])) == 2


def test_without_airports_the_citys_busiest_one_stands_in(
    flights: Flights, columns, encoder
) -> None:
    from dataclasses import replace

    main = encoder.main_airports
    rows = np.flatnonzero(
        [
            main[city] == code
            for city, code in zip(columns.destination, columns.airport, strict=True)
        ]
    )[::50]
    with_airport = columns.take(rows)
    np.testing.assert_array_equal(
        encoder.encode(replace(with_airport, airport=None)), encoder.encode(with_airport)
    )


def test_an_unseen_destination_borrows_the_nearest_known_code(flights: Flights, columns) -> None:
    from dataclasses import replace

    early = (flights.frame["scheduled"] < "2017-11-01").to_numpy()
    delayed = flights.frame["delayed"].to_numpy()
    fit = {
        rule: fit_encoder(
            columns.take(np.flatnonzero(early)),
            delayed[early],
            features=ALL_FEATURES,
            holidays=chilean_holidays(),
            unseen_destination=rule,
        )
        for rule in ("nearest", "missing")
    }
    ushuaia = np.flatnonzero(flights.frame["Des-I"] == "SAWH")
    assert not early[ushuaia].any()
    position = ALL_FEATURES.index("destination")
    nearest = fit["nearest"]
    table = nearest.airports
    assert nearest.stand_in(table.row("SAWH")) == "Bariloche"  # the nearest one in Argentina
    # no training flight went to the Falklands: the nearest international destination
    stanley = table.row("EGYP")
    abroad = {
        city: great_circle_km(
            table.latitude[stanley],
            table.longitude[stanley],
            table.latitude[[table.row(code)]],
            table.longitude[[table.row(code)]],
        )[0]
        for city, code in nearest.main_airports.items()
        if table.country[table.row(code)] != "CL"
    }
    assert nearest.stand_in(stanley) == min(abroad, key=abroad.get)
    codes = nearest.encode(columns.take(ushuaia))[:, position]
    assert (codes == nearest.destination_codes["Bariloche"]).all()
    assert np.isnan(fit["missing"].encode(columns.take(ushuaia))[:, position]).all()
    # the request path's city name for it (airportsdata's spelling) changes nothing
    renamed = replace(columns.take(ushuaia), destination=["Ushuahia"] * len(ushuaia))
    np.testing.assert_array_equal(nearest.encode(renamed), nearest.encode(columns.take(ushuaia)))


def test_training_flights_need_their_airports(flights: Flights, columns) -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match="scheduled airport"):
        fit_encoder(
            replace(columns.take(np.arange(100)), airport=None),
            flights.frame["delayed"].to_numpy()[:100],
            holidays=chilean_holidays(),
        )


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


def test_every_categorical_feature_has_its_labels(encoder) -> None:
    from challenge_neuralworks.delay.features import CATEGORICAL_FEATURES

    labels = encoder.category_labels
    assert set(labels) == CATEGORICAL_FEATURES
    assert labels["destination"] == encoder.destinations and "Londres" in labels["destination"]
    assert {"CL", "AR", "FK"} <= set(labels["country"]) and "" not in labels["region"]
