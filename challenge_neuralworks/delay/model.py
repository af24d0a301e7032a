"""The delay model family: ``delay`` (P(delay > 15 min)) and ``delay_minutes`` (minutes late).

Both take the same request (:class:`~challenge_neuralworks.schemas.FlightRequest`) and the same
features; they differ in what the trees predict. The instances hold only numpy arrays and plain
Python values (their dataclass fields are what the artifact stores), so loading them in the
Lambda function imports numpy, not scikit-learn. Training lives in
:mod:`challenge_neuralworks.delay.build`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from challenge_neuralworks import dates
from challenge_neuralworks.airports import HOME_COUNTRY
from challenge_neuralworks.artifacts import artifact_type
from challenge_neuralworks.delay.calibration import IsotonicCalibrator
from challenge_neuralworks.delay.features import (
    GEOGRAPHY_FEATURES,
    FeatureEncoder,
    FlightColumns,
    flight_key,
)
from challenge_neuralworks.ensemble import TreeEnsemble, sigmoid
from challenge_neuralworks.errors import InputError, echo
from challenge_neuralworks.model import Context, Model
from challenge_neuralworks.schemas import (
    EXAMPLE_FLIGHT,
    DelayPrediction,
    FlightRequest,
    MinutesPrediction,
    ScheduledFlight,
    nearest,
    resolve_flight,
)

if TYPE_CHECKING:
    from challenge_neuralworks.explain import TreeExplainer

#: Other documented request items: the richer fields, another airline, a late hour.
_MORE_EXAMPLES: tuple[dict[str, Any], ...] = (
    {
        "FECHA-I": "2017-12-22 19:45",
        "VLO-I": "226",
        "OPERA": "American Airlines",
        "TIPOVUELO": "I",
        "SIGLADES": "Miami",
    },
    {**EXAMPLE_FLIGHT, "HORA-I": 22, "MIN-I": 40},
    {**EXAMPLE_FLIGHT, "HORA-I": 0, "DIA-I": 25, "MES-I": 12, "DIANOM": "Lunes"},
    {"FECHA-I": "2017-07-14 18:30", "OPERA": "Sky Airline", "TIPOVUELO": "I", "DES-I": "SAEZ"},
)


class DelayFamilyModel(Model):
    """Shared request handling of models built on :class:`FeatureEncoder` features: calendar and
    destination resolution, the closed value sets, and the warnings about what the model had
    not seen (an answer is never refused for a real destination, flight number or route)."""

    input_model: ClassVar[type[FlightRequest]] = FlightRequest

    encoder: FeatureEncoder

    def examples(self) -> list[dict[str, Any]]:
        """The original challenge's example request first, then richer ones; each adapted to
        the values this model knows (a model trained on other data still gets valid ones)."""
        return [self._known(item) for item in (EXAMPLE_FLIGHT, *_MORE_EXAMPLES)]

    def _known(self, item: dict[str, Any]) -> dict[str, Any]:
        encoder = self.encoder
        airline = item["OPERA"] if item["OPERA"] in encoder.airline_codes else None
        if "DES-I" in item:
            airport = item["DES-I"] if item["DES-I"] in encoder.destination_airports else None
            airport = airport or encoder.main_airports[min(encoder.main_airports)]
            return {
                **item,
                "OPERA": airline or min(encoder.airline_codes),
                "DES-I": airport,
                "TIPOVUELO": self._flight_type(airport),
            }
        city = item["SIGLADES"] if item["SIGLADES"] in encoder.main_airports else None
        city = city or min(encoder.main_airports)
        return {
            **item,
            "OPERA": airline or min(encoder.airline_codes),
            "SIGLADES": city,
            "TIPOVUELO": self._flight_type(encoder.main_airports[city]),
        }

    def _flight_type(self, airport: str) -> str:
        table = self.encoder.airports
        row = table.row(airport)
        return "N" if row is not None and table.country[row] == HOME_COUNTRY else "I"

    def allowed_values(self) -> dict[str, list[Any]]:
        """Values the model was trained on, per request field (``SIGLADES`` also takes the city
        of any airport in the reference data, and ``DES-I`` any airport's code)."""
        return {
            "OPERA": sorted(self.encoder.airlines),
            "SIGLADES": sorted(self.encoder.destinations),
            "TIPOVUELO": ["I", "N"],
            "DIANOM": list(dates.WEEKDAYS),
        }

    def check(self, item: FlightRequest, context: Context) -> ScheduledFlight:
        """Calendar resolution, a known airline, and the destination resolved to one airport
        (:meth:`FeatureEncoder.resolve_destination`: city and/or code, flight type agreeing
        with the airport's country)."""
        flight = resolve_flight(item, reference_year=context.year)
        if flight.airline not in self.encoder.airline_codes:
            raise _unknown("OPERA", flight.airline, sorted(self.encoder.airlines))
        destination = self.encoder.resolve_destination(
            city=item.siglades, code=item.des, flight_type=flight.flight_type
        )
        return flight._replace(destination=destination.city, airport=destination.airport)

    def warnings(self, flight: ScheduledFlight) -> list[dict[str, str]]:
        """What this model had not seen about one checked flight (``Warning`` shapes)."""
        encoder = self.encoder
        out = []
        if flight.destination not in encoder.destination_codes:
            out.append(self._unseen_destination(flight))
        elif not encoder.is_known_route(flight.airline, flight.destination):
            out.append(
                {
                    "code": "unseen_route",
                    "field": "OPERA",
                    "message": f"no training flight of {flight.airline} went to "
                    f"{flight.destination}: the prediction combines what the model learned of "
                    "the airline and of the destination separately",
                }
            )
        if (
            flight.flight_number is not None
            and flight_key(flight.airline, flight.flight_number) not in encoder.flight_rates
        ):
            out.append(
                {
                    "code": "unseen_flight_number",
                    "field": "VLO-I",
                    "message": f"no training flight was {flight.airline} {flight.flight_number}:"
                    " the mean delay rate of all flights stands in for its own",
                }
            )
        return out

    def _unseen_destination(self, flight: ScheduledFlight) -> dict[str, str]:
        encoder = self.encoder
        table = encoder.airports
        row = None if flight.airport is None else table.row(flight.airport)
        where = "" if row is None else f" ({flight.airport}, {table.country[row]})"
        stand_in = encoder.stand_in(-1 if row is None else row)
        if stand_in is None:
            fallback = (
                "its destination feature is unknown to the model, whose trees then take the "
                "branches most training flights took; the other features are the flight's own"
            )
        else:
            fallback = (
                f"it takes the destination code of {stand_in} "
                f"({encoder.main_airports[stand_in]}), the nearest destination the model knows in "
                "the same country or, without one, on the same side of the border"
            )
        geography = [f for f in encoder.features if f in GEOGRAPHY_FEATURES]
        if geography:
            fallback += f"; {', '.join(geography)} are the airport's own"
        return {
            "code": "unseen_destination",
            "field": "SIGLADES",
            "message": f"{flight.destination}{where} is not a destination this model was "
            f"trained on: {fallback}",
        }

    def with_warnings(
        self, items: Sequence[ScheduledFlight], results: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """``results`` with each item's ``warnings`` added where it has any."""
        for item, result in zip(items, results, strict=True):
            found = self.warnings(item)
            if found:
                result["warnings"] = found
        return results

    def tabular(self, result: dict[str, Any]) -> dict[str, Any]:
        """Flat columns plus ``warnings``: the codes, ``;``-separated (empty when none)."""
        flat = super().tabular({k: v for k, v in result.items() if k != "warnings"})
        return {**flat, "warnings": _warning_codes(result)}

    def feature_values(
        self, items: Sequence[ScheduledFlight], matrix: np.ndarray | None = None
    ) -> list[dict[str, Any]]:
        """Each item's features as the model computes them, for prediction capture: numbers,
        the label of the categorical ones (airline, destination, country, region), ``None``
        where missing.
        ``matrix`` is the items' feature matrix when :meth:`predict` already computed it."""
        encoder = self.encoder
        if matrix is None:
            matrix = encoder.encode(FlightColumns.from_flights(items))
        features, isnan = encoder.labelled_features, math.isnan
        return [
            {
                name: None if isnan(value) else (value if labels is None else labels[int(value)])
                for (name, labels), value in zip(features, row, strict=True)
            }
            for row in matrix.tolist()
        ]

    def input_values(self, item: ScheduledFlight) -> dict[str, Any]:
        """The validated request fields of one item, flat (the ``input`` of a capture)."""
        minute = 0 if item.minute is None else item.minute
        return {
            "scheduled": f"{item.year:04d}-{item.month:02d}-{item.day:02d}"
            f"T{item.hour:02d}:{minute:02d}:00",
            "minute_given": item.minute is not None,
            "airline": item.airline,
            "destination": item.destination,
            "airport": item.airport,
            "flight_type": item.flight_type,
            "flight_number": item.flight_number,
        }


def _warning_codes(result: dict[str, Any]) -> str:
    return ";".join(w["code"] for w in result.get("warnings", ()))


def keep_features(context: Context | None, X: np.ndarray) -> None:
    """Hand the feature matrix to a caller that asked for it (a capture uses it as is)."""
    if context is not None and context.features is not None:
        context.features.append(X)


def _unknown(field: str, value: str, allowed: Sequence[str]) -> InputError:
    return InputError(
        f"{field} {echo(value)} is not known to this model",
        field=field,
        code="unknown_value",
        allowed=list(allowed),
        suggestions=nearest(value, allowed),
    )


@artifact_type
@dataclass(eq=False)
class DelayClassifier(DelayFamilyModel):
    """P(departure more than 15 minutes late), calibrated, with a decision threshold."""

    name: ClassVar[str] = "delay"
    output_model: ClassVar[type[DelayPrediction]] = DelayPrediction
    explainable: ClassVar[bool] = True

    encoder: FeatureEncoder
    ensemble: TreeEnsemble
    calibrator: IsotonicCalibrator | None
    threshold: float
    version: str
    metadata: dict[str, Any]

    def __post_init__(self) -> None:
        self.threshold = float(self.threshold)

    def predict_proba(self, flights: FlightColumns) -> np.ndarray:
        """Calibrated P(delay) of each flight."""
        return self._probability(self.ensemble.raw(self.encoder.encode(flights)))

    def _probability(self, raw: np.ndarray) -> np.ndarray:
        probability = sigmoid(raw)
        return probability if self.calibrator is None else self.calibrator(probability)

    def predict(
        self, items: Sequence[ScheduledFlight], context: Context | None = None
    ) -> list[dict[str, Any]]:
        """``{"prediction": [p_no_delay, p_delay], "delayed": bool, "threshold": t}`` each,
        plus its ``explanation`` when the context asks for one."""
        X = self.encoder.encode(FlightColumns.from_flights(items))
        keep_features(context, X)
        raw = self.ensemble.raw(X)
        p_delay = self._probability(raw).tolist()
        threshold = round(self.threshold, 6)
        answers = self.with_warnings(
            items,
            [
                {
                    "prediction": [round(1.0 - p, 6), round(p, 6)],
                    "delayed": p >= threshold,
                    "threshold": threshold,
                }
                for p in p_delay
            ],
        )
        if context is not None and context.explain:
            for answer, explanation in zip(answers, self.explain(items, X, raw), strict=True):
                answer["explanation"] = explanation
        return answers

    @functools.cached_property
    def explainer(self) -> TreeExplainer:
        """The trees' TreeSHAP tables, built once by the first explained request (a fraction of
        a second, about 30 MiB for the production recipe): loading the model and plain
        predictions never pay for them."""
        from challenge_neuralworks.explain import TreeExplainer

        return TreeExplainer.of(self.ensemble)

    def explain(
        self, items: Sequence[ScheduledFlight], X: np.ndarray, raw: np.ndarray
    ) -> list[dict[str, Any]]:
        """Each flight's ``explanation`` (its model input ``X`` and log-odds ``raw``)."""
        from challenge_neuralworks.delay.explain import explanations

        explainer = self.explainer
        return explanations(
            self.encoder,
            items,
            X=X,
            raw=raw,
            contributions=explainer.shap_values(X),
            base_value=explainer.expected_value,
            calibrated=self.calibrator is not None,
        )

    def tabular(self, result: dict[str, Any]) -> dict[str, Any]:
        """``p_delay``, the 0/1 decision and the warning codes for batch scoring files."""
        return {
            "p_delay": result["prediction"][1],
            "delayed": int(result["delayed"]),
            "warnings": _warning_codes(result),
        }

    def summary_metrics(self, answers: Sequence[Mapping[str, Any]]) -> dict[str, float]:
        """Share of flights over the threshold (%) and their mean P(delay): what an alarm on
        the predicted delay rate watches."""
        if not answers:
            return {}
        delayed = sum(1 for answer in answers if answer["delayed"])
        return {
            "PredictedDelayRate": round(100.0 * delayed / len(answers), 4),
            "MeanDelayProbability": round(
                sum(answer["prediction"][1] for answer in answers) / len(answers), 6
            ),
        }


@artifact_type
@dataclass(eq=False)
class DelayMinutes(DelayFamilyModel):
    """Expected departure delay in minutes, with the median and the 90th percentile.

    Negative values mean an early departure. Three boosted ensembles share one encoder.
    """

    name: ClassVar[str] = "delay_minutes"
    output_model: ClassVar[type[MinutesPrediction]] = MinutesPrediction

    encoder: FeatureEncoder
    ensembles: dict[str, TreeEnsemble]
    version: str
    metadata: dict[str, Any]

    def predict_minutes(self, flights: FlightColumns) -> dict[str, np.ndarray]:
        """``expected``, ``p50`` and ``p90`` minutes of each flight (quantiles kept ordered)."""
        return self._minutes(self.encoder.encode(flights))

    def _minutes(self, X: np.ndarray) -> dict[str, np.ndarray]:
        out = {name: ensemble.raw(X) for name, ensemble in self.ensembles.items()}
        out["p90"] = np.maximum(out["p90"], out["p50"])  # separately fitted quantiles may cross
        return out

    def predict(
        self, items: Sequence[ScheduledFlight], context: Context | None = None
    ) -> list[dict[str, Any]]:
        """``{"prediction": {"expected": m, "p50": m, "p90": m}}`` each, in minutes."""
        X = self.encoder.encode(FlightColumns.from_flights(items))
        keep_features(context, X)
        minutes = {k: v.tolist() for k, v in self._minutes(X).items()}
        return self.with_warnings(
            items,
            [
                {
                    "prediction": {
                        name: round(minutes[name][i], 2) for name in ("expected", "p50", "p90")
                    }
                }
                for i in range(len(items))
            ],
        )

    def summary_metrics(self, answers: Sequence[Mapping[str, Any]]) -> dict[str, float]:
        """The mean expected delay of the request's flights, in minutes."""
        if not answers:
            return {}
        total = sum(answer["prediction"]["expected"] for answer in answers)
        return {"MeanExpectedDelayMinutes": round(total / len(answers), 3)}
