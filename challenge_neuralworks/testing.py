"""The reusable contract checks every :class:`~challenge_neuralworks.model.Model` passes.

Like scikit-learn's ``parametrize_with_checks``: :func:`parametrize_with_checks` turns each check
into its own pytest test id per model (``delay-check_round_trip``), so a broken model shows which
promise it breaks. Checks read what a model declares about itself (its examples, its closed
value sets, its input and output models) and never a model's field names, so a new model family
is checked by the same code. Each check raises ``AssertionError`` with a message that says what
broke the contract.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from challenge_neuralworks import artifacts
from challenge_neuralworks.errors import InputError
from challenge_neuralworks.model import MANIFEST_NAME, MODEL_CLASSES, NAME_PATTERN, Model
from challenge_neuralworks.registry import Registry
from challenge_neuralworks.schemas import single_response

#: Modules the request path must never import (cold start: see docs/architecture.md).
HEAVY_MODULES = ("pandas", "sklearn", "scipy", "matplotlib", "xgboost", "holidays", "boto3")

Check = Callable[[Model], None]


def check_identity(model: Model) -> None:
    """Name, registration and version."""
    assert NAME_PATTERN.fullmatch(model.name), f"name {model.name!r} breaks {NAME_PATTERN.pattern}"
    assert MODEL_CLASSES.get(model.name) is type(model), f"{model.name!r} is not registered"
    assert isinstance(model.version, str) and model.version, "version must be a non-empty string"
    assert isinstance(model.metadata, dict), "metadata must be a dict (it goes in the manifest)"


def check_contract_description(model: Model) -> None:
    """``input_model``/``output_model`` are pydantic models and ``describe()`` is JSON."""
    assert issubclass(model.input_model, BaseModel), "input_model must be a pydantic model"
    assert issubclass(model.output_model, BaseModel), "output_model must be a pydantic model"
    description = model.describe()
    json.dumps(description, allow_nan=False)
    assert description["name"] == model.name
    assert description["input_schema"]["type"] == "object"
    assert model.max_batch >= 1


def check_examples_predict(model: Model) -> None:
    """Every documented example parses and predicts to a JSON answer of ``output_model``."""
    examples = model.examples()
    assert len(examples) >= 2, "examples() must give the documented example and at least one more"
    for example in examples:
        (result,) = model.predict([model.parse(example)])
        assert isinstance(result, dict), "predict must return one dict per item"
        json.dumps(result, allow_nan=False)
        model.output_model.model_validate(result)
        single_response(model.output_model).model_validate(
            {**result, "model": model.name, "version": model.version}
        )
        assert model.tabular(result), "tabular() must give at least one column"


def check_batch_agrees_with_single(model: Model) -> None:
    """Predicting a batch equals predicting its items one by one, in order, every time."""
    items = [model.parse(example) for example in model.examples()]
    batch = model.predict(items)
    assert len(batch) == len(items), "predict must return exactly one result per item"
    singles = [model.predict([item])[0] for item in items]
    assert batch == singles, "batch predictions differ from single ones (order or values)"
    assert model.predict(list(reversed(items))) == list(reversed(batch)), "order is not kept"
    assert model.predict(items) == batch, "predict is not deterministic"


def check_rejects_unknown_values(model: Model) -> None:
    """Every closed field rejects an unknown value with an error naming it and its values."""
    example = model.example()
    for field in model.allowed_values():
        if field not in example:
            continue
        try:
            model.parse({**example, field: "zz-not-a-value"})
        except InputError as error:
            assert error.field == field, f"error for {field} names {error.field!r}"
            assert error.allowed, f"error for {field} does not list the allowed values"
        else:
            raise AssertionError(f"{field}='zz-not-a-value' was accepted")


def check_rejects_unknown_fields(model: Model) -> None:
    """A misspelt field is an error, not a silently ignored one (typo protection)."""
    try:
        model.parse({**model.example(), "not_a_field": 1})
    except InputError as error:
        assert error.code == "unknown_field", "unknown fields must be rejected as such"
    else:
        raise AssertionError("an unknown field was accepted")


def check_bounded_errors(model: Model) -> None:
    """An oversized value in any field gives an error whose size does not grow with it."""
    huge = "\U0001f6eb" * 100_000
    for field in [*model.example(), "x" * 100_000]:
        try:
            model.parse({**model.example(), field: huge})
        except InputError as error:
            size = len(json.dumps(error.body()).encode())
            assert size < 8_192, f"an oversized {field[:20]!r} gives a {size}-byte error"
        else:
            raise AssertionError(f"a 100,000-character {field[:20]!r} was accepted")


def check_round_trip(model: Model) -> None:
    """save() then a verified registry load gives a model with the same predictions."""
    with tempfile.TemporaryDirectory() as tmp:
        manifest_path = model.save(tmp)
        assert manifest_path == Path(tmp) / model.name / MANIFEST_NAME
        manifest = json.loads(manifest_path.read_text())
        for key in ("sha256", "version", "class", "runtime_libraries", "artifact", "format"):
            assert key in manifest, f"manifest lacks {key}"
        loaded = Registry(tmp).get(model.name)  # verified, no code can run while decoding
        items = [model.parse(example) for example in model.examples()]
        assert loaded.predict(items) == model.predict(items), "round trip changed predictions"
        payload = (Path(tmp) / model.name / manifest["artifact"]).read_bytes()
        assert artifacts.referenced_types(payload) <= set(artifacts.ARTIFACT_TYPES)


def check_lean_imports(model: Model) -> None:
    """Importing the model's module and the handler pulls in no training library."""
    module = type(model).__module__
    code = (
        f"import sys, {module}, challenge_neuralworks.handler; "
        f"heavy = [m for m in {HEAVY_MODULES!r} if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert not result.stdout.strip(), f"{module} imports {result.stdout.strip()}"


CHECKS: tuple[Check, ...] = (
    check_identity,
    check_contract_description,
    check_examples_predict,
    check_batch_agrees_with_single,
    check_rejects_unknown_values,
    check_rejects_unknown_fields,
    check_bounded_errors,
    check_round_trip,
    check_lean_imports,
)


def check_model(model: Model, *, skip: Iterable[Check] = ()) -> None:
    """Run every check on ``model``; raise ``AssertionError`` on the first failure."""
    skipped = set(skip)
    for check in CHECKS:
        if check not in skipped:
            check(model)


def parametrize_with_checks(names: Iterable[str], *, skip: Iterable[Check] = ()) -> Any:
    """A ``pytest.mark.parametrize("name, check", ...)`` over every (model, check) pair, with
    ids like ``delay-check_round_trip``. The test body gets the model by ``name`` from wherever
    it keeps them (committed artifacts, freshly trained ones) and calls ``check(model)``."""
    import pytest

    skipped = set(skip)
    pairs = [(name, check) for name in names for check in CHECKS if check not in skipped]
    return pytest.mark.parametrize(
        ("name", "check"), pairs, ids=[f"{name}-{check.__name__}" for name, check in pairs]
    )
