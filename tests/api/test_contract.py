"""The API contract, over real HTTP: the local twin in front of the real handler and models.

Each test states one promise of the contract (docs/api.md) and checks the exact answer: status,
content type and the error envelope ``{"error": {"code", "message", "field", ...}}``.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from challenge_neuralworks import __version__, handler
from challenge_neuralworks.local.samples import EXAMPLE_FLIGHT, SECOND_FLIGHT
from challenge_neuralworks.registry import Registry
from challenge_neuralworks.schemas import MAX_BODY_BYTES

ERROR_MEMBERS = {"code", "message", "field", "allowed", "suggestions"}
FIELDS = ["DIA-I", "MES-I", "HORA-I", "MIN-I", "DIANOM", "OPERA", "TIPOVUELO", "SIGLADES"]
FIELDS += ["DES-I", "VLO-I", "FECHA-I"]


def flight(**changes: Any) -> dict[str, Any]:
    """The original challenge request with ``changes`` (a ``None`` value removes the field)."""
    merged = {**EXAMPLE_FLIGHT, **changes}
    return {key: value for key, value in merged.items() if value is not None}


def error_of(response: httpx.Response, status: int, code: str, field: str | None) -> dict:
    """The error member, after checking status, content type and the envelope's exact shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) <= ERROR_MEMBERS, error
    assert (error["code"], error.get("field")) == (code, field), error
    assert isinstance(error["message"], str) and error["message"]
    return error


def predict(api: httpx.Client, body: Any, model: str = "delay") -> httpx.Response:
    return api.post(f"/inference/{model}", json=body)


@pytest.fixture(scope="module")
def description(twin_url: str) -> dict[str, Any]:
    """GET /models/delay (allowed values, limits)."""
    response = httpx.get(f"{twin_url}/models/delay", headers={"x-api-key": "local-dev-key"})
    assert response.status_code == 200
    return response.json()


# ------------------------------------------------------------------------- predictions
def test_the_original_challenge_request(api: httpx.Client) -> None:
    response = predict(api, EXAMPLE_FLIGHT)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    p_no_delay, p_delay = body["prediction"]
    assert 0 < p_delay < 1
    assert math.isclose(p_no_delay + p_delay, 1.0, abs_tol=1e-6)
    assert body["model"] == "delay"
    assert body["version"] == handler.registry.manifest("delay")["version"]
    assert body["delayed"] is (p_delay >= body["threshold"])


def test_a_destination_by_city_icao_or_iata_code_is_one_answer(api: httpx.Client) -> None:
    by_city = predict(api, EXAMPLE_FLIGHT).json()
    for destination in ({"DES-I": "SCSE"}, {"DES-I": "lsc"}, {"DES-I": "SCSE", "SIGLADES": None}):
        body = predict(api, flight(**destination)).json()
        assert body["prediction"] == by_city["prediction"], destination
    error_of(predict(api, flight(**{"DES-I": "SCFA"})), 400, "inconsistent_value", "SIGLADES")


def test_an_unseen_destination_is_served_with_a_warning(api: httpx.Client) -> None:
    from challenge_neuralworks.schemas import DelayPrediction, single_response

    response = predict(api, flight(SIGLADES=None, TIPOVUELO="I", **{"DES-I": "SASA"}))
    assert response.status_code == 200, response.text
    body = single_response(DelayPrediction).model_validate(response.json())
    assert [(w.code, w.field) for w in body.warnings or []] == [("unseen_destination", "SIGLADES")]
    assert "warnings" not in predict(api, EXAMPLE_FLIGHT).json()


def test_batch_keeps_order_and_agrees_with_single_predictions(
    api: httpx.Client, description: dict[str, Any]
) -> None:
    allowed = description["allowed_values"]
    flights = [
        EXAMPLE_FLIGHT,
        SECOND_FLIGHT,
        flight(**{"HORA-I": 23, "OPERA": allowed["OPERA"][0]}),
        flight(**{"DIA-I": 29, "MES-I": 2, "DIANOM": "Jueves", "MIN-I": 45}),
        flight(**{"FECHA-I": "2017-12-24 06:10", "DIA-I": None, "MES-I": None}),
    ]
    flights[4] = {k: v for k, v in flights[4].items() if k not in ("HORA-I", "DIANOM")}
    singles = []
    for item in flights:
        response = predict(api, item)
        assert response.status_code == 200, response.text
        singles.append(response.json()["prediction"])
    assert len({tuple(p) for p in singles}) > 1, "the flights should not all look alike"
    batch = predict(api, {"flights": flights})
    assert batch.status_code == 200
    assert [p["prediction"] for p in batch.json()["predictions"]] == singles
    reverse = predict(api, {"flights": flights[::-1]}).json()["predictions"]
    assert [p["prediction"] for p in reverse] == singles[::-1]


def test_delay_minutes_answers_minutes(api: httpx.Client) -> None:
    response = predict(api, EXAMPLE_FLIGHT, "delay_minutes")
    assert response.status_code == 200
    body = response.json()
    assert set(body["prediction"]) == {"expected", "p50", "p90"}
    assert body["prediction"]["p90"] >= body["prediction"]["p50"]
    assert (body["model"], body["version"]) == (
        "delay_minutes",
        handler.registry.manifest("delay_minutes")["version"],
    )


def test_richer_fields_are_accepted_and_change_the_prediction(api: httpx.Client) -> None:
    plain = predict(api, EXAMPLE_FLIGHT).json()["prediction"]
    richer = predict(api, flight(**{"MIN-I": 55, "VLO-I": "226"}))
    assert richer.status_code == 200
    assert richer.json()["prediction"] != plain


# ------------------------------------------------------------------------ invalid fields
def test_month_13(api: httpx.Client) -> None:
    error = error_of(predict(api, flight(**{"MES-I": 13})), 400, "out_of_range", "MES-I")
    assert error["allowed"] == list(range(1, 13))


def test_31_february(api: httpx.Client) -> None:
    error = error_of(predict(api, flight(**{"DIA-I": 31})), 400, "invalid_date", "DIA-I")
    assert error["allowed"] == list(range(1, 30))


def test_unknown_airline_lists_allowed_values_and_suggestions(
    api: httpx.Client, description: dict[str, Any]
) -> None:
    error = error_of(predict(api, flight(OPERA="Grupo LATM")), 400, "unknown_value", "OPERA")
    assert error["allowed"] == description["allowed_values"]["OPERA"]
    assert error["suggestions"][0] == "Grupo LATAM"


def test_unknown_destination(api: httpx.Client, description: dict[str, Any]) -> None:
    response = predict(api, flight(SIGLADES="La Serenna"))
    error = error_of(response, 400, "unknown_value", "SIGLADES")
    assert error["allowed"] == description["allowed_values"]["SIGLADES"]
    assert "La Serena" in error["suggestions"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("MES-I", "2"),  # a string for an integer
        ("MES-I", True),  # a boolean is not an integer
        ("HORA-I", 9.0),  # nor is a float with no fraction
        ("DIA-I", [3]),
        ("OPERA", 7),
        ("SIGLADES", ["La Serena"]),
    ],
)
def test_wrong_type(api: httpx.Client, field: str, value: Any) -> None:
    error_of(predict(api, flight(**{field: value})), 400, "wrong_type", field)


@pytest.mark.parametrize("field", ["OPERA", "TIPOVUELO", "SIGLADES", "DIA-I", "HORA-I"])
def test_missing_field(api: httpx.Client, field: str) -> None:
    error_of(predict(api, flight(**{field: None})), 400, "missing_field", field)


def test_unknown_field_suggests_the_nearest_name(api: httpx.Client) -> None:
    body = {**flight(DIANOM=None), "DIANON": "Viernes"}
    error = error_of(predict(api, body), 400, "unknown_field", "DIANON")
    assert error["suggestions"] == ["DIANOM"]
    assert error["allowed"] == FIELDS


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"FECHA-I": "2017-02-03 09:00", "DIA-I": 4}, "DIA-I", 3),
        ({"FECHA-I": "2017-02-03 09:00", "DIANOM": "Lunes"}, "DIANOM", "Viernes"),
        ({"FECHA-I": "2017-02-03 10:00"}, "HORA-I", 10),
    ],
)
def test_fecha_i_must_agree_with_the_other_date_fields(
    api: httpx.Client, changes: dict[str, Any], field: str, expected: Any
) -> None:
    error = error_of(predict(api, flight(**changes)), 400, "inconsistent_date", field)
    assert error["allowed"] == [expected]


def test_fecha_i_must_be_a_real_date(api: httpx.Client) -> None:
    body = {**flight(**{"DIA-I": None, "MES-I": None}), "FECHA-I": "2017-02-30 09:00"}
    error_of(predict(api, body), 400, "invalid_date", "FECHA-I")


def test_tipovuelo_contradicting_siglades(api: httpx.Client) -> None:
    error = error_of(predict(api, flight(TIPOVUELO="I")), 400, "inconsistent_value", "TIPOVUELO")
    assert error["allowed"] == ["N"]


def test_an_invalid_batch_item_is_named_by_its_path(api: httpx.Client) -> None:
    body = {"flights": [EXAMPLE_FLIGHT, EXAMPLE_FLIGHT, flight(**{"MES-I": 0})]}
    error_of(predict(api, body), 400, "out_of_range", "flights[2].MES-I")
    error_of(predict(api, {"flights": [EXAMPLE_FLIGHT, 3]}), 400, "wrong_type", "flights[1]")
    error_of(predict(api, {"flights": "x"}), 400, "wrong_type", "flights")
    body = {"flights": [EXAMPLE_FLIGHT], "OPERA": "Grupo LATAM"}
    error_of(predict(api, body), 400, "unknown_field", "OPERA")


# ---------------------------------------------------------------------- bodies and sizes
def test_batch_over_the_limit_is_413(api: httpx.Client, description: dict[str, Any]) -> None:
    limit = description["max_batch"]
    assert predict(api, {"flights": [EXAMPLE_FLIGHT] * limit}).status_code == 200
    response = predict(api, {"flights": [EXAMPLE_FLIGHT] * (limit + 1)})
    error_of(response, 413, "batch_too_large", "flights")


def test_body_over_1_mb_is_413(api: httpx.Client) -> None:
    padding = "x" * (MAX_BODY_BYTES + 1 - len(json.dumps({**EXAMPLE_FLIGHT, "pad": ""})))
    content = json.dumps({**EXAMPLE_FLIGHT, "pad": padding})
    assert len(content) == MAX_BODY_BYTES + 1
    response = api.post("/inference/delay", content=content)
    error_of(response, 413, "payload_too_large", None)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_body"),
        (b"   \n", "empty_body"),
        (b'{"DIA-I": 3,', "invalid_json"),
        (b"NaN-ish", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),  # not UTF-8: the gateway base64-encodes it
        (b"[]", "invalid_body"),
        (b'"a string"', "invalid_body"),
        (b"3", "invalid_body"),
        (b"null", "invalid_body"),
    ],
)
def test_bodies_that_are_not_a_json_object(api: httpx.Client, content: bytes, code: str) -> None:
    response = api.post(
        "/inference/delay", content=content, headers={"content-type": "application/json"}
    )
    error_of(response, 400, code, None)


# ---------------------------------------------------------------------- routes and methods
@pytest.mark.parametrize("path", ["/inference/no_such_model", "/inference/Delay"])
def test_unknown_model_is_404_with_the_allowed_names(
    api: httpx.Client, path: str, served_models: list[str]
) -> None:
    error = error_of(api.post(path, json=EXAMPLE_FLIGHT), 404, "model_not_found", "model_name")
    assert error["allowed"] == served_models
    error = error_of(api.get("/models/nope"), 404, "model_not_found", "model_name")
    assert error["allowed"] == served_models


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/inference/delay", "POST"),
        ("PUT", "/inference/delay", "POST"),
        ("DELETE", "/models", "GET"),
        ("POST", "/health", "GET"),
        ("PATCH", "/models/delay", "GET"),
    ],
)
def test_wrong_method_is_405_with_allow(
    api: httpx.Client, method: str, path: str, allow: str
) -> None:
    response = api.request(method, path)
    error = error_of(response, 405, "method_not_allowed", None)
    assert response.headers["allow"] == allow
    assert error["allowed"] == [allow]


def test_models_lists_both_models_with_versions(
    api: httpx.Client, served_models: list[str]
) -> None:
    response = api.get("/models")
    assert response.status_code == 200
    models = response.json()["models"]
    assert [m["name"] for m in models] == served_models
    for model in models:
        assert model["status"] == "available"
        assert model["version"] == handler.registry.manifest(model["name"])["version"]
        assert isinstance(model["metrics"], dict)


def test_model_description_has_schema_and_allowed_values(description: dict[str, Any]) -> None:
    schema = description["input_schema"]
    assert list(schema["properties"]) == FIELDS
    assert set(schema["required"]) == {"OPERA", "TIPOVUELO"}  # SIGLADES or DES-I
    assert schema["additionalProperties"] is False
    allowed = description["allowed_values"]
    assert {"Grupo LATAM", "Sky Airline"} <= set(allowed["OPERA"])
    assert {"La Serena", "Buenos Aires"} <= set(allowed["SIGLADES"])
    assert allowed["TIPOVUELO"] == ["I", "N"]
    assert len(allowed["DIANOM"]) == 7
    assert description["max_batch"] >= 1
    assert description["version"] == handler.registry.manifest("delay")["version"]


def test_health(api: httpx.Client, served_models: list[str]) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["version"]) == ("ok", __version__)
    assert set(body["models"]) == set(served_models)
    assert set(body["models"].values()) <= {"loaded", "not_loaded"}


# --------------------------------------------------------------- a refused artifact: 503
def test_a_tampered_artifact_is_503_and_the_other_model_keeps_serving(
    api: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    committed = handler.registry.models_dir
    shutil.copytree(committed / "delay", tmp_path / "delay")
    (tmp_path / "delay_minutes").symlink_to(committed / "delay_minutes")
    artifact = tmp_path / "delay" / handler.registry.manifest("delay")["artifact"]
    payload = bytearray(artifact.read_bytes())
    payload[-10] ^= 0xFF
    artifact.write_bytes(bytes(payload))
    monkeypatch.setattr(handler, "registry", Registry(tmp_path))

    error = error_of(predict(api, EXAMPLE_FLIGHT), 503, "model_unavailable", None)
    assert "sha256 mismatch" in error["message"]
    error_of(api.get("/models/delay"), 503, "model_unavailable", None)
    assert predict(api, EXAMPLE_FLIGHT, "delay_minutes").status_code == 200
    listing = {m["name"]: m for m in api.get("/models").json()["models"]}
    assert listing["delay_minutes"]["status"] == "available"
    health = api.get("/health").json()["models"]
    assert health["delay"].startswith("unavailable: sha256 mismatch")
    assert health["delay_minutes"] == "loaded"
