"""Airports: the reference facts of a destination, and how a request names one.

A destination is a real place whether or not the model saw flights to it. Its codes, city,
country, coordinates and time zone come from a maintained airport database (``airportsdata``),
the region of its country from the UN M49 subregions (``country_converter``'s table) and the
standard UTC offset of its time zone from ``zoneinfo``. Those libraries are read once, when a
model is built (:func:`reference_airports`, training time only); the facts are stored in the
model's artifact as an :class:`AirportTable`, so the Lambda function gets them with the model
(numpy and the standard library only) and a model serves with exactly the facts it was trained
with (docs/architecture.md has the measured load cost and the alternative).

:func:`resolve_destination` turns a request's destination (a city as the data spells it, an
ICAO or IATA code, or both) into one airport, or into a 400 that names the field.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Final, NamedTuple

import numpy as np

from challenge_neuralworks.artifacts import artifact_type
from challenge_neuralworks.errors import InputError, echo

if TYPE_CHECKING:
    import pandas as pd

#: Every flight departs from Santiago de Chile (the data's ``Ori-I``).
ORIGIN: Final[str] = "SCEL"
#: Flights to this country are domestic (``TIPOVUELO`` "N"), all others international ("I").
HOME_COUNTRY: Final[str] = "CL"
#: Mean Earth radius (IUGG), km: great-circle distances.
EARTH_RADIUS_KM: Final[float] = 6371.0088
#: Time-zone offsets are those in force in this year (the data's), January and July.
OFFSET_YEAR: Final[int] = 2017
_STRING_COLUMNS: Final[tuple[str, ...]] = ("icao", "iata", "city", "country", "region")
_NOT_ALPHANUMERIC: Final[re.Pattern[str]] = re.compile(r"[\W_]+")


class Airport(NamedTuple):
    """One airport's reference facts."""

    icao: str
    iata: str  # "" when it has none
    city: str  # as the airport database spells it (ASCII)
    country: str  # ISO 3166-1 alpha-2
    region: str  # UN M49 subregion, e.g. "South America"; "" when unknown
    latitude: float
    longitude: float
    utc_offset: float  # standard (no daylight saving) UTC offset in hours; NaN when unknown


class Destination(NamedTuple):
    """A request's destination resolved to one airport."""

    airport: str  # ICAO code
    city: str  # the name the model knows it by, else the airport database's city


def normalize_name(name: str) -> str:
    """City names compared the way people type them: no accents, case or punctuation."""
    if not name.isascii():
        decomposed = unicodedata.normalize("NFKD", name)
        name = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NOT_ALPHANUMERIC.sub(" ", name.casefold()).split())


def great_circle_km(
    lat1: np.ndarray | float, lon1: np.ndarray | float, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Haversine distance in km, element-wise."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


@artifact_type
@dataclass(frozen=True, eq=False)
class AirportTable:
    """Reference facts of every airport a flight from SCL may be scheduled to.

    The string columns are stored newline-joined, one JSON string per column: decoding 8,000
    separate strings per column through the artifact reader cost about four times as much
    (measured when this was written). ``icao``, ``iata``, ``city``, ``country`` and ``region``
    are the columns as tuples.
    """

    icao_lines: str
    iata_lines: str
    city_lines: str
    country_lines: str
    region_lines: str
    latitude: np.ndarray
    longitude: np.ndarray
    utc_offset: np.ndarray
    source: str  # e.g. "airportsdata 20260905"
    icao: tuple[str, ...] = field(init=False, repr=False)
    iata: tuple[str, ...] = field(init=False, repr=False)
    city: tuple[str, ...] = field(init=False, repr=False)
    country: tuple[str, ...] = field(init=False, repr=False)
    region: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        size = len(self.latitude)
        for name in _STRING_COLUMNS:
            column = tuple(getattr(self, f"{name}_lines").split("\n"))
            if len(column) != size:
                raise ValueError(f"airport column {name} has {len(column)} rows, not {size}")
            object.__setattr__(self, name, column)
        if ORIGIN not in self.icao:
            raise ValueError(f"the airport table lacks the origin {ORIGIN}")

    @classmethod
    def from_airports(cls, airports: Sequence[Airport], source: str) -> AirportTable:
        """A table of ``airports`` (in this order)."""
        columns = {
            f"{name}_lines": "\n".join(getattr(a, name) for a in airports)
            for name in _STRING_COLUMNS
        }
        numbers = {
            name: np.array([getattr(a, name) for a in airports], dtype=np.float64)
            for name in ("latitude", "longitude", "utc_offset")
        }
        return cls(**columns, **numbers, source=source)

    def __len__(self) -> int:
        return len(self.icao)

    def airport(self, row: int) -> Airport:
        """The facts of one row."""
        return Airport(
            self.icao[row],
            self.iata[row],
            self.city[row],
            self.country[row],
            self.region[row],
            float(self.latitude[row]),
            float(self.longitude[row]),
            float(self.utc_offset[row]),
        )

    @cached_property
    def _rows_by_code(self) -> dict[str, int]:
        rows = dict(zip(self.iata, range(len(self)), strict=True))  # C loops: first request
        rows.pop("", None)
        rows.update(zip(self.icao, range(len(self)), strict=True))
        return rows

    def row(self, code: str) -> int | None:
        """The row of an ICAO (4 characters) or IATA (3 characters) code, any case."""
        return self._rows_by_code.get(code.upper())

    def rows(self, codes: Sequence[str | None]) -> np.ndarray:
        """Rows of ICAO codes, -1 where unknown or missing."""
        index = self._rows_by_code
        return np.array([-1 if c is None else index.get(c, -1) for c in codes], dtype=np.int64)

    @cached_property
    def _rows_by_city(self) -> dict[str, tuple[int, ...]]:
        grouped: dict[str, list[int]] = {}
        for row, city in enumerate(self.city):
            grouped.setdefault(normalize_name(city), []).append(row)
        return {name: tuple(rows) for name, rows in grouped.items()}

    def rows_in_city(self, name: str) -> tuple[int, ...]:
        """Rows of the airports whose city is ``name`` (accents, case, punctuation ignored)."""
        return self._rows_by_city.get(normalize_name(name), ())

    @cached_property
    def _cities_by_initial(self) -> dict[str, tuple[str, ...]]:
        grouped: dict[str, set[str]] = {}
        for city in self.city:
            name = normalize_name(city)
            if name:
                grouped.setdefault(name[0], set()).add(city)
        return {initial: tuple(sorted(cities)) for initial, cities in grouped.items()}

    def cities_like(self, name: str) -> tuple[str, ...]:
        """The table's city names with the same first letter as ``name`` (accents and case
        ignored): where spelling suggestions are searched. A misspelling rarely starts with
        the wrong letter, and searching all 8,000 names cost ~100 ms per error (measured)."""
        normalized = normalize_name(name)
        return self._cities_by_initial.get(normalized[:1], ()) if normalized else ()

    @cached_property
    def distance_km(self) -> np.ndarray:
        """Great-circle distance of every airport from the origin (SCL), km."""
        origin = self.icao.index(ORIGIN)
        return great_circle_km(
            self.latitude[origin], self.longitude[origin], self.latitude, self.longitude
        )

    @cached_property
    def offset_from_origin(self) -> np.ndarray:
        """Standard UTC offset of every airport minus the origin's, hours."""
        return self.utc_offset - self.utc_offset[self.icao.index(ORIGIN)]


# ------------------------------------------------------------------------- resolution
def resolve_destination(
    table: AirportTable,
    known: Mapping[str, str],
    main: Mapping[str, str],
    *,
    city: str | None,
    code: str | None,
    flight_type: str,
) -> Destination:
    """The one airport a request means by ``SIGLADES`` (``city``) and/or ``DES-I`` (``code``).

    ``known`` maps the model's training airports (ICAO) to the city names it learned them by
    (the data's spelling, e.g. ``"Londres"``), ``main`` each such city to its busiest airport
    (what a city alone resolves to). A name the model does not know is looked up among the
    airport database's cities; the flight type must agree with the airport's country.
    Raises :class:`InputError` naming ``SIGLADES``, ``DES-I`` or ``TIPOVUELO``.
    """
    if code is not None:
        destination = _by_code(table, known, main, code)
        if city is not None:
            _require_same_city(table, destination, city, code)
    elif city is not None:
        destination = _by_city(table, known, main, city, flight_type)
    else:
        raise InputError(
            "SIGLADES (destination city) or DES-I (airport code) is required",
            field="SIGLADES",
            code="missing_field",
        )
    _require_flight_type(table, destination, flight_type)
    return destination


def _by_code(
    table: AirportTable, known: Mapping[str, str], main: Mapping[str, str], code: str
) -> Destination:
    row = table.row(code)
    if row is None:
        raise InputError(
            f"DES-I {echo(code)} is not the ICAO (4 characters) or IATA (3 characters) code "
            f"of an airport in the reference data ({table.source})",
            field="DES-I",
            code="unknown_value",
        )
    icao = table.icao[row]
    if icao == ORIGIN:
        raise InputError(
            f"DES-I {echo(code)} is the origin: every flight departs from {ORIGIN}",
            field="DES-I",
            code="invalid_value",
        )
    if icao in known:
        return Destination(icao, known[icao])
    return Destination(icao, _known_city_of(table, main, row) or table.city[row])


def _known_city_of(table: AirportTable, main: Mapping[str, str], row: int) -> str | None:
    """The model's name for an airport it never saw in a city it knows (same country), e.g.
    a city's second airport."""
    name = normalize_name(table.city[row])
    for city, icao in main.items():
        known_row = table.row(icao)
        if (
            normalize_name(city) == name
            and known_row is not None
            and table.country[known_row] == table.country[row]
        ):
            return city
    return None


def _by_city(
    table: AirportTable,
    known: Mapping[str, str],
    main: Mapping[str, str],
    city: str,
    flight_type: str,
) -> Destination:
    """A city the model knows (as the data spells it, or up to accents and case), else the
    one airport of that city in the reference data with the flight type's side of the border.
    A known city sent with the other flight type resolves to a same-named city on that side
    if there is one (``Los Angeles`` with ``N`` is Los Angeles, Chile)."""
    known_city = _known_name(main, city)
    if known_city is not None:
        row = _row_of(table, main[known_city])
        if _flight_type_of(table, row) == flight_type:
            return Destination(main[known_city], known_city)
    candidates = [row for row in table.rows_in_city(city) if table.icao[row] != ORIGIN]
    matching = [row for row in candidates if _flight_type_of(table, row) == flight_type]
    if known_city is not None and not matching:
        raise _flight_type_error(table, row, known_city, flight_type)
    if not candidates:
        raise InputError(
            f"SIGLADES {echo(city)} is not a destination this model knows nor the city of an "
            "airport in the reference data; an airport code can be sent as DES-I",
            field="SIGLADES",
            code="unknown_value",
            allowed=sorted(main),
            suggestions=_suggestions(table, main, city),
        )
    if not matching:
        raise _flight_type_error(table, candidates[0], table.city[candidates[0]], flight_type)
    trained = {known[table.icao[row]] for row in matching if table.icao[row] in known}
    if len(trained) == 1:  # e.g. "London": the one of its airports the model knows
        (trained_city,) = trained
        return Destination(main[trained_city], trained_city)
    if len(matching) > 1:
        raise InputError(
            f"SIGLADES {echo(city)} is the city of {len(matching)} airports: send its code as "
            "DES-I (ICAO or IATA)",
            field="SIGLADES",
            code="ambiguous_value",
            allowed=[table.icao[row] for row in matching],
        )
    return Destination(table.icao[matching[0]], table.city[matching[0]])


def _known_name(main: Mapping[str, str], city: str) -> str | None:
    """The model's spelling of ``city``: exact (the common request), else up to accents,
    case and punctuation."""
    if city in main:
        return city
    name = normalize_name(city)
    return next((known for known in main if normalize_name(known) == name), None)


def _suggestions(table: AirportTable, main: Mapping[str, str], city: str) -> list[str]:
    """Nearest spellings among the model's cities first, then the reference cities."""
    from challenge_neuralworks.schemas import nearest

    known = nearest(city, sorted(main))
    return (known + [s for s in nearest(city, table.cities_like(city)) if s not in known])[:3]


def _require_same_city(
    table: AirportTable,
    destination: Destination,
    city: str,
    code: str,
) -> None:
    names = sorted({destination.city, table.city[_row_of(table, destination.airport)]})
    if normalize_name(city) not in {normalize_name(n) for n in names}:
        raise InputError(
            f"SIGLADES {echo(city)} contradicts DES-I {echo(code)}, an airport of "
            f"{' / '.join(names)}",
            field="SIGLADES",
            code="inconsistent_value",
            allowed=names,
        )


def _flight_type_of(table: AirportTable, row: int) -> str:
    return "N" if table.country[row] == HOME_COUNTRY else "I"


def _row_of(table: AirportTable, icao: str) -> int:
    """The row of an airport resolution produced (always in the table: the encoder checks its
    training airports are)."""
    row = table.row(icao)
    if row is None:
        raise LookupError(f"airport {icao} is not in the airport table")
    return row


def _require_flight_type(table: AirportTable, destination: Destination, flight_type: str) -> None:
    row = _row_of(table, destination.airport)
    if _flight_type_of(table, row) != flight_type:
        raise _flight_type_error(table, row, destination.city, flight_type)


def _flight_type_error(table: AirportTable, row: int, city: str, flight_type: str) -> InputError:
    expected = _flight_type_of(table, row)
    kind = "a domestic" if expected == "N" else "an international"
    return InputError(
        f"TIPOVUELO {flight_type!r} contradicts the destination {city} "
        f"({table.icao[row]}, {table.country[row]}), which is {kind} destination",
        field="TIPOVUELO",
        code="inconsistent_value",
        allowed=[expected],
    )


# --------------------------------------------------------------------- building (training)
@functools.cache
def reference_airports(include: frozenset[str] = frozenset()) -> AirportTable:
    """Every airport with an IATA code in ``airportsdata``, plus the ICAO codes ``include``
    names (e.g. a data set's destinations without an IATA code), with their UN subregion and
    standard UTC offset. Closed airports the data still names
    (:data:`challenge_neuralworks.data.CLOSED_AIRPORTS`) get their successor's facts.

    Training time only (imports airportsdata, country_converter and pandas); cached per
    process, since every fit of an experiment loop needs the same table.
    """
    import airportsdata

    from challenge_neuralworks.data import CLOSED_AIRPORTS, ICAO_CITY_REFERENCE

    database = airportsdata.load("ICAO")
    wanted = {code for code, a in database.items() if a["iata"]} | {ORIGIN}
    for code in sorted(include - set(CLOSED_AIRPORTS)):
        if code not in database:
            raise ValueError(f"airport {code!r} is neither in airportsdata nor a closed airport")
        wanted.add(code)
    records = [database[code] for code in sorted(wanted)]
    for closed, successor in sorted(CLOSED_AIRPORTS.items()):
        city = ICAO_CITY_REFERENCE.get(closed, database[successor]["city"])
        records.append({**database[successor], "icao": closed, "iata": "", "city": city})
    regions = un_subregions(sorted({r["country"] for r in records}))
    offsets = _standard_offsets(sorted({r["tz"] for r in records}))
    airports = [
        Airport(
            icao=r["icao"],
            iata=r["iata"],
            city=r["city"],
            country=r["country"],
            region=regions.get(r["country"], ""),
            latitude=float(r["lat"]),
            longitude=float(r["lon"]),
            utc_offset=offsets.get(r["tz"], float("nan")),
        )
        for r in sorted(records, key=lambda r: r["icao"])
    ]
    return AirportTable.from_airports(airports, source=f"airportsdata {airportsdata.__version__}")


def un_subregions(countries: Iterable[str]) -> dict[str, str]:
    """ISO alpha-2 country -> UN M49 subregion, from ``country_converter``'s country table.

    The table is read with explicit missing-value rules and handed to ``CountryConverter``:
    its own loader mis-reads the file under pandas 3 (every country "not found").
    """
    import pandas as pd
    from country_converter import country_converter as coco

    table: pd.DataFrame = pd.read_csv(
        coco.COUNTRY_DATA_FILE, sep="\t", encoding="utf-8", keep_default_na=False, na_values=[""]
    )
    codes = list(countries)
    converter = coco.CountryConverter(country_data=table)
    found = converter.convert(codes, src="ISO2", to="UNregion", enforce_list=True, not_found="")
    return {code: str(region[0]) for code, region in zip(codes, found, strict=True) if region[0]}


def _standard_offsets(zones: Iterable[str]) -> dict[str, float]:
    """Time zone -> standard UTC offset in hours (the smaller of January's and July's)."""
    import datetime as dt
    import zoneinfo

    out = {}
    for zone in zones:
        try:
            tz = zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
        offsets = [
            dt.datetime(OFFSET_YEAR, month, 15, 12, tzinfo=tz).utcoffset() for month in (1, 7)
        ]
        out[zone] = min(o.total_seconds() for o in offsets if o is not None) / 3600.0
    return out
