"""Schedule-time features of the delay models: one implementation for frames and requests.

Everything here is computed from what is known before departure (the scheduled date and time,
airline, destination airport, flight type and flight number) plus tables learned from training
data and stored in the artifact, the airports' reference facts among them
(:class:`~challenge_neuralworks.airports.AirportTable`). The same :meth:`FeatureEncoder.encode`
serves training, evaluation, notebooks, batch scoring and the Lambda handler: a frame becomes
:class:`FlightColumns` through :func:`columns_from_frame`, validated request items through
:meth:`FlightColumns.from_flights`.
Only numpy is imported, so the request path never pays for pandas.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from challenge_neuralworks import dates
from challenge_neuralworks.airports import (
    HOME_COUNTRY,
    AirportTable,
    Destination,
    great_circle_km,
    resolve_destination,
)
from challenge_neuralworks.artifacts import artifact_type
from challenge_neuralworks.lazy import computed_once
from challenge_neuralworks.schemas import ScheduledFlight, normalize_flight_number

if TYPE_CHECKING:
    import pandas as pd

#: Every feature the encoder can compute, in matrix order. A model picks a subset.
ALL_FEATURES: Final[tuple[str, ...]] = (
    "airline",  # categorical: OPERA
    "destination",  # categorical: scheduled destination city
    "international",  # TIPOVUELO == "I"
    "month",
    "day",
    "weekday",
    "hour",
    "minute_of_day",  # NaN when the request gives no minute
    "day_of_year",
    "is_holiday",  # Chilean public holiday (holidays package)
    "days_to_holiday",
    "days_since_holiday",
    "high_season",  # 15 Dec-3 Mar, 15-31 Jul, 11-30 Sep
    "schedule_density",  # typical scheduled departures in that weekday and hour
    "flight_delay_rate",  # smoothed historical delay rate of airline + flight number
    "distance_km",  # great-circle distance from SCL to the destination airport
    "country",  # categorical: the destination airport's country
    "region",  # categorical: the UN M49 subregion of that country
    "utc_offset",  # the destination's standard UTC offset minus SCL's, hours
)
#: Coded 0..k-1 in ascending order of their training delay rate (ties by name), so that plain
#: numeric splits group similar airlines/destinations; measured as good as native categorical
#: splits and much cheaper to evaluate (notebooks/02_improvements.ipynb).
CATEGORICAL_FEATURES: Final[frozenset[str]] = frozenset(
    {"airline", "destination", "country", "region"}
)
#: Facts of the destination airport itself (reference data, not learned from delays).
GEOGRAPHY_FEATURES: Final[tuple[str, ...]] = ("distance_km", "country", "region", "utc_offset")
#: How the ``destination`` feature codes a destination the training rows never flew to:
#: ``missing`` leaves it NaN (the trees follow their most travelled branch: the production
#: rule); ``nearest`` gives it the code of the nearest trained destination (in the same
#: country if there is one, else on the same side of the border), measured worse.
UNSEEN_DESTINATION_RULES: Final[tuple[str, ...]] = ("nearest", "missing")

#: (start, end) as month*100 + day, inclusive: the classic challenge's high-season windows.
HIGH_SEASON: Final[tuple[tuple[int, int], ...]] = ((1215, 1231), (101, 303), (715, 731), (911, 930))


@dataclass(frozen=True)
class FlightColumns:
    """Scheduled flights as columns: the single input type of :meth:`FeatureEncoder.encode`.

    ``minute`` is NaN and ``flight_number`` None where the caller does not know them.
    ``airport`` is the ICAO code of the scheduled destination airport (the data's ``Des-I``);
    where it is None (or the whole column is), the destination city's busiest training airport
    stands in, which is what a request naming only a known city resolves to.
    """

    year: np.ndarray
    month: np.ndarray
    day: np.ndarray
    hour: np.ndarray
    minute: np.ndarray
    airline: Sequence[str]
    destination: Sequence[str]
    flight_type: Sequence[str]
    flight_number: Sequence[str | None]
    airport: Sequence[str | None] | None = None

    def __len__(self) -> int:
        return len(self.year)

    @classmethod
    def from_flights(cls, flights: Sequence[ScheduledFlight]) -> FlightColumns:
        """Columns from validated request items (the API path)."""
        if len(flights) == 1:  # the common request: skip the transposition
            f = flights[0]
            return cls(
                year=np.array([f.year]),
                month=np.array([f.month]),
                day=np.array([f.day]),
                hour=np.array([f.hour]),
                minute=np.array([np.nan if f.minute is None else f.minute], dtype=np.float64),
                airline=[f.airline],
                destination=[f.destination],
                flight_type=[f.flight_type],
                flight_number=[f.flight_number],
                airport=[f.airport],
            )
        year, month, day, hour, minute, airline, destination, flight_type, number, airport = zip(
            *flights, strict=True
        )
        return cls(
            year=np.array(year, dtype=np.int64),
            month=np.array(month, dtype=np.int64),
            day=np.array(day, dtype=np.int64),
            hour=np.array(hour, dtype=np.int64),
            minute=np.array([np.nan if m is None else m for m in minute], dtype=np.float64),
            airline=list(airline),
            destination=list(destination),
            flight_type=list(flight_type),
            flight_number=list(number),
            airport=list(airport),
        )

    def take(self, index: np.ndarray) -> FlightColumns:
        """The rows at ``index`` (used for cross-validation splits)."""
        pick = np.asarray(index)
        return FlightColumns(
            year=self.year[pick],
            month=self.month[pick],
            day=self.day[pick],
            hour=self.hour[pick],
            minute=self.minute[pick],
            airline=[self.airline[i] for i in pick],
            destination=[self.destination[i] for i in pick],
            flight_type=[self.flight_type[i] for i in pick],
            flight_number=[self.flight_number[i] for i in pick],
            airport=None if self.airport is None else [self.airport[i] for i in pick],
        )


def columns_from_frame(frame: pd.DataFrame) -> FlightColumns:
    """Columns from a frame with ``scheduled`` (datetime), ``OPERA``, ``destination``,
    ``TIPOVUELO``, ``Vlo-I`` and ``Des-I`` (the scheduled airport; optional) (see
    :func:`challenge_neuralworks.data.scheduled_view`)."""
    scheduled = frame["scheduled"]
    return FlightColumns(
        year=scheduled.dt.year.to_numpy(np.int64),
        month=scheduled.dt.month.to_numpy(np.int64),
        day=scheduled.dt.day.to_numpy(np.int64),
        hour=scheduled.dt.hour.to_numpy(np.int64),
        minute=scheduled.dt.minute.to_numpy(np.float64),
        airline=frame["OPERA"].tolist(),
        destination=frame["destination"].tolist(),
        flight_type=frame["TIPOVUELO"].tolist(),
        flight_number=[normalize_flight_number(v) for v in frame["Vlo-I"].tolist()],
        airport=frame["Des-I"].tolist() if "Des-I" in frame else None,
    )


def flight_key(airline: str, flight_number: str) -> str:
    """Lookup key of one scheduled flight (airline name + flight number)."""
    return f"{airline}|{flight_number}"


@artifact_type
@dataclass(frozen=True, eq=False)
class FeatureEncoder:
    """Learned tables plus the feature formula. Fit on training rows only."""

    features: tuple[str, ...]
    airlines: tuple[str, ...]
    destinations: tuple[str, ...]
    holidays: np.ndarray  # sorted day numbers of Chilean public holidays
    density: np.ndarray  # (7, 24) typical scheduled departures per weekday and hour
    flight_rates: Mapping[str, float]  # flight_key -> smoothed delay rate
    prior_rate: float
    smoothing: float
    airports: AirportTable  # reference facts of every airport a request may name
    destination_airports: Mapping[str, str]  # training airport (ICAO) -> its city
    main_airports: Mapping[str, str]  # training city -> its busiest training airport
    countries: tuple[str, ...]  # ordered like ``airlines``
    regions: tuple[str, ...]
    routes: tuple[str, ...]  # route_key of every (airline, city) the training rows fly
    unseen_destination: str  # one of UNSEEN_DESTINATION_RULES
    airline_codes: Mapping[str, int] = field(init=False, repr=False)
    destination_codes: Mapping[str, int] = field(init=False, repr=False)
    country_codes: Mapping[str, int] = field(init=False, repr=False)
    region_codes: Mapping[str, int] = field(init=False, repr=False)
    #: ``holidays`` searchable both ways (:class:`~challenge_neuralworks.dates.SortedDays`).
    holiday_days: dates.SortedDays = field(init=False, repr=False)
    #: Label of each code of every categorical feature (:data:`CATEGORICAL_FEATURES`), built
    #: once: every captured prediction reads it.
    category_labels: Mapping[str, tuple[str, ...]] = field(init=False, repr=False)
    #: Each feature in matrix order with its labels (``None`` for a numeric one): what a
    #: captured prediction's feature values are read through.
    labelled_features: tuple[tuple[str, tuple[str, ...] | None], ...] = field(
        init=False, repr=False
    )

    def __post_init__(self) -> None:
        unknown = set(self.features) - set(ALL_FEATURES)
        if unknown:
            raise ValueError(f"unknown features {sorted(unknown)}; known: {list(ALL_FEATURES)}")
        if self.unseen_destination not in UNSEEN_DESTINATION_RULES:
            raise ValueError(
                f"unseen_destination {self.unseen_destination!r} is not one of "
                f"{list(UNSEEN_DESTINATION_RULES)}"
            )
        for name, values in (
            ("airline_codes", self.airlines),
            ("destination_codes", self.destinations),
            ("country_codes", self.countries),
            ("region_codes", self.regions),
        ):
            object.__setattr__(self, name, {v: i for i, v in enumerate(values)})
        object.__setattr__(self, "holiday_days", dates.SortedDays(self.holidays))
        labels = {
            "airline": self.airlines,
            "destination": self.destinations,
            "country": self.countries,
            "region": self.regions,
        }
        object.__setattr__(self, "category_labels", labels)
        object.__setattr__(
            self, "labelled_features", tuple((name, labels.get(name)) for name in self.features)
        )

    @property
    def categorical_mask(self) -> np.ndarray:
        """Boolean mask of the categorical columns of :meth:`encode`'s output."""
        return np.array([f in CATEGORICAL_FEATURES for f in self.features])

    def encode(self, flights: FlightColumns) -> np.ndarray:
        """Feature matrix (n_flights, len(features)), float64, NaN for unknown values."""
        return self._matrix(_Rows(self, flights))

    def flight_rate(self, flights: FlightColumns) -> np.ndarray:
        """Historical delay rate of each flight; prior for unseen flights, NaN if no number."""
        rates, prior = self.flight_rates, self.prior_rate
        return np.array(
            [
                np.nan if number is None else rates.get(flight_key(airline, number), prior)
                for airline, number in zip(flights.airline, flights.flight_number, strict=True)
            ],
            dtype=np.float64,
        )

    # ------------------------------------------------------------- destinations
    def resolve_destination(
        self, *, city: str | None, code: str | None, flight_type: str
    ) -> Destination:
        """The airport a request means (``SIGLADES`` and/or ``DES-I``), named the way this
        encoder knows it; see :func:`challenge_neuralworks.airports.resolve_destination`."""
        return resolve_destination(
            self.airports,
            self.destination_airports,
            self.main_airports,
            city=city,
            code=code,
            flight_type=flight_type,
        )

    def airport_rows(self, flights: FlightColumns) -> np.ndarray:
        """Row of each flight's destination airport in :attr:`airports` (-1 if unknown)."""
        main = self.main_airports
        given = flights.airport or [None] * len(flights)
        codes = [
            airport if airport is not None else main.get(city)
            for airport, city in zip(given, flights.destination, strict=True)
        ]
        return self.airports.rows(codes)

    @cached_property
    def _trained_destinations(self) -> tuple[tuple[str, ...], np.ndarray]:
        cities = tuple(sorted(self.main_airports))
        return cities, self.airports.rows([self.main_airports[c] for c in cities])

    def stand_in(self, row: int) -> str | None:
        """The trained destination an unseen airport borrows its ``destination`` code from:
        the nearest one in the same country, else the nearest on the same side of the border
        (domestic / international); None under the ``missing`` rule or without facts.
        Computed once per airport and remembered."""
        if self.unseen_destination != "nearest" or row < 0:
            return None
        cache = self._stand_ins
        if row not in cache:
            cache[row] = self._nearest_trained(row)
        return cache[row]

    @cached_property
    def _stand_ins(self) -> dict[int, str | None]:
        return {}

    def _nearest_trained(self, row: int) -> str | None:
        table = self.airports
        cities, rows = self._trained_destinations
        countries = np.array([table.country[r] if r >= 0 else "" for r in rows])
        candidates = np.flatnonzero(countries == table.country[row])
        if not len(candidates):
            home = table.country[row] == HOME_COUNTRY
            candidates = np.flatnonzero((countries != "") & ((countries == HOME_COUNTRY) == home))
        if not len(candidates):
            return None
        distances = great_circle_km(
            table.latitude[row],
            table.longitude[row],
            table.latitude[rows[candidates]],
            table.longitude[rows[candidates]],
        )
        return cities[int(candidates[np.argmin(distances)])]

    def destination_code(self, rows: _Rows) -> np.ndarray:
        """The ``destination`` feature of one encoding call's flights: the city's code, or its
        stand-in's (:meth:`stand_in`). The flights' airport rows (:attr:`_Rows.airport_rows`)
        are looked up only when a city is not a trained one: a request for a known city never
        looks its airport up."""
        codes = self.destination_codes
        out = np.empty(len(rows.flights), dtype=np.float64)
        for i, city in enumerate(rows.flights.destination):
            code = codes.get(city)
            if code is None:
                stand_in = self.stand_in(int(rows.airport_rows[i]))
                code = np.nan if stand_in is None else codes[stand_in]
            out[i] = code
        return out

    def is_known_route(self, airline: str, city: str) -> bool:
        """Whether the training rows have this airline flying to this city."""
        return route_key(airline, city) in self._route_set

    @cached_property
    def _route_set(self) -> frozenset[str]:
        return frozenset(self.routes)

    def _matrix(self, rows: _Rows) -> np.ndarray:
        """Only the selected features, in ``features`` order (the others are never computed:
        a single request pays for what the model reads, not for all of :data:`ALL_FEATURES`).
        The columns are stacked in one conversion (1.8 µs less for one flight than assigning
        each into a preallocated matrix)."""
        columns = [FEATURE_FORMULAS[name](rows) for name in self.features]
        return np.array(columns, dtype=np.float64).reshape(len(columns), len(rows.flights)).T


class _Rows:
    """One encoding call: the flights plus intermediates several features share.

    Each intermediate (day numbers, weekday, holiday distances, the flight delay rate, the
    destination airports' rows) is computed on first use and at most once per call.
    """

    def __init__(
        self,
        encoder: FeatureEncoder,
        flights: FlightColumns,
        flight_rate: np.ndarray | None = None,
    ) -> None:
        self.encoder = encoder
        self.flights = flights
        if flight_rate is not None:  # training passes out-of-fold rates
            self.__dict__["flight_rate"] = flight_rate

    @computed_once
    def days(self) -> np.ndarray:
        flights = self.flights
        return dates.day_numbers(flights.year, flights.month, flights.day)

    @computed_once
    def weekday(self) -> np.ndarray:
        return dates.weekday_of(self.days)

    @computed_once
    def holiday_distances(self) -> tuple[np.ndarray, np.ndarray]:
        return self.encoder.holiday_days.distances(self.days)

    @computed_once
    def flight_rate(self) -> np.ndarray:
        return self.encoder.flight_rate(self.flights)

    @computed_once
    def airport_rows(self) -> np.ndarray:
        return self.encoder.airport_rows(self.flights)

    def airport_values(self, column: np.ndarray) -> np.ndarray:
        """``column`` (one value per table row) at each flight's airport, NaN if unknown."""
        rows = self.airport_rows
        return np.where(rows >= 0, column[np.maximum(rows, 0)], np.nan)

    def airport_codes(self, column: tuple[str, ...], codes: Mapping[str, int]) -> np.ndarray:
        """A categorical airport fact (country, region) coded like ``codes``, NaN if unknown."""
        return np.array(
            [np.nan if row < 0 else codes.get(column[row], np.nan) for row in self.airport_rows],
            dtype=np.float64,
        )


def _high_season(rows: _Rows) -> np.ndarray:
    month_day = rows.flights.month * 100 + rows.flights.day
    high = np.zeros(len(month_day), dtype=bool)
    for start, end in HIGH_SEASON:
        high |= (month_day >= start) & (month_day <= end)
    return high


#: The formula of every feature in :data:`ALL_FEATURES`, keyed by name (same order).
FEATURE_FORMULAS: Final[dict[str, Callable[[_Rows], Any]]] = {
    "airline": lambda r: [r.encoder.airline_codes.get(a, np.nan) for a in r.flights.airline],
    "destination": lambda r: r.encoder.destination_code(r),
    "international": lambda r: [t == "I" for t in r.flights.flight_type],
    "month": lambda r: r.flights.month,
    "day": lambda r: r.flights.day,
    "weekday": lambda r: r.weekday,
    "hour": lambda r: r.flights.hour,
    "minute_of_day": lambda r: r.flights.hour * 60 + r.flights.minute,
    "day_of_year": lambda r: r.days - dates.days_from_civil(r.flights.year, 1, 1) + 1,
    "is_holiday": lambda r: r.holiday_distances[0] == 0,
    "days_to_holiday": lambda r: r.holiday_distances[0],
    "days_since_holiday": lambda r: r.holiday_distances[1],
    "high_season": _high_season,
    "schedule_density": lambda r: r.encoder.density[r.weekday, r.flights.hour],
    "flight_delay_rate": lambda r: r.flight_rate,
    "distance_km": lambda r: r.airport_values(r.encoder.airports.distance_km),
    "country": lambda r: r.airport_codes(r.encoder.airports.country, r.encoder.country_codes),
    "region": lambda r: r.airport_codes(r.encoder.airports.region, r.encoder.region_codes),
    "utc_offset": lambda r: r.airport_values(r.encoder.airports.offset_from_origin),
}


def fit_encoder(
    flights: FlightColumns,
    delayed: np.ndarray,
    *,
    features: Sequence[str] = ALL_FEATURES,
    holidays: np.ndarray,
    smoothing: float = 20.0,
    airports: AirportTable | None = None,
    unseen_destination: str = "missing",
) -> FeatureEncoder:
    """Learn the encoder's tables from training flights (never from evaluation rows).

    ``flights`` must carry their airports (``FlightColumns.airport``). ``airports`` defaults to
    :func:`~challenge_neuralworks.airports.reference_airports` (training time: airportsdata).
    """
    if flights.airport is None or any(a is None for a in flights.airport):
        raise ValueError("training flights need their scheduled airport (FlightColumns.airport)")
    delayed = np.asarray(delayed, dtype=np.float64)
    prior = float(delayed.mean())
    days = dates.days_from_civil(flights.year, flights.month, flights.day)
    weekday, hour = dates.weekday_of(days), flights.hour
    weeks = max(1.0, (days.max() - days.min() + 1) / 7.0)
    density = np.zeros((7, 24))
    np.add.at(density, (weekday, hour), 1.0)
    table = airports if airports is not None else _reference_table(flights.airport)
    rows = table.rows(flights.airport)
    if (rows < 0).any():
        missing = sorted({a for a, r in zip(flights.airport, rows, strict=True) if r < 0})
        raise ValueError(f"airports {missing[:5]} are not in the airport table")
    destination_airports, main_airports = _airports_of_cities(flights)
    return FeatureEncoder(
        features=tuple(features),
        airlines=_by_delay_rate(flights.airline, delayed),
        destinations=_by_delay_rate(flights.destination, delayed),
        holidays=np.asarray(holidays, dtype=np.int64),
        density=density / weeks,
        flight_rates=smoothed_rates(_keys(flights), delayed, prior=prior, smoothing=smoothing),
        prior_rate=prior,
        smoothing=smoothing,
        airports=table,
        destination_airports=destination_airports,
        main_airports=main_airports,
        countries=_by_delay_rate([table.country[r] for r in rows], delayed),
        regions=_by_delay_rate([table.region[r] for r in rows], delayed),
        routes=tuple(
            sorted(
                {route_key(a, d) for a, d in zip(flights.airline, flights.destination, strict=True)}
            )
        ),
        unseen_destination=unseen_destination,
    )


def route_key(airline: str, city: str) -> str:
    """Lookup key of one route (airline name + destination city)."""
    return f"{airline}|{city}"


def _reference_table(codes: Sequence[str | None]) -> AirportTable:
    """The reference table, with any airport of ``codes`` it lacks (e.g. no IATA code)."""
    from challenge_neuralworks.airports import reference_airports

    table = reference_airports()
    missing = frozenset(c for c in codes if c is not None) - set(table.icao)
    return reference_airports(missing) if missing else table


def _airports_of_cities(flights: FlightColumns) -> tuple[dict[str, str], dict[str, str]]:
    """(training airport -> city, city -> its busiest training airport), both sorted."""
    counts: dict[tuple[str, str], int] = {}
    for airport, city in zip(flights.airport or (), flights.destination, strict=True):
        counts[airport, city] = counts.get((airport, city), 0) + 1
    cities: dict[str, str] = {}
    busiest: dict[str, tuple[int, str]] = {}
    for (airport, city), count in sorted(counts.items()):
        cities[airport] = city
        if city not in busiest or count > busiest[city][0]:
            busiest[city] = (count, airport)
    return cities, {city: airport for city, (_, airport) in sorted(busiest.items())}


def out_of_fold_flight_rate(
    encoder: FeatureEncoder, flights: FlightColumns, delayed: np.ndarray, folds: np.ndarray
) -> np.ndarray:
    """Flight delay rate of each training row computed without the row's own fold.

    Target encoding must never see the row it encodes: otherwise the model learns to trust a
    rate that includes its own label and over-fits rare flights.
    """
    keys = _keys(flights)
    out = np.full(len(keys), np.nan)
    for fold in np.unique(folds):
        train, held = folds != fold, folds == fold
        rates = smoothed_rates(
            [k for k, t in zip(keys, train, strict=True) if t],
            np.asarray(delayed)[train],
            prior=encoder.prior_rate,
            smoothing=encoder.smoothing,
        )
        out[held] = [
            np.nan if k is None else rates.get(k, encoder.prior_rate)
            for k, h in zip(keys, held, strict=True)
            if h
        ]
    return out


def encode_training(
    encoder: FeatureEncoder, flights: FlightColumns, delayed: np.ndarray, folds: np.ndarray
) -> np.ndarray:
    """Training matrix: like :meth:`FeatureEncoder.encode` but with out-of-fold flight rates."""
    rate = out_of_fold_flight_rate(encoder, flights, delayed, folds)
    return encoder._matrix(_Rows(encoder, flights, rate))


def smoothed_rates(
    keys: Sequence[str | None], delayed: np.ndarray, *, prior: float, smoothing: float
) -> dict[str, float]:
    """(delays + prior * m) / (flights + m) per key: rare flights shrink towards the prior."""
    totals: dict[str, list[float]] = {}
    for key, label in zip(keys, np.asarray(delayed, dtype=np.float64), strict=True):
        if key is None:
            continue
        acc = totals.setdefault(key, [0.0, 0.0])
        acc[0] += label
        acc[1] += 1.0
    return {
        key: (hits + prior * smoothing) / (count + smoothing)
        for key, (hits, count) in sorted(totals.items())
    }


def chilean_holidays(
    first_year: int = dates.MIN_YEAR, last_year: int = dates.MAX_YEAR
) -> np.ndarray:
    """Sorted day numbers of Chile's public holidays (``holidays`` package, training only)."""
    import holidays

    calendar = holidays.country_holidays("CL", years=range(first_year, last_year + 1))
    return np.array(sorted(dates.to_days(day) for day in calendar), dtype=np.int64)


def _by_delay_rate(values: Sequence[str], delayed: np.ndarray) -> tuple[str, ...]:
    """Distinct values ordered by ascending delay rate, then by name ("" means unknown: never
    coded)."""
    totals: dict[str, list[float]] = {}
    for value, label in zip(values, delayed, strict=True):
        if not value:
            continue
        acc = totals.setdefault(value, [0.0, 0.0])
        acc[0] += float(label)
        acc[1] += 1.0
    return tuple(sorted(totals, key=lambda v: (totals[v][0] / totals[v][1], v)))


def _keys(flights: FlightColumns) -> list[str | None]:
    return [
        None if number is None else flight_key(airline, number)
        for airline, number in zip(flights.airline, flights.flight_number, strict=True)
    ]
