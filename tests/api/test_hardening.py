"""Nothing a client sends and no single broken file gives a 5xx (beyond one model's 503).

Straight into :func:`~challenge_neuralworks.handler.create_handler`'s handler, in process: error
answers stay small whatever the size of what they echo, and faults of the models directory stay
local to the model they hit. "Unreadable" needs permission bits to matter: as root, the
scenarios run in a child process without the capabilities that bypass them (``setpriv``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from challenge_neuralworks.environment import DEFAULT_MODELS_DIR
from challenge_neuralworks.handler import create_handler
from challenge_neuralworks.local.samples import SampleRequest, render_event
from challenge_neuralworks.registry import Registry
from challenge_neuralworks.schemas import EXAMPLE_FLIGHT, MAX_BODY_BYTES, FlightRequest

#: An answer (the whole Lambda response, as the runtime returns it) must stay under this.
ERROR_BUDGET_BYTES = 8 * 1024
#: 200,000 astral-plane characters: 800 KB of UTF-8, under the 1 MB body limit.
HUGE = "\U0001f6eb" * 200_000
HALF = HUGE[:100_000]
FIELDS = [info.alias for info in FlightRequest.model_fields.values()]


@pytest.fixture(scope="module")
def handler() -> Any:
    return create_handler(Registry(DEFAULT_MODELS_DIR))


def call(handler: Any, method: str, path: str, body: Any = None, raw: str | None = None) -> dict:
    event = render_event(SampleRequest("x", method, path, None))
    if raw is not None or body is not None:
        event["body"] = raw if raw is not None else json.dumps(body, ensure_ascii=False)
    return handler(event, None)


def size_of(response: dict) -> int:
    return len(json.dumps(response).encode("utf-8"))


# ---------------------------------------------------------------------- bounded answers
@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
def test_an_oversized_value_in_any_field_gives_a_small_4xx(
    handler: Any, field: str, batch: bool
) -> None:
    item = {**EXAMPLE_FLIGHT, field: HUGE}
    body = {"flights": [EXAMPLE_FLIGHT, item]} if batch else item
    response = call(handler, "POST", "/inference/delay", body)
    assert 400 <= response["statusCode"] < 500, response["body"][:300]
    assert size_of(response) < ERROR_BUDGET_BYTES, size_of(response)
    error = json.loads(response["body"])["error"]
    assert error["field"] == (f"flights[1].{field}" if batch else field)


@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
@pytest.mark.parametrize("value", [1, HALF], ids=["small_value", "huge_value"])
def test_an_oversized_unknown_key_gives_a_small_4xx(handler: Any, batch: bool, value: Any) -> None:
    item = {**EXAMPLE_FLIGHT, HALF: value}
    body = {"flights": [item]} if batch else item
    response = call(handler, "POST", "/inference/delay", body)
    assert response["statusCode"] == 400
    assert size_of(response) < ERROR_BUDGET_BYTES, size_of(response)
    assert json.loads(response["body"])["error"]["code"] == "unknown_field"


def test_an_oversized_key_next_to_flights_gives_a_small_4xx(handler: Any) -> None:
    response = call(handler, "POST", "/inference/delay", {"flights": [EXAMPLE_FLIGHT], HUGE: 1})
    assert response["statusCode"] == 400
    assert size_of(response) < ERROR_BUDGET_BYTES


@pytest.mark.parametrize(
    "path",
    ["/inference/" + "x" * 50_000, "/models/" + "\U0001f6eb" * 20_000, "/" + "y" * 50_000],
    ids=["model_name", "astral_model_name", "unknown_route"],
)
def test_oversized_paths_give_a_small_404(handler: Any, path: str) -> None:
    event = render_event(SampleRequest("x", "GET", "/health", None))
    method = "POST" if path.startswith("/inference/") else "GET"
    event.update(path=path, resource=path, pathParameters=None, httpMethod=method)
    response = handler(event, None)
    assert response["statusCode"] == 404
    assert size_of(response) < ERROR_BUDGET_BYTES


def test_the_body_limit_counts_utf8_bytes_as_api_gateway_does(handler: Any) -> None:
    """2.4 MB of astral characters is 600,000 characters: under a character limit, over the
    byte limit. Counted in characters it reached the model and produced an 11 MB error."""
    body = json.dumps({**EXAMPLE_FLIGHT, "OPERA": "\U0001f6eb" * 600_000}, ensure_ascii=False)
    assert len(body) < MAX_BODY_BYTES < len(body.encode("utf-8"))
    response = call(handler, "POST", "/inference/delay", raw=body)
    assert response["statusCode"] == 413
    assert size_of(response) < ERROR_BUDGET_BYTES


def test_a_lone_surrogate_in_the_body_is_a_400(handler: Any) -> None:
    response = call(handler, "POST", "/inference/delay", raw='{"OPERA": "\ud800"}')
    assert response["statusCode"] == 400


def test_a_huge_integer_is_echoed_as_a_size_not_its_digits(handler: Any) -> None:
    response = call(handler, "POST", "/inference/delay", raw='{"MES-I": ' + "9" * 4000 + "}")
    assert response["statusCode"] == 400
    assert size_of(response) < ERROR_BUDGET_BYTES


def test_the_app_sees_only_the_request_headers_it_reads(handler: Any) -> None:
    """The API key (and every other header) never reaches the resolver's event, so no route,
    log line or capture can pick it up; Accept-Encoding does (Powertools' compression check)."""
    event = render_event(SampleRequest("x", "GET", "/health", None))
    event["headers"] = {
        **event["headers"],
        "x-api-key": "a-client-key",
        "Accept-Encoding": "gzip",
        "X-Not-A-String": 5,
    }
    assert handler(event, None)["statusCode"] == 200
    assert handler.app.current_event.raw_event["headers"] == {"Accept-Encoding": "gzip"}
    assert handler.app.current_event.raw_event["multiValueHeaders"] == {"Accept-Encoding": ["gzip"]}


# ------------------------------------------------------------------ faults stay local
_SCENARIO = """
import json, sys
from challenge_neuralworks.handler import create_handler
from challenge_neuralworks.local.samples import SampleRequest, render_event
from challenge_neuralworks.registry import Registry
from challenge_neuralworks.schemas import EXAMPLE_FLIGHT

handler = create_handler(Registry(sys.argv[1]))
out = {}
for name, method, path, body in [
    ("health", "GET", "/health", None),
    ("models", "GET", "/models", None),
    ("delay", "POST", "/inference/delay", EXAMPLE_FLIGHT),
    ("minutes", "POST", "/inference/delay_minutes", EXAMPLE_FLIGHT),
    ("describe", "GET", "/models/delay_minutes", None),
]:
    response = handler(render_event(SampleRequest(name, method, path, body)), None)
    out[name] = [response["statusCode"], json.loads(response["body"])]
print(json.dumps(out))
"""


def run_without_permission_bypass(models: Path) -> dict[str, list]:
    """The handler's answers over ``models`` in a process that permission bits do bind."""
    command = [sys.executable, "-c", _SCENARIO, str(models)]
    if os.geteuid() == 0:
        drop = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def models(tmp_path: Path) -> Path:
    out = tmp_path / "models"
    shutil.copytree(DEFAULT_MODELS_DIR, out)
    return out


@pytest.fixture
def restore_permissions(models: Path) -> Any:
    yield
    for path in [models, *models.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755)


def no_paths_or_errno(answers: dict[str, list], models: Path) -> None:
    text = json.dumps(answers)
    assert str(models) not in text and "Errno" not in text and "Permission denied" not in text


def test_an_unreadable_stray_directory_is_one_unavailable_model(
    models: Path, restore_permissions: None
) -> None:
    stray = models / "scratch"
    stray.mkdir()
    stray.chmod(0)
    answers = run_without_permission_bypass(models)
    assert answers["health"][0] == 200
    assert answers["health"][1]["models"]["scratch"].startswith("unavailable")
    assert answers["delay"][0] == answers["minutes"][0] == answers["describe"][0] == 200
    listing = {m["name"]: m for m in answers["models"][1]["models"]}
    assert listing["scratch"]["status"] == "unavailable"
    assert listing["delay"]["status"] == "available"
    no_paths_or_errno(answers, models)


def test_an_unreadable_model_directory_is_that_models_503(
    models: Path, restore_permissions: None
) -> None:
    (models / "delay").chmod(0)
    answers = run_without_permission_bypass(models)
    assert answers["delay"][0] == 503
    assert answers["delay"][1]["error"]["code"] == "model_unavailable"
    assert answers["minutes"][0] == 200 and answers["health"][0] == 200
    assert answers["health"][1]["models"]["delay"].startswith("unavailable")
    no_paths_or_errno(answers, models)


def test_an_unreadable_artifact_is_that_models_503(models: Path, restore_permissions: None) -> None:
    next((models / "delay").glob("*.npz")).chmod(0)
    answers = run_without_permission_bypass(models)
    assert answers["delay"][0] == 503
    assert answers["minutes"][0] == 200
    no_paths_or_errno(answers, models)


def test_an_unreadable_models_root_keeps_health_answering(
    models: Path, restore_permissions: None
) -> None:
    models.chmod(0)
    answers = run_without_permission_bypass(models)
    assert answers["health"] == [
        503,
        {"status": "unavailable", "version": answers["health"][1]["version"], "models": {}},
    ]
    assert answers["models"] == [200, {"models": []}]
    assert answers["delay"][0] == 404
    no_paths_or_errno(answers, models)


def test_health_reports_a_broken_artifact_before_any_traffic(models: Path) -> None:
    artifact = next((models / "delay").glob("*.npz"))
    artifact.unlink()
    os.mkfifo(artifact)
    handler = create_handler(Registry(models))
    health = call(handler, "GET", "/health")
    assert health["statusCode"] == 200
    states = json.loads(health["body"])["models"]
    assert states["delay"].startswith("unavailable") and "regular file" in states["delay"]
    assert states["delay_minutes"] == "not_loaded"
    listing = {m["name"]: m for m in json.loads(call(handler, "GET", "/models")["body"])["models"]}
    assert listing["delay"]["status"] == "unavailable"
    assert listing["delay"]["reason"] in states["delay"]
    assert call(handler, "POST", "/inference/delay", EXAMPLE_FLIGHT)["statusCode"] == 503


def test_health_is_503_when_no_model_can_serve(models: Path) -> None:
    for artifact in models.glob("*/*.npz"):
        artifact.write_bytes(b"truncated")
    health = call(create_handler(Registry(models)), "GET", "/health")
    assert health["statusCode"] == 503
    assert json.loads(health["body"])["status"] == "unavailable"
