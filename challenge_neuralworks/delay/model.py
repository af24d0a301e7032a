"""The delay model family: ``delay`` (P(delay > 15 min)) and ``delay_minutes`` (minutes late).

Both take the same request (:class:`~challenge_neuralworks.schemas.FlightRequest`) and the same
features; they differ in what the trees predict. The instances hold only numpy arrays and plain
Python values, so unpickling them in the Lambda function imports numpy, not scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from challenge_neuralworks import dates
from challenge_neuralworks.delay.calibration import IsotonicCalibrator
from challenge_neuralworks.delay.features import FeatureEncoder, FlightColumns, ScheduledFlight
from challenge_neuralworks.ensemble import TreeEnsemble, sigmoid
from challenge_neuralworks.model import InputError, Model
from challenge_neuralworks.schemas import EXAMPLE_FLIGHT, FlightRequest, nearest, resolve_flight

if TYPE_CHECKING:
    from challenge_neuralworks.data import Flights


class DelayFamilyModel(Model):
    """Shared request handling of models built on :class:`FeatureEncoder` features."""

    input_model: ClassVar[type[FlightRequest]] = FlightRequest

    encoder: FeatureEncoder
    flight_types: dict[str, str]  # destination city -> "I" / "N"
    destination_cities: dict[str, str]  # ICAO code of the scheduled destination -> city

    def example(self) -> dict[str, Any]:
        """The original challenge's example request, adapted to this model's known values."""
        airlines = self.encoder.airline_codes
        destination = EXAMPLE_FLIGHT["SIGLADES"]
        if destination not in self.flight_types:
            destination = min(self.flight_types)
        return {
            **EXAMPLE_FLIGHT,
            "OPERA": EXAMPLE_FLIGHT["OPERA"]
            if EXAMPLE_FLIGHT["OPERA"] in airlines
            else min(airlines),
            "TIPOVUELO": self.flight_types[destination],
            "SIGLADES": destination,
        }

    def allowed_values(self) -> dict[str, list[Any]]:
        """Values the model was trained on, per request field."""
        return {
            "OPERA": sorted(self.encoder.airlines),
            "SIGLADES": sorted(self.encoder.destinations),
            "TIPOVUELO": ["I", "N"],
            "DIANOM": list(dates.WEEKDAYS),
        }

    def check(self, item: FlightRequest) -> ScheduledFlight:
        """Calendar resolution plus the categorical values this model knows."""
        flight = resolve_flight(item)
        if flight.airline not in self.encoder.airline_codes:
            raise _unknown("OPERA", flight.airline, sorted(self.encoder.airlines))
        expected_type = self.flight_types.get(flight.destination)
        if expected_type is None:
            raise _unknown("SIGLADES", flight.destination, sorted(self.encoder.destinations))
        if flight.flight_type != expected_type:
            raise InputError(
                f"TIPOVUELO {flight.flight_type!r} contradicts SIGLADES {flight.destination!r}, "
                f"which is {'an international' if expected_type == 'I' else 'a domestic'} "
                "destination",
                field="TIPOVUELO",
                code="inconsistent_value",
                allowed=[expected_type],
            )
        return flight

    def feature_values(self, items: Sequence[ScheduledFlight]) -> list[dict[str, Any]]:
        """Each item's features as the model computes them, for prediction capture: numbers,
        the label of the categorical ones (airline, destination), ``None`` where missing."""
        encoder = self.encoder
        labels = {"airline": encoder.airlines, "destination": encoder.destinations}
        matrix = encoder.encode(FlightColumns.from_flights(items)).tolist()
        return [
            {
                name: None
                if math.isnan(value)
                else (labels[name][int(value)] if name in labels else value)
                for name, value in zip(encoder.features, row, strict=True)
            }
            for row in matrix
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
            "flight_type": item.flight_type,
            "flight_number": item.flight_number,
        }


def _unknown(field: str, value: str, allowed: Sequence[str]) -> InputError:
    return InputError(
        f"{field} {value!r} is not known to this model",
        field=field,
        code="unknown_value",
        allowed=list(allowed),
        suggestions=nearest(value, allowed),
    )


class DelayClassifier(DelayFamilyModel):
    """P(departure more than 15 minutes late), calibrated, with a decision threshold."""

    name: ClassVar[str] = "delay"

    def __init__(
        self,
        *,
        encoder: FeatureEncoder,
        ensemble: TreeEnsemble,
        calibrator: IsotonicCalibrator | None,
        threshold: float,
        flight_types: dict[str, str],
        destination_cities: dict[str, str],
        version: str,
        metadata: dict[str, Any],
    ) -> None:
        self.encoder = encoder
        self.ensemble = ensemble
        self.calibrator = calibrator
        self.threshold = float(threshold)
        self.flight_types = dict(flight_types)
        self.destination_cities = dict(destination_cities)
        self.version = version
        self.metadata = metadata

    def predict_proba(self, flights: FlightColumns) -> np.ndarray:
        """Calibrated P(delay) of each flight."""
        probability = sigmoid(self.ensemble.raw(self.encoder.encode(flights)))
        return probability if self.calibrator is None else self.calibrator(probability)

    def predict(self, items: Sequence[ScheduledFlight]) -> list[dict[str, Any]]:
        """``{"prediction": [p_no_delay, p_delay], "delayed": bool, "threshold": t}`` each."""
        p_delay = self.predict_proba(FlightColumns.from_flights(items)).tolist()
        threshold = round(self.threshold, 6)
        return [
            {
                "prediction": [round(1.0 - p, 6), round(p, 6)],
                "delayed": p >= threshold,
                "threshold": threshold,
            }
            for p in p_delay
        ]

    def tabular(self, result: dict[str, Any]) -> dict[str, Any]:
        """``p_delay`` and the 0/1 decision for batch scoring files."""
        return {"p_delay": result["prediction"][1], "delayed": int(result["delayed"])}

    @classmethod
    def train(cls, data: Flights, **options: Any) -> DelayClassifier:
        """Fit on ``data`` (see :mod:`challenge_neuralworks.delay.build`)."""
        from challenge_neuralworks.delay.build import build_classifier

        return build_classifier(cls, data, **options)


class DelayMinutes(DelayFamilyModel):
    """Expected departure delay in minutes, with the median and the 90th percentile.

    Negative values mean an early departure. Three boosted ensembles share one encoder.
    """

    name: ClassVar[str] = "delay_minutes"
    quantiles: ClassVar[tuple[str, ...]] = ("p50", "p90")

    def __init__(
        self,
        *,
        encoder: FeatureEncoder,
        ensembles: dict[str, TreeEnsemble],
        flight_types: dict[str, str],
        destination_cities: dict[str, str],
        version: str,
        metadata: dict[str, Any],
    ) -> None:
        self.encoder = encoder
        self.ensembles = dict(ensembles)
        self.flight_types = dict(flight_types)
        self.destination_cities = dict(destination_cities)
        self.version = version
        self.metadata = metadata

    def predict_minutes(self, flights: FlightColumns) -> dict[str, np.ndarray]:
        """``expected``, ``p50`` and ``p90`` minutes of each flight (quantiles kept ordered)."""
        X = self.encoder.encode(flights)
        out = {name: ensemble.raw(X) for name, ensemble in self.ensembles.items()}
        out["p90"] = np.maximum(out["p90"], out["p50"])  # separately fitted quantiles may cross
        return out

    def predict(self, items: Sequence[ScheduledFlight]) -> list[dict[str, Any]]:
        """``{"prediction": {"expected": m, "p50": m, "p90": m}}`` each, in minutes."""
        minutes = {
            k: v.tolist()
            for k, v in self.predict_minutes(FlightColumns.from_flights(items)).items()
        }
        return [
            {
                "prediction": {
                    name: round(minutes[name][i], 2) for name in ("expected", "p50", "p90")
                }
            }
            for i in range(len(items))
        ]

    @classmethod
    def train(cls, data: Flights, **options: Any) -> DelayMinutes:
        """Fit on ``data`` (see :mod:`challenge_neuralworks.delay.build`)."""
        from challenge_neuralworks.delay.build import build_minutes

        return build_minutes(cls, data, **options)
