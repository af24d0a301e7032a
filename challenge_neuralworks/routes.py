"""The API's routes, declared once.

Everything that needs to know the routes derives them from :data:`ROUTES`: the handler registers
its functions on them, the OpenAPI document lists them, the local twin builds its API Gateway
resource table from them, and ``infra/routes.json`` (what Terraform creates the API Gateway
resources and methods from) is generated from them and checked against them by a test.

Paths are API Gateway resource templates (``/models/{model_name}``); :func:`resolver_rule`
gives the same path in Powertools' rule syntax (``/models/<model_name>``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Final, Literal

from pydantic import BaseModel

from challenge_neuralworks.schemas import (
    MAX_DEPARTURES,
    DeparturesAccepted,
    DeparturesRequest,
    HealthResponse,
    ModelDescription,
    ModelList,
)

#: ``API_KEY``: the ``x-api-key`` header and its usage plan. ``AWS_IAM``: a SigV4-signed request
#: from an allowed IAM principal, *and* an API key.
Authorization = Literal["API_KEY", "AWS_IAM"]

_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    """One method on one resource."""

    method: str
    path: str
    #: The handler function's name.
    name: str
    summary: str
    authorization: Authorization = "API_KEY"
    #: The answer's shape; ``None`` when the body is a model's input and the answer its output
    #: (each model has its own: ``Model.input_model`` / ``Model.output_model``).
    response: type[BaseModel] | None = None
    #: The body's shape on a route that takes one and is not a model's input.
    request: type[BaseModel] | None = None
    #: Error statuses the handler itself may answer (besides API Gateway's 403 and 429).
    errors: tuple[int, ...] = ()
    description: str = field(default="", repr=False)

    @property
    def parameters(self) -> tuple[str, ...]:
        """Path parameter names, in order (``("model_name",)``)."""
        return tuple(_PARAMETER.findall(self.path))


ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "POST",
        "/inference/{model_name}",
        "inference",
        "Predict one flight, or a batch of flights",
        errors=(400, 404, 413, 503),
        description=(
            "One flight in the original challenge's fields gives one prediction; "
            '`{"flights": [...]}` gives `predictions` in the same order. Each model answers '
            "with its own shape (below). The destination is named by city (`SIGLADES`) or by "
            "airport code (`DES-I`: ICAO as in the data, or IATA), or both; every name resolves "
            "to one airport of the model's reference data. A real destination, route or flight "
            "number the model never saw in training is served, and the answer's `warnings` say "
            "what the features fell back to (`unseen_destination`, `unseen_route`, "
            "`unseen_flight_number`)."
        ),
    ),
    Route(
        "GET",
        "/models",
        "list_models",
        "Every model with its version and metrics",
        response=ModelList,
        description="Reads the manifests only: an unavailable model is listed with its reason.",
    ),
    Route(
        "GET",
        "/models/{model_name}",
        "describe_model",
        "One model's input schema, allowed values and metrics",
        response=ModelDescription,
        errors=(404, 503),
    ),
    Route(
        "POST",
        "/departures",
        "report_departures",
        "Report actual departures (the operations feed)",
        authorization="AWS_IAM",
        request=DeparturesRequest,
        response=DeparturesAccepted,
        errors=(400, 413, 503),
        description=(
            f"Up to {MAX_DEPARTURES:,} departures that have happened, for `delay_nowcast`'s "
            "live context. Idempotent on airline, flight number and scheduled time (a repeated "
            "report replaces the earlier one); late and out-of-order reports are accepted. "
            "Signed with SigV4 by the feed's IAM role in addition to the API key (the local twin: "
            "the `x-ingest-key` header). 503 when the departures store cannot be written."
        ),
    ),
    Route(
        "GET",
        "/health",
        "health",
        "Liveness and each model's load state",
        response=HealthResponse,
        errors=(503,),
        description=(
            "Verifies every manifest and artifact size at start-up and loads nothing: a model "
            "is loaded by its first prediction. 503 when no model can serve."
        ),
    ),
)


def resources() -> tuple[str, ...]:
    """Distinct resource templates, in declaration order."""
    return tuple(dict.fromkeys(route.path for route in ROUTES))


def by_name(name: str) -> Route:
    """The route whose handler function is ``name``."""
    for route in ROUTES:
        if route.name == name:
            return route
    raise KeyError(f"no route named {name!r}; routes: {[r.name for r in ROUTES]}")


def methods(path: str) -> tuple[str, ...]:
    """The methods declared on one resource template."""
    return tuple(route.method for route in ROUTES if route.path == path)


def resolver_rule(path: str) -> str:
    """``/models/{model_name}`` -> ``/models/<model_name>`` (Powertools' route syntax)."""
    return _PARAMETER.sub(r"<\1>", path)


def to_json() -> str:
    """``infra/routes.json``: the routes as Terraform reads them (``jsondecode(file(...))``)."""
    return (
        json.dumps(
            {
                "generated_from": "challenge_neuralworks/routes.py",
                "routes": [
                    {
                        "method": route.method,
                        "path": route.path,
                        "name": route.name,
                        "authorization": route.authorization,
                    }
                    for route in ROUTES
                ],
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":  # python -m challenge_neuralworks.routes > infra/routes.json
    print(to_json(), end="")
