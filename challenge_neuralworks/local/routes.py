"""The API's resource tree, matched like API Gateway REST matches a request to a resource.

The tree derives from the routes declaration (``challenge_neuralworks.routes.ROUTES``), as the
deployed API's does: each route is one method on one resource, and infra/ gives every resource an
``ANY`` method as well (same Lambda), so a wrong verb still reaches the handler's JSON 405. The
``ANY`` method carries the authorization of the resource's routes (the strictest, ``AWS_IAM``,
when they differ). An unknown path, a path without the stage prefix, or a method outside ``ANY``
is API Gateway's 403 "Missing Authentication Token".

Templates are compiled once, grouped by segment count, so a match is one ``split`` and a few tuple
comparisons.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import unquote

from challenge_neuralworks.routes import ROUTES, Authorization, Route

#: The methods an API Gateway ``ANY`` method stands for; anything else has no method to match.
ANY_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
#: Strictest first: what an ``ANY`` method inherits when a resource's routes disagree.
_STRICTNESS: tuple[Authorization, ...] = ("AWS_IAM", "API_KEY")


@dataclass(frozen=True)
class Resource:
    """One compiled resource template, e.g. ``/models/{model_name}``, with its methods."""

    template: str
    #: per segment: the literal text, or None for a ``{param}`` segment
    literals: tuple[str | None, ...]
    #: (segment index, parameter name) for each ``{param}`` segment
    params: tuple[tuple[int, str], ...]
    #: every method of ``ANY_METHODS`` -> the authorization API Gateway applies to it
    authorizations: Mapping[str, Authorization]


@dataclass(frozen=True)
class Match:
    """A request path matched to a resource (``path`` is the stage-less, still-encoded path)."""

    resource: str
    path: str
    path_parameters: dict[str, str] | None
    #: method -> authorization for this resource (a method outside ``ANY`` is absent)
    authorizations: Mapping[str, Authorization]


def _segments(template: str) -> tuple[tuple[str | None, ...], tuple[tuple[int, str], ...]]:
    if not template.startswith("/") or template.endswith("/") or "//" in template:
        raise ValueError(f"resource template {template!r} is malformed")
    literals: list[str | None] = []
    params: list[tuple[int, str]] = []
    for index, segment in enumerate(template[1:].split("/")):
        if segment.startswith("{") and segment.endswith("}") and len(segment) > 2:
            literals.append(None)
            params.append((index, segment[1:-1]))
        elif "{" in segment or "}" in segment:
            raise ValueError(f"resource template {template!r}: bad segment {segment!r}")
        else:
            literals.append(segment)
    return tuple(literals), tuple(params)


def compile_resource(template: str, routes: Iterable[Route] = ()) -> Resource:
    """Compile ``/a/{b}`` with its routes' methods; rejects malformed templates."""
    literals, params = _segments(template)
    declared = {route.method: route.authorization for route in routes if route.path == template}
    inherited = next((level for level in _STRICTNESS if level in declared.values()), "API_KEY")
    authorizations = {method: declared.get(method, inherited) for method in ANY_METHODS}
    return Resource(template, literals, params, MappingProxyType(authorizations))


class RouteTable:
    """Matches ``/{stage}/...`` request paths against the resources of the declared routes."""

    def __init__(self, stage: str, routes: Iterable[Route] = ROUTES) -> None:
        self._prefix = f"/{stage}/"
        routes = tuple(routes)
        templates = dict.fromkeys(route.path for route in routes)
        compiled = [compile_resource(t, routes) for t in templates]
        self.resources: tuple[Resource, ...] = tuple(compiled)
        self._exact = {r.template: r for r in compiled if not r.params}
        # Templated resources by (segment count, first segment); None = the first is a parameter.
        self._candidates: dict[tuple[int, str | None], list[Resource]] = {}
        for resource in compiled:
            if resource.params:
                key = (len(resource.literals), resource.literals[0])
                self._candidates.setdefault(key, []).append(resource)

    @property
    def templates(self) -> tuple[str, ...]:
        """Resource templates, in declaration order."""
        return tuple(resource.template for resource in self.resources)

    def match(self, raw_path: str) -> Match | None:
        """Resource for ``raw_path`` (percent-encoded, with the stage), or None when unknown.

        Literal segments are compared on the encoded path, as API Gateway does; parameter
        values are percent-decoded, as API Gateway passes them in ``pathParameters``.
        """
        if not raw_path.startswith(self._prefix):
            return None
        path = raw_path[len(self._prefix) - 1 :]
        exact = self._exact.get(path)
        if exact is not None:
            return Match(exact.template, path, None, exact.authorizations)
        segments = path[1:].split("/")
        count = len(segments)
        for key in ((count, segments[0]), (count, None)):
            for resource in self._candidates.get(key, ()):
                if self._literals_match(resource, segments):
                    return Match(
                        resource.template,
                        path,
                        {name: unquote(segments[index]) for index, name in resource.params},
                        resource.authorizations,
                    )
        return None

    @staticmethod
    def _literals_match(resource: Resource, segments: list[str]) -> bool:
        for literal, segment in zip(resource.literals, segments, strict=True):
            if literal is None:
                if not segment:
                    return False
            elif literal != segment:
                return False
        return True
