"""Airport reference data and how a request's destination resolves to one airport."""

from __future__ import annotations

import math

import numpy as np
import pytest

from challenge_neuralworks import artifacts
from challenge_neuralworks.airports import (
    EARTH_RADIUS_KM,
    ORIGIN,
    AirportTable,
    great_circle_km,
    normalize_name,
    reference_airports,
)
from challenge_neuralworks.data import CLOSED_AIRPORTS, Flights, scheduled_view
from challenge_neuralworks.delay.features import (
    FeatureEncoder,
    chilean_holidays,
    columns_from_frame,
    fit_encoder,
)
from challenge_neuralworks.errors import InputError


@pytest.fixture(scope="module")
def table() -> AirportTable:
    return reference_airports()


@pytest.fixture(scope="module")
def encoder(flights: Flights) -> FeatureEncoder:
    """Tables learned from January-October only: Ushuaia, Stanley and others are unseen."""
    view = scheduled_view(flights)
    early = (view["scheduled"] < "2017-11-01").to_numpy()
    columns = columns_from_frame(view[early])
    return fit_encoder(
        columns, flights.frame["delayed"].to_numpy()[early], holidays=chilean_holidays()
    )


def resolve(encoder: FeatureEncoder, flight_type: str = "I", **given: str):
    return encoder.resolve_destination(
        city=given.get("city"), code=given.get("code"), flight_type=flight_type
    )


def refusal(encoder: FeatureEncoder, flight_type: str = "I", **given: str) -> InputError:
    with pytest.raises(InputError) as caught:
        resolve(encoder, flight_type, **given)
    return caught.value


# ------------------------------------------------------------------------ reference data
def test_every_destination_of_the_data_is_in_the_table(flights: Flights, table) -> None:
    codes = set(flights.frame["Des-I"])
    assert len(codes) == 64
    assert codes <= set(table.icao)
    assert ORIGIN in table.icao


def test_a_closed_airport_has_its_successors_facts_and_its_own_city(table) -> None:
    (closed, successor), *_ = CLOSED_AIRPORTS.items()
    old, new = table.airport(table.row(closed)), table.airport(table.row(successor))
    assert old.city == "Quito" and old.iata == ""  # UIO belongs to the new airport
    assert old[3:] == new[3:]  # country, region, coordinates, offset
    assert table.row("UIO") == table.row(successor)


def test_facts_of_known_airports(table) -> None:
    ushuaia = table.airport(table.row("SAWH"))
    assert (ushuaia.iata, ushuaia.country, ushuaia.region) == ("USH", "AR", "South America")
    assert table.airport(table.row("EGYP")).country == "FK"
    assert table.airport(table.row("KJFK")).region == "Northern America"
    assert table.airport(table.row("EGLL")).region == "Northern Europe"
    # standard offsets (daylight saving removed), whatever the season of OFFSET_YEAR
    offsets = {
        code: table.airport(table.row(code)).utc_offset
        for code in ("SCEL", "KJFK", "EGLL", "NZAA", "SCIP", "SAEZ")
    }
    assert offsets == {"SCEL": -4, "KJFK": -5, "EGLL": 0, "NZAA": 12, "SCIP": -6, "SAEZ": -3}
    assert table.offset_from_origin[table.row("NZAA")] == 16


def test_great_circle_distances() -> None:
    quarter = great_circle_km(0.0, 0.0, np.array([90.0, 0.0]), np.array([0.0, 90.0]))
    np.testing.assert_allclose(quarter, math.pi / 2 * EARTH_RADIUS_KM)
    antipode = great_circle_km(-33.0, -70.0, np.array([33.0]), np.array([110.0]))
    np.testing.assert_allclose(antipode, math.pi * EARTH_RADIUS_KM)


def test_distances_from_santiago(table) -> None:
    distance = {code: table.distance_km[table.row(code)] for code in ("SCEL", "SAEZ", "SCSE")}
    assert distance["SCEL"] == 0
    assert 1_100 < distance["SAEZ"] < 1_160  # Santiago-Ezeiza is about 1,130 km
    assert 380 < distance["SCSE"] < 420  # La Serena about 400 km north


def test_the_table_survives_an_artifact_round_trip(table) -> None:
    loaded = artifacts.loads(artifacts.dumps(table))
    assert loaded.icao == table.icao and loaded.city == table.city
    np.testing.assert_array_equal(loaded.latitude, table.latitude)
    assert loaded.airport(loaded.row("LIM")) == table.airport(table.row("SPJC"))


def test_a_table_with_misaligned_columns_is_refused(table) -> None:
    with pytest.raises(ValueError, match="airport column icao"):
        AirportTable(
            icao_lines="SCEL",
            iata_lines="SCL\nLIM",
            city_lines="Santiago\nLima",
            country_lines="CL\nPE",
            region_lines="South America\nSouth America",
            latitude=np.zeros(2),
            longitude=np.zeros(2),
            utc_offset=np.zeros(2),
            source="test",
        )


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [("Concepción", "concepcion"), ("  SAN  juan, Arg. ", "san juan arg"), ("Ñuñoa", "nunoa")],
)
def test_names_compare_without_accents_case_or_punctuation(typed: str, normalized: str) -> None:
    assert normalize_name(typed) == normalized


# ---------------------------------------------------------------------------- resolution
def test_a_known_city_resolves_to_its_busiest_airport(encoder) -> None:
    assert resolve(encoder, city="Buenos Aires") == ("SAEZ", "Buenos Aires")
    assert resolve(encoder, "N", city="concepción") == ("SCIE", "Concepcion")


def test_codes_icao_and_iata_any_case(encoder) -> None:
    assert resolve(encoder, code="SABE") == ("SABE", "Buenos Aires")  # the other airport
    assert resolve(encoder, code="aep") == ("SABE", "Buenos Aires")
    assert resolve(encoder, "N", code="LSC") == ("SCSE", "La Serena")


def test_an_unseen_airport_of_a_known_city_keeps_the_city(flights: Flights) -> None:
    view = scheduled_view(flights)
    kept = (view["Des-I"] != "SABE").to_numpy()
    encoder = fit_encoder(
        columns_from_frame(view[kept]),
        flights.frame["delayed"].to_numpy()[kept],
        holidays=chilean_holidays(),
    )
    assert "SABE" not in encoder.destination_airports
    assert resolve(encoder, code="AEP") == ("SABE", "Buenos Aires")  # same city, same country


def test_an_unseen_destination_resolves_by_code_or_reference_city(encoder) -> None:
    assert "Ushuia" not in encoder.destination_codes
    assert resolve(encoder, code="SAWH") == ("SAWH", "Ushuahia")  # airportsdata's spelling
    assert resolve(encoder, city="Ushuahia") == ("SAWH", "Ushuahia")
    assert resolve(encoder, city="Ushuahia", code="USH") == ("SAWH", "Ushuahia")


def test_a_reference_city_name_of_a_known_airport_is_the_model_city(encoder) -> None:
    assert resolve(encoder, city="London") == ("EGLL", "Londres")


def test_the_flight_type_picks_the_side_of_the_border(encoder) -> None:
    domestic, abroad = resolve(encoder, "N", city="Castro"), resolve(encoder, "I", city="Castro")
    table = encoder.airports
    assert table.country[table.row(domestic.airport)] == "CL"
    assert table.country[table.row(abroad.airport)] == "BR"
    assert resolve(encoder, "I", city="Los Angeles") == ("KLAX", "Los Angeles")
    chile = resolve(encoder, "N", city="Los Angeles")  # Los Angeles, Region del Biobio
    assert table.country[table.row(chile.airport)] == "CL"


def test_an_unknown_city_is_refused_with_suggestions(encoder) -> None:
    error = refusal(encoder, "N", city="La Serenna")
    assert (error.field, error.code) == ("SIGLADES", "unknown_value")
    assert error.allowed == sorted(encoder.destinations)
    assert error.suggestions[0] == "La Serena"
    assert "Ushuahia" in refusal(encoder, city="Ushuaia").suggestions


def test_a_city_of_several_unknown_airports_asks_for_the_code(encoder) -> None:
    error = refusal(encoder, city="San Jose")
    assert (error.field, error.code) == ("SIGLADES", "ambiguous_value")
    assert {"MROC", "KSJC"} <= set(error.allowed)


@pytest.mark.parametrize(
    ("given", "flight_type", "field", "code"),
    [
        ({"city": "Lima", "code": "SAWH"}, "I", "SIGLADES", "inconsistent_value"),
        ({"code": "SAWH"}, "N", "TIPOVUELO", "inconsistent_value"),
        ({"city": "La Serena"}, "I", "TIPOVUELO", "inconsistent_value"),
        ({"city": "Ushuahia"}, "N", "TIPOVUELO", "inconsistent_value"),
        ({"code": "ZZZZ"}, "I", "DES-I", "unknown_value"),
        ({"code": "SCL"}, "N", "DES-I", "invalid_value"),
        ({}, "I", "SIGLADES", "missing_field"),
    ],
)
def test_contradictions_and_unknown_codes_name_the_field(
    encoder, given: dict[str, str], flight_type: str, field: str, code: str
) -> None:
    error = refusal(encoder, flight_type, **given)
    assert (error.field, error.code) == (field, code)


def test_a_flight_type_contradiction_lists_the_right_type(encoder) -> None:
    assert refusal(encoder, "N", code="SAWH").allowed == ["I"]
    assert refusal(encoder, city="Lima", code="SAWH").allowed == ["Ushuahia"]
