"""The ``Model`` contract: what every servable model is, how it is saved, and how it is trained.

Adding a model to the API means one subclass of :class:`Model` (plus a :class:`Trainer` that
builds it) and one artifact in ``models/<name>/``; the handler, the registry, the twin, the
OpenAPI document and the commands never change, because they all iterate :data:`MODEL_CLASSES`.

A model subclass:

* sets ``name`` (``^[a-z][a-z0-9_]*$``: the URL segment and the artifact directory) and registers
  itself by being defined;
* declares ``input_model`` (pydantic model of one request item; ``GET /models/<name>`` publishes
  its JSON schema) and ``output_model`` (one item's answer; the OpenAPI document, the deploy smoke
  test, the load tests and the contract tests all validate answers with it), and may tighten
  ``max_batch``;
* implements :meth:`check` (validation pydantic cannot express, e.g. the airlines this model was
  trained on), :meth:`predict` (validated items -> JSON-ready dicts) and :meth:`examples`;
* is a dataclass registered with :func:`~challenge_neuralworks.artifacts.artifact_type` whose
  fields hold numpy arrays and plain values only: that is what its artifact stores, and the
  Lambda function loads it importing numpy, never pandas or scikit-learn.

A trainer subclass (training-time code, in ``<family>/build.py``) names the model class it builds
and implements :meth:`Trainer.fit` and :meth:`Trainer.evaluate`.

:func:`challenge_neuralworks.testing.parametrize_with_checks` is the reusable test suite every
model passes (like scikit-learn's ``parametrize_with_checks``).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import json
import pkgutil
import platform
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

from pydantic import BaseModel, ValidationError

from challenge_neuralworks import artifacts
from challenge_neuralworks.errors import InputError
from challenge_neuralworks.schemas import input_error_from_validation

if TYPE_CHECKING:
    from challenge_neuralworks.data import Flights
    from challenge_neuralworks.departures.feed import DepartureSnapshot

__all__ = [
    "MODEL_CLASSES",
    "TRAINERS",
    "Context",
    "InputError",
    "Model",
    "Trainer",
    "discover",
    "read_manifest",
]

NAME_PATTERN: Final[re.Pattern[str]] = re.compile(r"^[a-z][a-z0-9_]*$")
MANIFEST_NAME: Final[str] = "manifest.json"
MANIFEST_SCHEMA_VERSION: Final[int] = 2
#: The artifact file's extension: a zip of a JSON document and ``.npy`` arrays (numpy's .npz).
ARTIFACT_SUFFIX: Final[str] = ".npz"
#: Libraries whose versions the artifact depends on at load time (checked by the registry).
RUNTIME_LIBRARIES: Final[tuple[str, ...]] = ("numpy", "pydantic")
#: Libraries used to build the artifact (recorded for reproducibility only).
TRAINING_LIBRARIES: Final[tuple[str, ...]] = ("scikit-learn", "pandas", "holidays")

#: name -> model class, filled by ``Model.__init_subclass__``.
MODEL_CLASSES: dict[str, type[Model]] = {}
#: model name -> trainer class, filled by ``Trainer.__init_subclass__``.
TRAINERS: dict[str, type[Trainer]] = {}


@dataclass(frozen=True)
class Context:
    """What one request knows besides its items: the time it is served at (the handler's
    injectable clock; the year of a request without one is inferred from it), the options
    the client asked for, and the live context a model declared it reads."""

    now: float = field(default_factory=time.time)
    #: Add each answer's explanation (``?explain=true``); only for ``Model.explainable`` models.
    explain: bool = False
    #: Reported departures up to ``now``, for models with a ``departures_lookback``: the
    #: handler reads them from its injected store (at most one read per request, cached for a
    #: few seconds). ``None``: no store, the store cannot be read, or the model reads none.
    departures: DepartureSnapshot | None = None
    #: Offline scoring (``predict --lead 2h``): predict each flight as if it were this many
    #: hours before its scheduled departure, instead of at ``now``.
    lead_hours: float | None = None
    #: When a list, :meth:`Model.predict` appends the feature matrix it computed (one row per
    #: item), so a prediction capture never computes the features a second time.
    features: list[Any] | None = None

    @property
    def year(self) -> int:
        """The current UTC year."""
        return time.gmtime(self.now).tm_year


class Model(ABC):
    """Base class of every model the API serves. See the module docstring for the contract."""

    name: ClassVar[str]
    input_model: ClassVar[type[BaseModel]]
    output_model: ClassVar[type[BaseModel]]
    #: Largest batch ``POST /inference/<name>`` accepts in one request.
    max_batch: ClassVar[int] = 1000
    #: Whether :meth:`predict` can add an explanation to each answer (``Context.explain``).
    explainable: ClassVar[bool] = False
    #: Seconds of reported departures before ``Context.now`` that :meth:`predict` reads from
    #: ``Context.departures`` (0: none; the handler then reads no store for this model).
    departures_lookback: ClassVar[float] = 0.0

    version: str
    metadata: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name is None:  # abstract intermediate classes do not register
            return
        if not NAME_PATTERN.fullmatch(name):
            raise TypeError(f"model name {name!r} does not match {NAME_PATTERN.pattern}")
        if name in MODEL_CLASSES and MODEL_CLASSES[name].__qualname__ != cls.__qualname__:
            raise TypeError(f"model name {name!r} is already taken by {MODEL_CLASSES[name]}")
        MODEL_CLASSES[name] = cls

    # ------------------------------------------------------------------- serving
    def parse(self, item: Any, prefix: str = "", context: Context | None = None) -> Any:
        """Validate one request item (pydantic, then :meth:`check`); errors name the field,
        prefixed (e.g. ``flights[3]``) inside a batch."""
        schema = self.input_model
        try:
            validated = schema.model_validate(item)
        except ValidationError as exc:
            raise input_error_from_validation(exc, model=schema, prefix=prefix) from None
        try:
            return self.check(validated, context or Context())
        except InputError as exc:
            raise (exc.prefixed(prefix) if prefix else exc) from None

    @abstractmethod
    def check(self, item: Any, context: Context) -> Any:
        """Model-specific validation of one pydantic-validated item; returns what
        :meth:`predict` takes, or raises :class:`InputError`."""

    @abstractmethod
    def predict(self, items: Sequence[Any], context: Context | None = None) -> list[dict[str, Any]]:
        """One JSON-ready answer per item, in order; each validates against ``output_model``."""

    @abstractmethod
    def examples(self) -> list[dict[str, Any]]:
        """Valid request items, the documented example first (docs, smoke tests, the checks)."""

    def example(self) -> dict[str, Any]:
        """The documented example request item."""
        return self.examples()[0]

    def allowed_values(self) -> dict[str, list[Any]]:
        """Closed value sets of the request fields (published by ``GET /models/<name>``)."""
        return {}

    def feature_values(self, items: Sequence[Any], matrix: Any = None) -> list[dict[str, Any]]:
        """The features each validated item was predicted from (name -> number, label or
        ``None``), for prediction capture; ``matrix`` is what :meth:`predict` handed over in
        ``Context.features``. Default: nothing recorded."""
        return [{} for _ in items]

    def input_values(self, item: Any) -> dict[str, Any]:
        """One validated item as a flat JSON object (the ``input`` of a capture). Default:
        nothing recorded."""
        return {}

    def summary_metrics(self, answers: Sequence[Mapping[str, Any]]) -> dict[str, float]:
        """Per-request metrics that summarise this model's answers (CloudWatch metric name ->
        value, units in :data:`challenge_neuralworks.telemetry.UNITS`). Default: none."""
        return {}

    def tabular(self, result: Mapping[str, Any]) -> dict[str, Any]:
        """One :meth:`predict` result as flat columns for batch scoring files."""
        flat: dict[str, Any] = {}
        for key, value in result.items():
            if isinstance(value, Mapping):
                flat.update({f"{key}_{k}": v for k, v in value.items()})
            elif isinstance(value, list | tuple):
                flat.update({f"{key}_{i}": v for i, v in enumerate(value)})
            else:
                flat[key] = value
        return flat

    def describe(self) -> dict[str, Any]:
        """What ``GET /models/<name>`` returns: identity, contract and quality."""
        return {
            "name": self.name,
            "version": self.version,
            "max_batch": self.max_batch,
            "options": {"explain": self.explainable},
            "input_schema": _json_schema(self.input_model),
            "allowed_values": self.allowed_values(),
            "metrics": self.metadata.get("metrics", {}),
        }

    # --------------------------------------------------------------- persistence
    def artifact_name(self) -> str:
        """File name of the artifact inside ``models/<name>/``."""
        return f"{self.name}-{self.version}{ARTIFACT_SUFFIX}"

    def save(self, models_dir: Path | str) -> Path:
        """Write ``<models_dir>/<name>/<name>-<version>.npz`` and ``manifest.json``.

        Older artifacts of the same model are removed so that the directory holds exactly
        what the manifest describes. Returns the manifest path.
        """
        directory = Path(models_dir) / self.name
        directory.mkdir(parents=True, exist_ok=True)
        payload = artifacts.dumps(self)
        artifact = directory / self.artifact_name()
        for stale in [*directory.glob("*.pkl"), *directory.glob(f"*{ARTIFACT_SUFFIX}")]:
            if stale != artifact:
                stale.unlink()
        artifact.write_bytes(payload)
        manifest = {
            "schema_version": MANIFEST_SCHEMA_VERSION,
            "name": self.name,
            "version": self.version,
            "class": f"{type(self).__module__}:{type(self).__qualname__}",
            "artifact": artifact.name,
            "format": f"{artifacts.FORMAT}/{artifacts.FORMAT_VERSION}",
            "sha256": hashlib.sha256(payload).hexdigest(),
            "size_bytes": len(payload),
            "python": platform.python_version(),
            "runtime_libraries": library_versions(RUNTIME_LIBRARIES),
            "training_libraries": library_versions(TRAINING_LIBRARIES),
            **self.metadata,
        }
        path = directory / MANIFEST_NAME
        path.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        return path


class Trainer(ABC):
    """How one model class is trained and evaluated (training-time: pandas, scikit-learn).

    Subclasses set ``model`` and register by being defined, so the ``train`` and ``evaluate``
    commands find the trainer of every registered model without knowing any by name.
    """

    model: ClassVar[type[Model]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        model = cls.__dict__.get("model")
        if model is not None:
            TRAINERS[model.name] = cls

    @abstractmethod
    def default_config(self) -> Any:
        """The production recipe (what ``make train`` uses)."""

    @abstractmethod
    def fast_config(self) -> Any:
        """The same recipe with fewer, shallower trees: tests and smoke runs."""

    @abstractmethod
    def fit(
        self,
        data: Flights,
        *,
        config: Any = None,
        train_until: str | None = None,
        evaluate: bool = True,
    ) -> Model:
        """A servable model fitted on ``data`` (up to ``train_until``); with ``evaluate``, its
        metadata carries both protocols' metrics."""

    @abstractmethod
    def evaluate(self, data: Flights, *, config: Any = None, out_dir: Path | None = None) -> dict:
        """Both protocols' metrics as JSON; with ``out_dir``, the model card's charts too."""

    def card_section(self, report: dict) -> str | None:
        """The model card's section of this model rendered from :meth:`evaluate`'s report
        (Markdown), which the ``evaluate`` command writes into ``docs/model_card.md``;
        ``None``: the card quotes this model's figures by hand."""
        return None


def discover() -> dict[str, type[Model]]:
    """Import every model family (``challenge_neuralworks.<family>.model``); returns
    :data:`MODEL_CLASSES`. Defining a class is registering it, so this is all it takes."""
    _import_family_modules("model")
    return MODEL_CLASSES


def discover_trainers() -> dict[str, type[Trainer]]:
    """Import every family's training module (``<family>.build``); returns :data:`TRAINERS`."""
    discover()
    _import_family_modules("build")
    return TRAINERS


def _import_family_modules(leaf: str) -> None:
    import challenge_neuralworks

    for info in pkgutil.iter_modules(challenge_neuralworks.__path__):
        if info.ispkg:
            name = f"challenge_neuralworks.{info.name}.{leaf}"
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name)


@functools.cache
def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The request model's JSON schema (milliseconds to build: built once per process)."""
    return model.model_json_schema(by_alias=True)


def library_versions(names: Sequence[str]) -> dict[str, str]:
    """Installed versions of ``names`` (``"absent"`` when not installed); save-time only."""
    from importlib import metadata as importlib_metadata

    versions = {}
    for name in names:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def read_manifest(directory: Path) -> Mapping[str, Any]:
    """The parsed ``manifest.json`` of a model directory (no verification)."""
    return json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
