"""The API contract: request and response models, error shapes, and request-item resolution.

This is the one module that knows field names like ``MES-I``. pydantic checks types and ranges
(strictly: an integer field takes a JSON integer and nothing else; unknown fields are rejected so
a typo is an error, not a silently ignored field). What pydantic cannot express (calendar
consistency, inferring the year) happens in :func:`resolve_flight`; what depends on a trained
model (known airlines and destinations) happens in the model's ``check``. Every failure becomes
an :class:`~challenge_neuralworks.errors.InputError` that names the field and the allowed values,
and repeats a client's value only through :func:`~challenge_neuralworks.errors.echo` (bounded).

The answers are pydantic models too: each model class names its ``output_model`` (one flight's
answer); :func:`single_response` and :func:`batch_response` wrap it the way the handler does. The
OpenAPI document publishes them, and the deploy smoke test, the load tests and the contract tests
validate real answers with them, so "is this a valid answer?" is written once.
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Sequence
from typing import Annotated, Any, Final, Literal, NamedTuple, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from challenge_neuralworks import dates
from challenge_neuralworks.departures.records import Departure
from challenge_neuralworks.errors import ECHO_LIMIT, InputError, clip, echo

#: Largest request body the handler reads, in UTF-8 bytes as API Gateway counts them
#: (API Gateway allows 10 MB, Lambda 6 MB).
MAX_BODY_BYTES: Final[int] = 1_000_000

#: The original challenge API's example request: docs, the twin's banner, deploy smoke tests.
EXAMPLE_FLIGHT: Final[dict[str, Any]] = {
    "DIA-I": 3,
    "MES-I": 2,
    "HORA-I": 9,
    "OPERA": "Grupo LATAM",
    "TIPOVUELO": "N",
    "SIGLADES": "La Serena",
    "DIANOM": "Viernes",
}

Weekday = Literal["Lunes", "Martes", "Miercoles", "Jueves", "Viernes", "Sabado", "Domingo"]
FlightType = Literal["I", "N"]
ModelT = TypeVar("ModelT", bound=BaseModel)
_DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?$"


class FlightRequest(BaseModel):
    """One scheduled departure from SCL, as in the original challenge API plus optional fields.

    Either the scheduled day, month, hour and weekday (``DIA-I``, ``MES-I``, ``HORA-I``,
    ``DIANOM``) or the full scheduled datetime ``FECHA-I`` must be given; when both are, they
    must agree. Without ``FECHA-I`` the year is the one nearest today in which that day falls
    on that weekday. The destination is the city ``SIGLADES``, the airport code ``DES-I``
    (ICAO or IATA), or both, which must then name the same airport.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    dia: Annotated[
        int | None, Field(alias="DIA-I", ge=1, le=31, description="Scheduled day of the month.")
    ] = None
    mes: Annotated[
        int | None, Field(alias="MES-I", ge=1, le=12, description="Scheduled month.")
    ] = None
    hora: Annotated[
        int | None,
        Field(alias="HORA-I", ge=0, le=23, description="Scheduled hour (local time, 0-23)."),
    ] = None
    minuto: Annotated[
        int | None,
        Field(alias="MIN-I", ge=0, le=59, description="Scheduled minute (improves accuracy)."),
    ] = None
    dianom: Annotated[
        Weekday | None, Field(alias="DIANOM", description="Scheduled weekday, in Spanish.")
    ] = None
    opera: Annotated[
        str,
        Field(
            alias="OPERA",
            min_length=1,
            max_length=64,
            description="Operating airline group, as in the data set (e.g. 'Grupo LATAM').",
        ),
    ]
    tipovuelo: Annotated[
        FlightType,
        Field(alias="TIPOVUELO", description="'I' international, 'N' national (domestic)."),
    ]
    siglades: Annotated[
        str | None,
        Field(
            alias="SIGLADES",
            min_length=1,
            max_length=64,
            description=(
                "Destination city, as in the data set (e.g. 'La Serena'), or the city of an "
                "airport in the reference data. Required unless DES-I is given."
            ),
        ),
    ] = None
    des: Annotated[
        str | None,
        Field(
            alias="DES-I",
            pattern=r"^[A-Za-z0-9]{3,4}$",
            description=(
                "Scheduled destination airport: ICAO code (4 characters, as the data set's "
                "Des-I, e.g. 'SCSE') or IATA code (3 characters, e.g. 'LSC'), any case."
            ),
        ),
    ] = None
    vlo: Annotated[
        str | None,
        Field(
            alias="VLO-I",
            pattern=r"^[0-9]{1,5}[A-Za-z]?$",
            description="Scheduled flight number, e.g. '226' (improves accuracy).",
        ),
    ] = None
    fecha: Annotated[
        str | None,
        Field(
            alias="FECHA-I",
            pattern=_DATETIME_PATTERN,
            description="Full scheduled datetime 'YYYY-MM-DD HH:MM[:SS]'.",
        ),
    ] = None


class ScheduledFlight(NamedTuple):
    """One validated scheduled departure: :func:`resolve_flight` resolves the calendar, the
    model's ``check`` the destination (``destination`` becomes the city the model knows the
    airport by, ``airport`` its ICAO code)."""

    year: int
    month: int
    day: int
    hour: int
    minute: int | None
    airline: str
    destination: str
    flight_type: str
    flight_number: str | None
    airport: str | None = None


def normalize_flight_number(value: str | None) -> str | None:
    """Canonical flight number: upper case, no surrounding blanks or leading zeros."""
    if value is None:
        return None
    text = value.strip().upper().lstrip("0")
    return text or None


class BatchRequest(BaseModel):
    """Several flights in one request; predictions come back in the same order."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    flights: Annotated[list[dict[str, Any]], Field(min_length=1)]
    explain: bool = Field(
        default=False,
        description="Add each prediction's explanation (same as `?explain=true`).",
    )


class ErrorBody(BaseModel):
    """``{"error": {...}}``: every 4xx/5xx the handler itself returns
    (:meth:`~challenge_neuralworks.errors.APIError.body` builds it)."""

    model_config = ConfigDict(extra="forbid")

    code: str
    message: str
    field: str | None = None
    allowed: list[Any] | None = None
    suggestions: list[str] | None = None


class ErrorResponse(BaseModel):
    """Error envelope."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorBody


class GatewayMessage(BaseModel):
    """An answer of API Gateway itself (the function is never called)."""

    message: str


class Warning(BaseModel):  # shadows the builtin in this module only: the API names it so
    """Something the model had not seen that the answer had to work around."""

    model_config = ConfigDict(extra="forbid")

    code: Literal["unseen_destination", "unseen_route", "unseen_flight_number"] = Field(
        description=(
            "`unseen_destination`: no training flight went to this destination (its features "
            "fall back, see the message); `unseen_route`: the airline had no training flight "
            "to it; `unseen_flight_number`: no training flight had this airline and number "
            "(the mean delay rate stands in)."
        )
    )
    field: str = Field(description="The request field the warning is about.")
    message: str


#: ``warnings`` of a prediction: left out when there are none.
Warnings = Annotated[
    list[Warning] | None,
    Field(description="What the model had not seen in training (left out when nothing)."),
]


class Contribution(BaseModel):
    """One feature's share of a flight's log-odds of delay."""

    model_config = ConfigDict(extra="forbid")

    feature: str = Field(description="The model's feature (e.g. `hour`, `flight_delay_rate`).")
    value: str | int | float | bool | None = Field(
        description="The feature's value for this flight in the request's terms (airline and "
        "destination names, `HH:MM`); null when the request left it out."
    )
    contribution: float = Field(
        description="Exact TreeSHAP value: what knowing this feature adds to the log-odds."
    )


class Explanation(BaseModel):
    """Why the model gave this flight its risk (``?explain=true``).

    ``base_value`` plus the sum of the contributions equals ``log_odds`` (to 1e-9).
    """

    model_config = ConfigDict(extra="forbid")

    base_value: float = Field(
        description="Expected log-odds of the trees over their training rows (no feature known)."
    )
    log_odds: float = Field(description="This flight's log-odds of delay, the value explained.")
    explains: Literal["log_odds", "uncalibrated_log_odds"] = Field(
        description="`log_odds`: p_delay = 1 / (1 + exp(-log_odds)). `uncalibrated_log_odds`: "
        "the model maps that score through a calibration curve to give p_delay; the "
        "contributions explain the score before the map."
    )
    contributions: list[Contribution] = Field(
        description="Every feature of the model, largest absolute contribution first."
    )
    reasons: Annotated[list[str], Field(max_length=3)] = Field(
        description="The top contributions in words (e.g. `departure hour 19: +0.31`)."
    )


class DelayPrediction(BaseModel):
    """One flight's answer from the ``delay`` model."""

    model_config = ConfigDict(extra="forbid", strict=True)

    prediction: Annotated[
        list[Annotated[float, Field(ge=0.0, le=1.0)]],
        Field(min_length=2, max_length=2, description="[p_no_delay, p_delay], summing to 1."),
    ]
    delayed: bool = Field(description="p_delay >= threshold")
    threshold: float = Field(ge=0.0, le=1.0)
    warnings: Warnings = None
    explanation: Explanation | None = Field(
        default=None, description="Only with `?explain=true` (or a batch's `explain: true`)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> DelayPrediction:
        """The two probabilities sum to 1 and the decision is the threshold's."""
        p_no_delay, p_delay = self.prediction
        if abs(p_no_delay + p_delay - 1.0) > 1e-5:
            raise ValueError(f"probabilities sum to {p_no_delay + p_delay}, not 1")
        if self.delayed is not (p_delay >= self.threshold):
            raise ValueError("delayed must be p_delay >= threshold")
        return self


class MinutesQuantiles(BaseModel):
    """Minutes after the scheduled departure (negative: early)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    expected: float = Field(description="Expected delay (mean), in minutes.")
    p50: float = Field(description="Median delay, in minutes.")
    p90: float = Field(description="90th percentile of the delay, in minutes (>= p50).")

    @model_validator(mode="after")
    def _ordered(self) -> MinutesQuantiles:
        """Quantiles are ordered."""
        if self.p90 < self.p50:
            raise ValueError(f"p90 {self.p90} is below p50 {self.p50}")
        return self


class MinutesPrediction(BaseModel):
    """One flight's answer from the ``delay_minutes`` model."""

    model_config = ConfigDict(extra="forbid")

    prediction: MinutesQuantiles
    warnings: Warnings = None


class RecentDepartures(BaseModel):
    """Departures reported in one window before the prediction time."""

    model_config = ConfigDict(extra="forbid")

    departures: int = Field(ge=0)
    delayed_share: float | None = Field(
        ge=0.0, le=1.0, description="Share that left more than 15 minutes late (null: none)."
    )


class NowcastContext(BaseModel):
    """What a ``delay_nowcast`` answer knew: the departures it used, or why it used none."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["live", "schedule_only"] = Field(
        description="`live`: departures reported up to `as_of` sharpened the prediction; "
        "`schedule_only`: the schedule-only prediction (`delay`'s recipe), see `reason`."
    )
    reason: (
        Literal["no_departures", "departures_unavailable", "beyond_horizon", "outside_window"]
        | None
    ) = Field(
        description="Why no live context was used: no departure reported in the 24 hours "
        "before `as_of`; the departures store is not configured or cannot be read; the flight "
        "is scheduled more than 24 hours after `as_of`; or it was scheduled too long ago for "
        "the departures the service reads. Null in `live` mode."
    )
    as_of: str = Field(
        description="The prediction time, SCL local 'YYYY-MM-DD HH:MM:SS': the service's clock "
        "(when the departures were read), or 30 minutes before a flight scheduled sooner. "
        "Only departures whose actual time is at or before it count."
    )
    lead_hours: float = Field(description="Hours from `as_of` to the scheduled departure.")
    departures_seen: int = Field(
        ge=0, description="Departures reported in the 24 hours up to `as_of`."
    )
    scl_last_3h: RecentDepartures | None = Field(
        description="All of SCL in the 3 hours up to `as_of` (null in `schedule_only` mode)."
    )
    airline_last_6h: RecentDepartures | None = Field(
        description="The flight's airline in the 6 hours up to `as_of` (null in "
        "`schedule_only` mode)."
    )
    previous_day_delay_minutes: float | None = Field(
        description="Delay of the same airline and flight number the day before, if it had "
        "left by `as_of` (null otherwise, or without `VLO-I`)."
    )


class NowcastPrediction(DelayPrediction):
    """One flight's answer from ``delay_nowcast``: ``delay``'s shape plus its live context."""

    context: NowcastContext


class _Served(BaseModel):
    """Which model and version answered (every prediction response carries both)."""

    model: str
    version: str


@functools.cache
def single_response(output_model: type[BaseModel]) -> type[BaseModel]:
    """``POST /inference/<model>`` with one flight: the answer plus ``model`` and ``version``."""
    return create_model(
        f"{output_model.__name__}Response",
        __base__=(output_model, _Served),
        __doc__=f"``POST /inference/<model>`` with one flight: {output_model.__doc__}",
    )


def validate_answer(output_model: type[BaseModel], body: Any) -> BaseModel:
    """``body`` (a one-flight or a batch answer of a model whose items are ``output_model``)
    checked against the published response models; ``ValidationError`` says what is wrong.
    The one definition of "a valid prediction answer" (tests, load tests, the deploy smoke)."""
    response = (
        batch_response if isinstance(body, dict) and "predictions" in body else single_response
    )
    return response(output_model).model_validate(body)


@functools.cache
def batch_response(output_model: type[BaseModel]) -> type[BaseModel]:
    """``POST /inference/<model>`` with ``{"flights": [...]}``: answers in request order."""
    return create_model(
        f"{output_model.__name__}Batch",
        __base__=_Served,
        __doc__='``POST /inference/<model>`` with ``{"flights": [...]}``, in request order.',
        __config__=None,
        predictions=(list[output_model], ...),  # type: ignore[valid-type]
    )


class HealthResponse(BaseModel):
    """``GET /health``: liveness and each model's state (verifying manifests, loading nothing)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["ok", "unavailable"] = Field(
        description="`ok` while at least one model can serve (200); `unavailable` (503) if none."
    )
    version: str = Field(description="Version of the service package.")
    models: dict[str, str] = Field(
        description="Per model: `loaded`, `not_loaded` or `unavailable: <reason>`."
    )


class ModelSummary(BaseModel):
    """One entry of ``GET /models``; an unavailable model has a ``reason`` instead of a version."""

    model_config = ConfigDict(extra="forbid")

    name: str
    status: Literal["available", "unavailable"]
    version: str | None = None
    metrics: dict[str, Any] | None = Field(
        default=None, description="Evaluation metrics recorded in the model's manifest."
    )
    reason: str | None = Field(default=None, description="Why the artifact was refused.")


class ModelList(BaseModel):
    """``GET /models``."""

    model_config = ConfigDict(extra="forbid")

    models: list[ModelSummary]


class ModelDescription(BaseModel):
    """``GET /models/{model_name}``: identity, request contract and quality of one model."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: str
    max_batch: int = Field(description="Largest `flights` batch this model accepts.")
    options: dict[str, bool] = Field(
        description="Request options this model supports (`explain`: `?explain=true`)."
    )
    input_schema: dict[str, Any] = Field(description="JSON Schema of one request item.")
    allowed_values: dict[str, list[Any]] = Field(
        description="Closed value sets of the request fields (the values the model knows)."
    )
    metrics: dict[str, Any]


#: Largest batch ``POST /departures`` accepts.
MAX_DEPARTURES: Final[int] = 1000
#: How far after the service's clock a reported actual departure may lie (clock skew).
FUTURE_TOLERANCE: Final[_dt.timedelta] = _dt.timedelta(minutes=5)
#: The data set's bound on actual minus scheduled departure, applied to reports too.
MAX_DEVIATION: Final[_dt.timedelta] = _dt.timedelta(hours=24)


class DepartureReport(BaseModel):
    """One actual departure from SCL, reported by the operations feed once it has happened.

    Times are SCL local time, like ``FECHA-I`` of a prediction request. The same airline, flight
    number and scheduled time reported again replaces the earlier report (idempotent; late and
    out-of-order reports are fine). ``OPERA`` must be spelt as prediction requests spell it: a
    nowcast matches departures to flights by airline and flight number.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    scheduled: Annotated[
        str,
        Field(
            alias="FECHA-I",
            pattern=_DATETIME_PATTERN,
            description="Scheduled departure 'YYYY-MM-DD HH:MM[:SS]' (SCL local time).",
        ),
    ]
    actual: Annotated[
        str,
        Field(
            alias="FECHA-O",
            pattern=_DATETIME_PATTERN,
            description="Actual departure 'YYYY-MM-DD HH:MM[:SS]' (SCL local time), at most 24 h "
            "from the scheduled one and not in the future.",
        ),
    ]
    airline: Annotated[
        str,
        Field(
            alias="OPERA",
            min_length=1,
            max_length=64,
            description="Operating airline group, as prediction requests name it.",
        ),
    ]
    flight_number: Annotated[
        str,
        Field(
            alias="VLO-I",
            pattern=r"^[0-9]{1,5}[A-Za-z]?$",
            description="Scheduled flight number, e.g. '226'.",
        ),
    ]
    destination: Annotated[
        str,
        Field(
            alias="SIGLADES",
            min_length=1,
            max_length=64,
            description="Scheduled destination city (e.g. 'La Serena').",
        ),
    ]


class DeparturesRequest(BaseModel):
    """``POST /departures``: a batch of reported departures (each item a ``DepartureReport``)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    departures: Annotated[
        list[dict[str, Any]],
        Field(
            min_length=1,
            description=f"1 to {MAX_DEPARTURES} departures; a larger batch gets 413.",
        ),
    ]


class DeparturesAccepted(BaseModel):
    """``POST /departures``: what was stored."""

    model_config = ConfigDict(extra="forbid")

    received: int = Field(ge=0, description="Reports in the request.")
    stored: int = Field(
        ge=0,
        description="Distinct departures written (new, or replacing an earlier report of the "
        "same airline, flight number and scheduled time; in one batch the last report wins).",
    )
    expired: int = Field(ge=0, description="Reports older than the store's retention, not written.")


# ------------------------------------------------------------------------- resolution
def resolve_flight(request: FlightRequest, *, reference_year: int) -> ScheduledFlight:
    """Calendar checks and year inference (the year nearest ``reference_year`` in which the day
    falls on the weekday). The categorical values are left to the model: ``destination`` and
    ``airport`` carry ``SIGLADES`` ("" when absent) and ``DES-I`` as sent, for the model's
    airport resolution."""
    if request.fecha is not None:
        year, month, day, hour, minute = _from_datetime(request)
    else:
        year, month, day, hour = _from_parts(request, reference_year)
        minute = request.minuto
    return ScheduledFlight(
        year=year,
        month=month,
        day=day,
        hour=hour,
        minute=minute,
        airline=request.opera,
        destination=request.siglades or "",
        flight_type=request.tipovuelo,
        flight_number=normalize_flight_number(request.vlo),
        airport=request.des,
    )


def resolve_departure(report: DepartureReport, *, now: _dt.datetime | None) -> Departure:
    """A validated report as a :class:`Departure`: real dates, in range, actual within 24 h of
    scheduled and, with ``now`` (the service's SCL local time), not in the future."""
    scheduled = _report_time(report.scheduled, "FECHA-I")
    actual = _report_time(report.actual, "FECHA-O")
    if abs(actual - scheduled) > MAX_DEVIATION:
        raise InputError(
            f"FECHA-O {echo(report.actual)} is more than 24 hours from FECHA-I "
            f"{echo(report.scheduled)}",
            field="FECHA-O",
            code="inconsistent_date",
        )
    if now is not None and actual > now + FUTURE_TOLERANCE:
        raise InputError(
            f"FECHA-O {echo(report.actual)} is in the future (it is {now:%Y-%m-%d %H:%M} at "
            "SCL): report departures once they have happened",
            field="FECHA-O",
            code="out_of_range",
        )
    return Departure(
        airline=report.airline,
        flight_number=normalize_flight_number(report.flight_number) or "0",
        scheduled=scheduled,
        actual=actual,
        destination=report.destination,
    )


def _report_time(text: str, field: str) -> _dt.datetime:
    try:
        when = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{field} {echo(text)} is not a real date and time", field=field, code="invalid_date"
        ) from None
    if not dates.MIN_YEAR <= when.year <= dates.MAX_YEAR:
        raise InputError(
            f"{field} year must be between {dates.MIN_YEAR} and {dates.MAX_YEAR}",
            field=field,
            code="out_of_range",
        )
    return when


def _from_datetime(request: FlightRequest) -> tuple[int, int, int, int, int]:
    try:
        when = _dt.datetime.fromisoformat(request.fecha)  # type: ignore[arg-type]
    except ValueError:
        raise InputError(
            f"FECHA-I {echo(request.fecha)} is not a real date and time",
            field="FECHA-I",
            code="invalid_date",
        ) from None
    if not dates.MIN_YEAR <= when.year <= dates.MAX_YEAR:
        raise InputError(
            f"FECHA-I year must be between {dates.MIN_YEAR} and {dates.MAX_YEAR}",
            field="FECHA-I",
            code="out_of_range",
        )
    derived = {
        "DIA-I": (request.dia, when.day),
        "MES-I": (request.mes, when.month),
        "HORA-I": (request.hora, when.hour),
        "MIN-I": (request.minuto, when.minute),
        "DIANOM": (request.dianom, dates.WEEKDAYS[when.weekday()]),
    }
    for name, (given, expected) in derived.items():
        if given is not None and given != expected:
            raise InputError(
                f"{name} is {echo(given)} but FECHA-I {echo(request.fecha)} implies {expected!r}",
                field=name,
                code="inconsistent_date",
                allowed=[expected],
            )
    return when.year, when.month, when.day, when.hour, when.minute


def _from_parts(request: FlightRequest, reference_year: int) -> tuple[int, int, int, int]:
    for name, value in (
        ("DIA-I", request.dia),
        ("MES-I", request.mes),
        ("HORA-I", request.hora),
        ("DIANOM", request.dianom),
    ):
        if value is None:
            raise InputError(
                f"{name} is required unless FECHA-I is given",
                field=name,
                code="missing_field",
            )
    day, month = request.dia, request.mes
    if not dates.is_valid_date(2000, month, day):  # 2000 is a leap year: 29 Feb is real
        last = 29 if month == 2 else 30
        raise InputError(
            f"DIA-I {day} does not exist in month {month} (last day {last})",
            field="DIA-I",
            code="invalid_date",
            allowed=list(range(1, last + 1)),
        )
    year = dates.infer_year(
        day,
        month,
        dates.WEEKDAY_INDEX[request.dianom],
        reference_year,
    )
    if year is None:  # only reachable for dates no year in range puts on that weekday
        raise InputError(
            f"no year between {dates.MIN_YEAR} and {dates.MAX_YEAR} has {day}/{month} "
            f"on a {request.dianom}",
            field="DIANOM",
            code="inconsistent_date",
        )
    return year, month, day, request.hora


# ---------------------------------------------------------------------- pydantic errors
_TYPE_NAMES: Final[dict[str, str]] = {
    "int_type": "a JSON integer",
    "bool_type": "a JSON boolean",
    "string_type": "a JSON string",
    "list_type": "a JSON array",
    "dict_type": "a JSON object",
    "model_type": "a JSON object",
    "model_attributes_type": "a JSON object",
}


def validate_item(schema: type[ModelT], item: Any, prefix: str = "") -> ModelT:
    """``item`` validated by ``schema``; the first error as an :class:`InputError` whose field
    is prefixed (``departures[3].FECHA-O``) inside a batch."""
    try:
        return schema.model_validate(item)
    except ValidationError as exc:
        raise input_error_from_validation(exc, model=schema, prefix=prefix) from None


def input_error_from_validation(
    exc: ValidationError, *, model: type[BaseModel], prefix: str = ""
) -> InputError:
    """The first pydantic error as an :class:`InputError` with field, allowed values and, for
    unknown fields, the nearest known field names."""
    error = exc.errors(include_url=False)[0]
    loc = list(error["loc"])
    field = _field_path(prefix, loc)
    kind = error["type"]
    given = error.get("input")
    ctx = error.get("ctx") or {}
    name = clip(str(loc[-1])) if loc and not isinstance(loc[-1], int) else (field or "body")
    if kind == "missing":
        return InputError(f"{name} is required", field=field, code="missing_field")
    if kind == "extra_forbidden":
        known = [f.alias or n for n, f in model.model_fields.items()]
        return InputError(
            f"unknown field {echo(str(loc[-1]))}",
            field=field,
            code="unknown_field",
            allowed=known,
            suggestions=nearest(str(loc[-1]), known),
        )
    if kind in _TYPE_NAMES:
        return InputError(
            f"{name} must be {_TYPE_NAMES[kind]}, got {_json_type(given)}",
            field=field,
            code="wrong_type",
        )
    if kind in ("greater_than_equal", "less_than_equal"):
        info = model.model_fields.get(_attribute_of(model, name))
        low, high = _bounds(info)
        allowed = list(range(low, high + 1)) if low is not None and high is not None else None
        return InputError(
            f"{name} must be between {low} and {high}, got {echo(given)}",
            field=field,
            code="out_of_range",
            allowed=allowed,
        )
    if kind == "literal_error":
        options = literal_options(model, name)
        return InputError(
            f"{name} {echo(given)} is not an allowed value",
            field=field,
            code="invalid_value",
            allowed=options,
            suggestions=nearest(str(given), options),
        )
    if kind == "string_pattern_mismatch":
        return InputError(
            f"{name} {echo(given)} does not match {ctx.get('pattern')}",
            field=field,
            code="invalid_format",
        )
    return InputError(f"{name}: {clip(error['msg'], 200)}", field=field, code="invalid_field")


def _field_path(prefix: str, loc: Sequence[Any]) -> str | None:
    """``flights[3].MES-I`` style path from a prefix and a pydantic location (a client's key
    is part of the path of an unknown field: each part is clipped)."""
    path = prefix
    for part in loc:
        text = clip(str(part))
        path += f"[{text}]" if isinstance(part, int) else (f".{text}" if path else text)
    return path or None


def nearest(value: str, options: Sequence[str], n: int = 3) -> list[str]:
    """Closest spellings of ``value`` among ``options`` (case-insensitive). A value far longer
    than any option cannot be a misspelling of one: it gets none (and costs nothing)."""
    import difflib

    longest = max((len(o) for o in options), default=0)
    if len(value) > max(2 * longest, ECHO_LIMIT):
        return []
    lowered = {o.lower(): o for o in options}
    return [lowered[m] for m in difflib.get_close_matches(value.lower(), list(lowered), n, 0.6)]


def literal_options(model: type[BaseModel], alias: str) -> list[str]:
    """Allowed values of a ``Literal`` (or optional ``Literal``) field."""
    info = model.model_fields.get(_attribute_of(model, alias))
    if info is None:
        return []
    stack, options = [info.annotation], []
    while stack:
        annotation = stack.pop()
        if get_origin(annotation) is Literal:
            options.extend(get_args(annotation))
        else:
            stack.extend(get_args(annotation))
    return [str(option) for option in options]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {echo(value)}"
    if isinstance(value, str):
        return f"the string {echo(value)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _attribute_of(model: type[BaseModel], alias: str) -> str:
    for attribute, info in model.model_fields.items():
        if alias in (info.alias, attribute):
            return attribute
    return alias


def _bounds(info: Any) -> tuple[int | None, int | None]:
    low = high = None
    for item in getattr(info, "metadata", []):
        low = getattr(item, "ge", low)
        high = getattr(item, "le", high)
    return low, high
