"""Twin-only documentation pages: Swagger UI at ``/{stage}/docs``, the OpenAPI document beside it.

These are not API Gateway resources (the deployed API has no such paths, and they need no API
key): a developer running ``make serve`` opens ``http://127.0.0.1:8000/dev/docs`` and tries the
API in the browser. The page serves the committed ``docs/openapi.yaml`` as it is, and Swagger UI's
own assets from the ``swagger-ui-bundle`` package (the ``serve`` extra), so it works offline. Its
"Try it out" calls go to this twin, whichever server the document lists first.

Lookups are one dict access per request (exact paths), and files are read once, on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Final

from challenge_neuralworks.local.responses import GatewayResponse

OPENAPI_DOCUMENT: Final[Path] = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
#: The Swagger UI files the page needs, with their content types (nothing else is served).
ASSETS: Final[dict[str, bytes]] = {
    "swagger-ui.css": b"text/css; charset=utf-8",
    "swagger-ui-bundle.js": b"application/javascript; charset=utf-8",
    "favicon-32x32.png": b"image/png",
    "favicon-16x16.png": b"image/png",
}
_PAGE = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>challenge_neuralworks API: local twin (stage {stage})</title>
    <link rel="stylesheet" href="/{stage}/docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="/{stage}/docs/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="/{stage}/docs/favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/{stage}/docs/swagger-ui-bundle.js"></script>
    <script>
      window.ui = SwaggerUIBundle({{
        url: "/{stage}/openapi.yaml",
        dom_id: "#swagger-ui",
        deepLinking: true,
        // "Try it out" calls this twin, whichever server the document lists first.
        requestInterceptor: (request) => {{
          if (!request.url.endsWith("/openapi.yaml")) {{
            const url = new URL(request.url);
            request.url = window.location.origin + url.pathname + url.search;
          }}
          return request;
        }},
      }});
    </script>
  </body>
</html>
"""
_MISSING_UI = GatewayResponse(
    404,
    b"Swagger UI is not installed: install the serve extra (swagger-ui-bundle).",
    content_type=b"text/plain; charset=utf-8",
)
_MISSING_DOCUMENT = GatewayResponse(
    404,
    b"docs/openapi.yaml is not there: run `make docs` in a clone of the repository.",
    content_type=b"text/plain; charset=utf-8",
)


@cache
def _asset(name: str) -> GatewayResponse:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return _MISSING_UI
    return GatewayResponse(200, (swagger_ui_path / name).read_bytes(), ASSETS[name])


@cache
def _document(path: Path) -> GatewayResponse:
    try:
        return GatewayResponse(200, path.read_bytes(), b"application/yaml; charset=utf-8")
    except OSError:
        return _MISSING_DOCUMENT


class DocsSite:
    """The twin-only pages of one stage."""

    def __init__(
        self, stage: str, templates: Iterable[str], document: Path = OPENAPI_DOCUMENT
    ) -> None:
        clashes = [
            t for t in templates if t in ("/docs", "/openapi.yaml") or t.startswith("/docs/")
        ]
        if clashes:
            raise ValueError(f"API resources {clashes} clash with the twin's documentation pages")
        page = GatewayResponse(
            200, _PAGE.format(stage=stage).encode("utf-8"), b"text/html; charset=utf-8"
        )
        self._pages: dict[str, Callable[[], GatewayResponse]] = {
            f"/{stage}/docs": lambda: page,
            f"/{stage}/openapi.yaml": lambda: _document(document),
        }
        for name in ASSETS:
            self._pages[f"/{stage}/docs/{name}"] = lambda name=name: _asset(name)

    def page(self, path: str, method: str) -> GatewayResponse | None:
        """The page at ``path`` for a GET or HEAD, or None (not a documentation page)."""
        render = self._pages.get(path)
        if render is None or method not in ("GET", "HEAD"):
            return None
        return render()
