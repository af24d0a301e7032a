"""The Lambda entry point, ``lambda_handler(event, context)``, and the app factory behind it.

Routes are declared once in :mod:`challenge_neuralworks.routes`; :func:`create_handler` binds
each to the method of the same name on :class:`_Routes` in a Powertools
``APIGatewayRestResolver`` (routing, exception handlers, the 405s of every resource), with its
dependencies injected: the model registry, the clock, the metrics and capture sinks and the
departures store (the live context of models that declare a ``departures_lookback``). Tests, the
docs generator, the bench and the twin build the handler they need with :func:`create_handler`;
the Lambda function uses the module-level default, built once per container at import (a warm
container never reloads a model), from the environment (:mod:`challenge_neuralworks.environment`).

Every answer other than a prediction is an :class:`~challenge_neuralworks.errors.APIError`
raised by a route and answered by one exception handler; anything else is a bug, logged with its
traceback and answered with a generic 500 that leaks nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as _RouteNotFound
from pydantic import ValidationError

from challenge_neuralworks import __version__, routes
from challenge_neuralworks.capture import Capture
from challenge_neuralworks.departures import store_from_environment
from challenge_neuralworks.departures.feed import DepartureFeed
from challenge_neuralworks.departures.records import (
    DepartureStore,
    StoreUnavailableError,
    local_time,
)
from challenge_neuralworks.errors import (
    APIError,
    BadRequestError,
    InputError,
    InternalServerError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    ServiceUnavailableError,
    clip,
    echo,
)
from challenge_neuralworks.logs import configure_logging, log_request, request_fields
from challenge_neuralworks.model import Context, Model
from challenge_neuralworks.registry import ModelNotFoundError, ModelUnavailableError, Registry
from challenge_neuralworks.schemas import (
    MAX_BODY_BYTES,
    MAX_DEPARTURES,
    BatchRequest,
    DepartureReport,
    DeparturesRequest,
    input_error_from_validation,
    resolve_departure,
    validate_item,
)
from challenge_neuralworks.telemetry import (
    UNKNOWN_MODEL,
    Observation,
    RequestMetrics,
    metrics_from_environment,
)

logger = logging.getLogger("challenge_neuralworks.handler")

LambdaHandler = Callable[[Any, Any], dict[str, Any]]

#: Refusals that are captured like predictions: values the model does not know are drift.
CAPTURED_REFUSALS = frozenset({"unknown_value"})
#: The methods an API Gateway ``ANY`` method stands for: each resource answers the ones it does
#: not declare with 405 and ``Allow``.
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_JSON = "application/json"


#: The answers' JSON: compact, UTF-8 as is, no NaN. One encoder for every answer:
#: ``json.dumps`` with options builds a new one per call (2.6 µs against 3.4 for an answer).
_dumps: Callable[[Any], str] = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


class _Routes:
    """The route functions (one per :data:`~challenge_neuralworks.routes.ROUTES` entry, same
    name), over their injected dependencies."""

    def __init__(
        self,
        app: APIGatewayRestResolver,
        registry: Registry,
        clock: Callable[[], float],
        capture: Capture,
        departures: DepartureStore | None,
    ) -> None:
        self._app = app
        self.registry = registry
        self._clock = clock
        self._capture = capture
        self.departures = None if departures is None else DepartureFeed(departures)
        #: What the request being served did (reset by the handler for each request).
        self.observation = Observation()

    def health(self) -> Response:
        """Liveness and each model's state (manifests verified, nothing loaded); 503 when no
        model can serve."""
        servable = self.registry.servable()
        body = {
            "status": "ok" if servable else "unavailable",
            "version": __version__,
            "models": self.registry.status(),
        }
        return Response(200 if servable else 503, _JSON, body)

    def list_models(self) -> dict[str, Any]:
        """Every model with its version and headline metrics, from the manifests."""
        models = []
        for name in self.registry.names():
            try:
                manifest = self.registry.manifest(name)
            except ModelUnavailableError as exc:
                models.append({"name": name, "status": "unavailable", "reason": exc.reason})
                continue
            models.append(
                {
                    "name": name,
                    "version": manifest["version"],
                    "status": "available",
                    "metrics": manifest.get("metrics", {}),
                }
            )
        return {"models": models}

    def describe_model(self, model_name: str) -> dict[str, Any]:
        """Input schema, allowed values and metrics of one model."""
        return self._model(model_name).describe()

    def inference(self, model_name: str) -> dict[str, Any]:
        """Predict one flight (original contract) or a batch (``{"flights": [...]}``)."""
        model = self._model(model_name)
        payload = _json_object(self._app.current_event.raw_event)
        explain = _explain_option(self._app.current_event.raw_event)
        if "flights" in payload:
            batch = _batch(model, payload)
            context = self._context(model, explain or batch.explain)
            prefixes = [f"flights[{i}]" for i in range(len(batch.flights))]
            results = self._predict(model, batch.flights, prefixes, context)
            return {"predictions": results, "model": model.name, "version": model.version}
        context = self._context(model, explain)
        (result,) = self._predict(model, [payload], [""], context)
        return {**result, "model": model.name, "version": model.version}

    def _predict(
        self, model: Model, items: list[Any], prefixes: list[str], context: Context
    ) -> list[dict[str, Any]]:
        """Validate and predict, timed and summarised for the request's metrics, captured
        (sampled) for the drift monitor."""
        started = time.perf_counter()
        try:
            parsed = [
                model.parse(item, prefix, context)
                for item, prefix in zip(items, prefixes, strict=True)
            ]
        except InputError as error:
            if error.code in CAPTURED_REFUSALS:
                self._capture_refusal(model, items, prefixes, error)
            raise
        results = model.predict(parsed, context)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if self._capture.enabled:
            self._capture.record(
                model=model,
                event=self._app.current_event.raw_event,
                context=self._app.lambda_context,
                items=items,
                parsed=parsed,
                answers=results,
                features=context.features[0] if context.features else None,
            )
        observation = self.observation
        observation.model_ms = elapsed_ms
        observation.predictions = len(results)
        observation.summary = model.summary_metrics(results)
        return results

    def _context(self, model: Model, explain: bool) -> Context:
        if explain and not model.explainable:
            raise BadRequestError(
                f"model {model.name} does not explain its predictions",
                code="unsupported_option",
                field="explain",
            )
        now = self._clock()
        departures = None
        if model.departures_lookback and self.departures is not None:
            departures = self.departures.snapshot(now, model.departures_lookback)
        return Context(
            now=now,
            explain=explain,
            features=[] if self._capture.enabled else None,
            departures=departures,
        )

    def report_departures(self) -> dict[str, Any]:
        """Store reported actual departures (idempotent; the live context of nowcasts)."""
        if self.departures is None:
            raise ServiceUnavailableError(
                "no departures store is configured", code="departures_unavailable"
            )
        payload = _json_object(self._app.current_event.raw_event)
        try:
            batch = DeparturesRequest.model_validate(payload)
        except ValidationError as exc:
            raise input_error_from_validation(exc, model=DeparturesRequest) from None
        if len(batch.departures) > MAX_DEPARTURES:
            raise PayloadTooLargeError(
                f"{len(batch.departures)} departures in one request; the limit is {MAX_DEPARTURES}",
                code="batch_too_large",
                field="departures",
            )
        now = self._clock()
        local_now = local_time(now)
        departures = []
        for i, item in enumerate(batch.departures):
            prefix = f"departures[{i}]"
            report = validate_item(DepartureReport, item, prefix)
            try:
                departures.append(resolve_departure(report, now=local_now))
            except InputError as exc:
                raise exc.prefixed(prefix) from None
        try:
            result = self.departures.store.put(departures, now=now)
        except StoreUnavailableError as exc:
            logger.warning(
                "departures not stored",
                extra={"store": self.departures.store.describe(), "error": repr(exc.__cause__)},
            )
            raise ServiceUnavailableError(str(exc), code="departures_unavailable") from None
        self.departures.invalidate()
        return {"received": len(departures), "stored": result.stored, "expired": result.expired}

    def _capture_refusal(
        self, model: Model, items: list[Any], prefixes: list[str], error: InputError
    ) -> None:
        """Capture the refused item (a destination the model never saw is drift too)."""
        if not self._capture.enabled:
            return
        field = error.field or ""
        for item, prefix in zip(items, prefixes, strict=True):
            if not prefix or field.startswith(prefix + "."):
                self._capture.record_rejection(
                    model=model,
                    event=self._app.current_event.raw_event,
                    context=self._app.lambda_context,
                    item=item,
                    error=error.body(),
                )
                return

    def _model(self, name: str) -> Model:
        # API Gateway passes the decoded path parameter; Powertools' route key is the raw one.
        parameters = self._app.current_event.raw_event.get("pathParameters") or {}
        name = parameters.get("model_name", name)
        try:
            model = self.registry.get(name)
        except ModelNotFoundError as exc:
            self.observation.model = UNKNOWN_MODEL
            raise NotFoundError(
                f"no model named {echo(name)}",
                code="model_not_found",
                field="model_name",
                allowed=exc.available,
            ) from None
        except ModelUnavailableError as exc:
            self.observation.model = name  # a directory of models/, not a client's string
            raise ServiceUnavailableError(exc.reason) from None
        self.observation.model = model.name
        self.observation.version = model.version
        return model


def create_handler(
    registry: Registry,
    *,
    clock: Callable[[], float] = time.time,
    metrics: RequestMetrics | None = None,
    capture: Capture | None = None,
    departures: DepartureStore | None = None,
) -> LambdaHandler:
    """A Lambda handler serving ``registry``'s models; ``clock`` (epoch seconds) is the "now"
    of every request (it decides the year of a request that gives none); ``metrics`` receives
    each request's observation (default: EMF where the environment says, see
    :mod:`challenge_neuralworks.telemetry`); ``capture`` samples predictions for the drift
    monitor (default: as the environment says, see :mod:`challenge_neuralworks.capture`);
    ``departures`` is the store ``POST /departures`` writes and nowcasts read (``None``: that
    route answers 503 and nowcasts predict from the schedule only)."""
    app = APIGatewayRestResolver(serializer=_dumps)
    capture = capture or Capture.from_environment()
    functions = _Routes(app, registry, clock, capture, departures)
    metrics = metrics or metrics_from_environment()
    invocations = 0
    for route in routes.ROUTES:
        app.route(routes.resolver_rule(route.path), route.method)(getattr(functions, route.name))
    for path in routes.resources():
        allowed = routes.methods(path)
        others = [method for method in HTTP_METHODS if method not in allowed]
        app.route(routes.resolver_rule(path), others)(_method_not_allowed(path, allowed))

    def answer(error: APIError) -> Response:
        functions.observation.code = error.code
        return _error_response(error)

    @app.not_found
    def _no_route(_: _RouteNotFound) -> Response:
        path = app.current_event.raw_event.get("path") or ""
        return answer(NotFoundError(f"no route for {clip(str(path))}", code="route_not_found"))

    @app.exception_handler(APIError)
    def _api_error(error: APIError) -> Response:
        return answer(error)

    @app.exception_handler(Exception)
    def _bug(error: Exception) -> Response:
        logger.exception("unhandled error", extra={"path": app.current_event.raw_event.get("path")})
        return answer(InternalServerError("internal error; the request id is in the logs"))

    def handle(event: Any, context: Any) -> dict[str, Any]:
        nonlocal invocations
        invocations += 1
        started = time.perf_counter()
        proxy_event = _proxy_event(event)
        functions.observation = observation = Observation()
        fields = {
            "function_request_id": getattr(context, "aws_request_id", None),
            "apigw_request_id": _gateway_request_id(proxy_event),
            "cold_start": invocations == 1,
        }
        with request_fields(fields):
            if proxy_event is None:
                error = BadRequestError(
                    "the event is not an API Gateway REST proxy event", code="invalid_event"
                )
                observation.code = error.code
                response = _single_value_headers(_proxy_response(error))
            else:
                response = _single_value_headers(app.resolve(proxy_event, context))
            observation.status = response["statusCode"]
            metrics.record(observation)
            log_request(
                request_id=fields["apigw_request_id"] or fields["function_request_id"] or "local",
                method=(proxy_event or {}).get("httpMethod"),
                path=(proxy_event or {}).get("path"),
                status=observation.status,
                latency_ms=(time.perf_counter() - started) * 1000,
            )
        return response

    handle.registry = registry  # type: ignore[attr-defined]
    handle.departures = functions.departures  # type: ignore[attr-defined]
    handle.app = app  # type: ignore[attr-defined]
    return handle


def _method_not_allowed(path: str, allowed: tuple[str, ...]) -> Callable[..., Response]:
    def answer(**_: str) -> Response:
        raise MethodNotAllowedError(
            f"this method is not allowed on {path}; use {', '.join(allowed)}",
            allowed=list(allowed),
            headers={"Allow": ", ".join(allowed)},
        )

    return answer


def _error_response(error: APIError) -> Response:
    return Response(error.status, _JSON, error.body(), headers=error.headers or None)


def _proxy_response(error: APIError) -> dict[str, Any]:
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": _JSON, **error.headers},
        "body": _dumps(error.body()),
        "isBase64Encoded": False,
    }


def _single_value_headers(response: dict[str, Any]) -> dict[str, Any]:
    """Powertools answers REST events with ``multiValueHeaders``; this API answers ``headers``
    (one value each), as it always has."""
    multi = response.pop("multiValueHeaders", None)
    if multi is not None:
        response["headers"] = {name: ", ".join(values) for name, values in multi.items()}
    return response


#: The request headers the app reads (lower case): only Powertools' response compression check
#: (``Accept-Encoding``). Handing Powertools no others spares every request the case-folded copy
#: of all its headers that the check builds (~10 µs a request, docs/architecture.md).
READ_HEADERS: Final[frozenset[str]] = frozenset({"accept-encoding"})


def _proxy_event(event: Any) -> dict[str, Any] | None:
    """The parts of a REST proxy event Powertools reads, each of the right type; ``None`` when
    the event is not one (a direct invoke with a wrong payload is a 400, not a crash)."""
    if not _is_mapping(event) or not isinstance(event.get("httpMethod"), str):
        return None
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        return None
    parameters = event.get("pathParameters") or None
    if parameters is not None and (
        not _is_mapping(parameters)
        or not all(isinstance(value, str) for value in parameters.values())
    ):
        return None
    headers = _string_map(event.get("headers"), READ_HEADERS)
    context = event.get("requestContext")
    return {
        "resource": _string(event.get("resource")),
        "path": _string(event.get("path")) or "/",
        "httpMethod": event["httpMethod"].upper(),
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": _string_map(event.get("queryStringParameters")) or None,
        "multiValueQueryStringParameters": None,
        "pathParameters": dict(parameters) if parameters else None,
        "stageVariables": None,
        "requestContext": dict(context) if _is_mapping(context) else {},
        "body": body,
        "isBase64Encoded": event.get("isBase64Encoded") is True,
    }


def _is_mapping(value: Any) -> bool:
    """``isinstance(value, Mapping)``, answered without the ABC check for a plain dict (what
    Lambda and the twin pass): ~0.25 µs less for each of the event's five mappings."""
    return type(value) is dict or isinstance(value, Mapping)


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _string_map(value: Any, names: frozenset[str] | None = None) -> dict[str, str]:
    """The string entries of ``value`` (only those named in ``names``, lower case, if given)."""
    if not _is_mapping(value):
        return {}
    if names is None:
        return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}
    return {
        k: v
        for k, v in value.items()
        if isinstance(k, str) and k.lower() in names and isinstance(v, str)
    }


def _gateway_request_id(event: Mapping[str, Any] | None) -> str | None:
    """API Gateway's ``requestContext.requestId`` (absent in direct invokes)."""
    request_context = (event or {}).get("requestContext")
    value = request_context.get("requestId") if isinstance(request_context, dict) else None
    return clip(value, 128) if isinstance(value, str) else None


def _body(event: Mapping[str, Any]) -> str | None:
    """The request body as text (base64 decoded when the gateway encoded it)."""
    body = event.get("body")
    if body is None or not event.get("isBase64Encoded"):
        return body
    try:
        return base64.b64decode(body, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # not base64, not UTF-8, or non-ASCII text
        return "\x00invalid"  # not JSON: answered as invalid_json


def _json_object(event: Mapping[str, Any]) -> dict[str, Any]:
    """The request body as a JSON object: 413 over :data:`MAX_BODY_BYTES`, 400 when it is
    absent, not JSON or not an object."""
    body = _body(event)
    if body is not None:
        size = len(body.encode("utf-8", "surrogatepass"))
        if size > MAX_BODY_BYTES:
            raise PayloadTooLargeError(f"the body has {size} bytes; the limit is {MAX_BODY_BYTES}")
    payload = _json(body)
    if not isinstance(payload, dict):
        raise BadRequestError("the body must be a JSON object", code="invalid_body")
    return payload


def _json(body: str | None) -> Any:
    """The body parsed as JSON; 400 when it is absent or not JSON."""
    if body is None or not body.strip():
        raise BadRequestError("the request body is empty; send a JSON object", code="empty_body")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError is a ValueError; so is an integer longer than Python's int/str
        # conversion limit (4300 digits), which must be a 400 too, not a 500.
        if isinstance(exc, json.JSONDecodeError):
            detail = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        elif isinstance(exc, RecursionError):
            detail = "nesting too deep"
        else:
            detail = "a number has too many digits"
        raise BadRequestError(
            f"the request body is not valid JSON: {detail}", code="invalid_json"
        ) from None


def _batch(model: Model, payload: dict[str, Any]) -> BatchRequest:
    try:
        batch = BatchRequest.model_validate(payload)
    except ValidationError as exc:
        raise input_error_from_validation(exc, model=BatchRequest) from None
    if len(batch.flights) > model.max_batch:
        raise PayloadTooLargeError(
            f"{len(batch.flights)} flights in one request; the limit is {model.max_batch}",
            code="batch_too_large",
            field="flights",
        )
    return batch


#: The query parameters ``POST /inference/<model>`` reads (the OpenAPI document lists them).
INFERENCE_QUERY_PARAMETERS: Final[tuple[str, ...]] = ("explain",)


def _explain_option(event: Mapping[str, Any]) -> bool:
    """``?explain=true|false`` (absent: false); anything else is a 400 naming the option, and
    so is a query parameter the route does not read (strict, like unknown body fields)."""
    query = event.get("queryStringParameters") or {}
    for name in query:
        if name not in INFERENCE_QUERY_PARAMETERS:
            raise BadRequestError(
                f"unknown query parameter {echo(name)}",
                code="unknown_field",
                field=clip(name),
                allowed=list(INFERENCE_QUERY_PARAMETERS),
            )
    value = query.get("explain")
    if value is None or value in ("false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise BadRequestError(
        f"explain must be true or false, got {echo(value)}",
        code="invalid_value",
        field="explain",
        allowed=["true", "false"],
    )


# ------------------------------------------------------------- the Lambda function's default
configure_logging()
#: The models this function serves (tests and tools may swap it: ``lambda_handler`` follows).
registry = Registry.from_environment()
registry.verify()  # /health tells the truth from the first request on
#: Where reported departures live: DynamoDB in AWS, a SQLite file locally (opened on first use).
departures = store_from_environment()
_default = create_handler(registry, departures=departures)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """AWS Lambda handler (also served locally by ``python -m challenge_neuralworks serve``)."""
    global _default  # noqa: PLW0603 - the per-container default, rebuilt if the registry is swapped
    if _default.registry is not registry:  # type: ignore[attr-defined]
        _default = create_handler(registry, departures=departures)
    return _default(event, context)
