"""The real handler serving the real models, in process and behind the local twin over HTTP.

The handler's module-level registry serves ``$CNW_MODELS_DIR`` or the committed ``models/``
(what the image ships). Contract, fuzz and schemathesis tests all go through it; they fail early,
with the reason, when the artifacts are missing.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from challenge_neuralworks import handler
from challenge_neuralworks.local.app import GatewayApp
from challenge_neuralworks.local.config import DEFAULT_API_KEY, DEFAULT_STAGE, GatewayConfig
from challenge_neuralworks.local.testing import serve_in_thread
from challenge_neuralworks.model import discover

#: Every registered model must be served from a committed artifact.
SERVED_MODELS = sorted(discover())


@pytest.fixture(scope="session")
def served_models() -> list[str]:
    """The models the handler serves (both must be there)."""
    names = handler.registry.names()
    if names != SERVED_MODELS:
        pytest.fail(
            f"the handler serves {names} from {handler.registry.models_dir}, expected "
            f"{SERVED_MODELS}: run `make train` (or point CNW_MODELS_DIR at trained models)"
        )
    return names


@pytest.fixture(scope="session")
def twin_url(served_models: list[str]) -> Iterator[str]:
    """Base URL (with the stage) of the twin in front of the real ``lambda_handler``."""
    with serve_in_thread(GatewayApp(GatewayConfig(), handler.lambda_handler)) as url:
        yield f"{url}/{DEFAULT_STAGE}"


@pytest.fixture
def api(twin_url: str) -> Iterator[httpx.Client]:
    """An HTTP client with the development key."""
    with httpx.Client(
        base_url=twin_url, headers={"x-api-key": DEFAULT_API_KEY}, timeout=60
    ) as client:
        yield client
