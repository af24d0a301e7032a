"""The API's resource tree, matched like API Gateway REST matches a request to a resource.

Every resource has an ``ANY`` method proxied to the one Lambda, so only the path decides whether a
request reaches the handler; an unknown path (or a path without the stage prefix) is API Gateway's
403 "Missing Authentication Token". Templates are compiled once, grouped by segment count, so a
match is one ``split`` and a few tuple comparisons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from challenge_neuralworks import routes

#: The deployed API's resources (infra/ declares the same tree), from the routes declaration.
RESOURCES: tuple[str, ...] = routes.resources()

#: The methods an API Gateway ``ANY`` method stands for; anything else has no method to match.
ANY_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Resource:
    """One compiled resource template, e.g. ``/models/{model_name}``."""

    template: str
    #: per segment: the literal text, or None for a ``{param}`` segment
    literals: tuple[str | None, ...]
    #: (segment index, parameter name) for each ``{param}`` segment
    params: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class Match:
    """A request path matched to a resource (``path`` is the stage-less, still-encoded path)."""

    resource: str
    path: str
    path_parameters: dict[str, str] | None


def compile_resource(template: str) -> Resource:
    """Compile ``/a/{b}`` into literal and parameter positions; rejects malformed templates."""
    if not template.startswith("/") or template.endswith("/") or "//" in template:
        raise ValueError(f"resource template {template!r} is malformed")
    segments = template[1:].split("/")
    literals: list[str | None] = []
    params: list[tuple[int, str]] = []
    for index, segment in enumerate(segments):
        if segment.startswith("{") and segment.endswith("}") and len(segment) > 2:
            literals.append(None)
            params.append((index, segment[1:-1]))
        elif "{" in segment or "}" in segment:
            raise ValueError(f"resource template {template!r}: bad segment {segment!r}")
        else:
            literals.append(segment)
    return Resource(template, tuple(literals), tuple(params))


class RouteTable:
    """Matches ``/{stage}/...`` request paths against the resource templates."""

    def __init__(self, stage: str, templates: Sequence[str] = RESOURCES) -> None:
        self._prefix = f"/{stage}/"
        compiled = [compile_resource(t) for t in templates]
        self._exact = {r.template: r.template for r in compiled if not r.params}
        # Templated resources by (segment count, first segment); None = the first is a parameter.
        self._candidates: dict[tuple[int, str | None], list[Resource]] = {}
        for resource in compiled:
            if resource.params:
                key = (len(resource.literals), resource.literals[0])
                self._candidates.setdefault(key, []).append(resource)

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
            return Match(exact, path, None)
        segments = path[1:].split("/")
        count = len(segments)
        for key in ((count, segments[0]), (count, None)):
            for resource in self._candidates.get(key, ()):
                if self._literals_match(resource, segments):
                    return Match(
                        resource.template,
                        path,
                        {name: unquote(segments[index]) for index, name in resource.params},
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
