"""Resource matching of the twin: API Gateway's resource tree behind the stage prefix.

The tree derives from the routes declaration (``challenge_neuralworks.routes.ROUTES``): every
declared path is a resource, and every method of ``ANY`` carries an authorization.
"""

from __future__ import annotations

import pytest

from challenge_neuralworks.local.routes import ANY_METHODS, RouteTable, compile_resource
from challenge_neuralworks.routes import ROUTES, Route, resources

INGEST_ROUTES = (
    Route("GET", "/health", "health", "Liveness"),
    Route("POST", "/departures", "report_departure", "Report departures", "AWS_IAM"),
    Route("GET", "/departures", "list_departures", "Departures reported"),
    Route("PUT", "/audit", "audit", "Audit", "AWS_IAM"),
)


@pytest.fixture
def routes() -> RouteTable:
    return RouteTable("dev")


@pytest.mark.parametrize(
    ("raw_path", "resource", "path", "params"),
    [
        ("/dev/health", "/health", "/health", None),
        ("/dev/models", "/models", "/models", None),
        ("/dev/models/delay", "/models/{model_name}", "/models/delay", {"model_name": "delay"}),
        (
            "/dev/inference/delay_minutes",
            "/inference/{model_name}",
            "/inference/delay_minutes",
            {"model_name": "delay_minutes"},
        ),
        ("/dev/models/a%2Fb", "/models/{model_name}", "/models/a%2Fb", {"model_name": "a/b"}),
        ("/dev/inference/..", "/inference/{model_name}", "/inference/..", {"model_name": ".."}),
    ],
)
def test_known_paths_match(
    routes: RouteTable, raw_path: str, resource: str, path: str, params: dict[str, str] | None
) -> None:
    match = routes.match(raw_path)
    assert match is not None
    assert (match.resource, match.path, match.path_parameters) == (resource, path, params)


@pytest.mark.parametrize(
    "raw_path",
    [
        "",
        "/",
        "/dev",
        "/dev/",
        "/health",
        "/devhealth",
        "/prod/health",
        "/dev/health/",
        "/dev//health",
        "/dev/models/",
        "/dev/models//",
        "/dev/inference",
        "/dev/inference/a/b",
        "/dev/Health",
    ],
)
def test_unknown_paths_do_not_match(routes: RouteTable, raw_path: str) -> None:
    assert routes.match(raw_path) is None


def test_stage_is_configurable() -> None:
    routes = RouteTable("prd")
    assert routes.match("/dev/health") is None
    match = routes.match("/prd/health")
    assert match is not None
    assert match.resource == "/health"


def test_the_table_is_the_declared_routes() -> None:
    table = RouteTable("dev")
    assert table.templates == resources()
    assert [r.params for r in table.resources] == [
        compile_resource(path).params for path in dict.fromkeys(r.path for r in ROUTES)
    ]
    for template in table.templates:
        match = table.match(f"/dev{template.replace('{model_name}', 'delay')}")
        assert match is not None
        assert match.resource == template
        assert set(match.authorizations) == ANY_METHODS
        declared = {r.authorization for r in ROUTES if r.path == template}
        assert set(match.authorizations.values()) == declared


def test_any_method_inherits_the_strictest_authorization_of_its_resource() -> None:
    table = RouteTable("dev", INGEST_ROUTES)
    departures = table.match("/dev/departures")
    assert departures is not None
    assert departures.authorizations["POST"] == "AWS_IAM"
    assert departures.authorizations["GET"] == "API_KEY"  # declared
    assert departures.authorizations["DELETE"] == "AWS_IAM"  # ANY: the strictest
    audit = table.match("/dev/audit")
    assert audit is not None
    assert set(audit.authorizations.values()) == {"AWS_IAM"}
    health = table.match("/dev/health")
    assert health is not None
    assert set(health.authorizations.values()) == {"API_KEY"}
    assert "PROPFIND" not in health.authorizations


@pytest.mark.parametrize("template", ["health", "/health/", "/a//b", "/a/{b", "/a/{}"])
def test_malformed_templates_are_rejected(template: str) -> None:
    with pytest.raises(ValueError, match=r"malformed|bad segment"):
        compile_resource(template)


def test_templates_may_start_with_a_parameter() -> None:
    routes = RouteTable(
        "dev",
        [
            Route("GET", path, f"route{i}", "test")
            for i, path in enumerate(["/{tenant}/items", "/items/{item_id}", "/items/all"])
        ],
    )
    first = routes.match("/dev/acme/items")
    assert first is not None
    assert (first.resource, first.path_parameters) == ("/{tenant}/items", {"tenant": "acme"})
    second = routes.match("/dev/items/7")
    assert second is not None
    assert (second.resource, second.path_parameters) == ("/items/{item_id}", {"item_id": "7"})
    exact = routes.match("/dev/items/all")
    assert exact is not None
    assert exact.resource == "/items/all"
    assert routes.match("/dev/acme/other") is None
