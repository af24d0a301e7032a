"""OpenAPI 3.0 schema components from the pydantic models of the API contract.

pydantic writes JSON Schema 2020-12; API Gateway imports OpenAPI 3.0, whose schema dialect is
older: no ``"type": "null"`` (it has ``nullable``), no ``const``, no ``$defs`` (shared schemas
live in ``components/schemas``), and a single ``example`` instead of ``examples``.
:func:`openapi_schemas` converts, so the published document is derived from the very models the
handler validates with, never written twice.

The answer models in :mod:`challenge_neuralworks.schemas` forbid extra fields, so the contract
and schemathesis tests catch an answer that grows an undocumented field.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel

REF_PREFIX = "#/components/schemas/"


def openapi_schemas(
    models: Iterable[type[BaseModel]], *, mode: Literal["validation", "serialization"]
) -> dict[str, dict[str, Any]]:
    """Component name -> OpenAPI 3.0 schema for ``models`` and every model they reference."""
    out: dict[str, dict[str, Any]] = {}
    for model in models:
        schema = model.model_json_schema(
            by_alias=True, mode=mode, ref_template=REF_PREFIX + "{model}"
        )
        for name, nested in schema.pop("$defs", {}).items():
            out.setdefault(name, to_openapi30(nested))
        out[model.__name__] = to_openapi30(schema)
    return out


def to_openapi30(schema: Any) -> Any:
    """A JSON Schema (2020-12, as pydantic writes it) in OpenAPI 3.0's schema dialect."""
    if isinstance(schema, list):
        return [to_openapi30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = _keywords_of_30(_nullable(schema))
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            converted[key] = {name: to_openapi30(sub) for name, sub in value.items()}
        elif key in _SUBSCHEMA_KEYS:
            converted[key] = to_openapi30(value)
        else:
            converted[key] = value
    return converted


_SUBSCHEMA_KEYS = frozenset({"items", "additionalProperties", "not", "anyOf", "oneOf", "allOf"})
_NULL = {"type": "null"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [X, {type: null}]`` -> ``X`` + ``nullable: true`` (a ``$ref`` stays in anyOf,
    since 3.0 ignores the siblings of a ``$ref``)."""
    schema = dict(schema)
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if not isinstance(options, list) or _NULL not in options:
            continue
        rest = [option for option in options if option != _NULL]
        del schema[key]
        if len(rest) == 1 and "$ref" not in rest[0]:
            schema.update(rest[0])
        else:
            # A validator ignores ``nullable`` beside a ``$ref``-only anyOf: null is an option.
            schema[key] = [*rest, {"nullable": True, "enum": [None]}]
        schema["nullable"] = True
        if "enum" in schema and None not in schema["enum"]:
            # OpenAPI 3.0.3: ``nullable`` does not widen an ``enum``; null must be listed.
            schema["enum"] = [*schema["enum"], None]
    return schema


def _keywords_of_30(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop titles (they repeat the names), ``const`` -> ``enum``, ``examples`` -> ``example``,
    reStructuredText literals -> Markdown ones."""
    schema.pop("title", None)
    if "const" in schema:
        schema["enum"] = [schema.pop("const")]
    examples = schema.pop("examples", None)
    if isinstance(examples, list) and examples:
        schema["example"] = examples[0]
    if isinstance(schema.get("description"), str):
        schema["description"] = schema["description"].replace("``", "`")
    return schema
