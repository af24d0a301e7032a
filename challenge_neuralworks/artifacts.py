"""Model artifacts that cannot run code: numpy arrays plus a JSON document, in one zip file.

Why not pickle (or dill): unpickling executes whatever the file says, and an allow-list of
importable names is a boundary only if nothing reachable through it can call back into the
interpreter. A review got ``os.system`` out of a module-prefix allow-list three ways, each with a
manifest whose sha256 matched (whoever can write ``models/`` can write both files). This format
has no way to name a callable:

* ``document.json`` is the object tree: JSON scalars, ``{"$list": [...]}``, ``{"$tuple": [...]}``,
  ``{"$dict": [[key, value], ...]}`` (dicts whose keys are not strings), string-keyed objects,
  special floats ``{"$float": "nan"}``, arrays ``{"$array": i}`` and instances of an
  **exact allow-list of dataclasses** ``{"$type": "TreeEnsemble", "fields": {...}}``. A type is
  looked up by its registered name in a dict (no import, no attribute walk, no dotted names) and
  rebuilt by calling the dataclass with exactly its declared init fields.
* ``arrays/<i>.npy`` are read with ``numpy.lib.format.read_array(allow_pickle=False)`` and only
  numeric and boolean dtypes are accepted (an object array would need pickle: refused).
* Every member must be stored uncompressed (no zip bomb) and the member set must be exactly the
  document plus the arrays it references.

The bytes are deterministic (fixed zip timestamps, insertion-ordered keys), so training twice
gives the same sha256. ``np.load`` reads the file as an ordinary ``.npz`` too; loading never
needs it.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import zipfile
from collections.abc import Callable
from typing import Any, Final, TypeVar

import numpy as np

FORMAT: Final[str] = "cnw-artifact"
FORMAT_VERSION: Final[int] = 1
DOCUMENT: Final[str] = "document.json"
_ARRAY_MEMBER = "arrays/{}.npy"
#: A zip entry's timestamp is part of the bytes: fixed, so identical models hash identically.
_EPOCH = (1980, 1, 1, 0, 0, 0)
#: dtype kinds an artifact may hold: bool, signed and unsigned integers, floats.
_ALLOWED_DTYPE_KINDS: Final[frozenset[str]] = frozenset("biuf")
#: Nesting deeper than this is not a model: refuse instead of recursing without bound.
_MAX_DEPTH: Final[int] = 64

T = TypeVar("T")

#: registered name -> dataclass: the only types an artifact may instantiate.
ARTIFACT_TYPES: dict[str, type] = {}


class ArtifactError(ValueError):
    """The file is not a valid artifact; the message says what is wrong (client-safe)."""


def artifact_type(cls: type[T]) -> type[T]:
    """Class decorator: allow ``cls`` (a dataclass) in artifacts under its class name."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__qualname__} must be a dataclass to be stored in an artifact")
    name = cls.__name__
    registered = ARTIFACT_TYPES.get(name)
    if registered is not None and registered.__qualname__ != cls.__qualname__:
        raise TypeError(f"artifact type name {name!r} is already taken by {registered}")
    ARTIFACT_TYPES[name] = cls
    return cls


def _init_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


# ------------------------------------------------------------------------------ writing
def dumps(obj: Any) -> bytes:
    """The artifact bytes of ``obj`` (an instance of a registered type, usually a model)."""
    arrays: list[np.ndarray] = []
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "root": _encode(obj, arrays, 0),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        text = json.dumps(document, separators=(",", ":"), allow_nan=False)
        archive.writestr(zipfile.ZipInfo(DOCUMENT, _EPOCH), text.encode("utf-8"))
        for index, array in enumerate(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, array, allow_pickle=False)
            archive.writestr(
                zipfile.ZipInfo(_ARRAY_MEMBER.format(index), _EPOCH), member.getvalue()
            )
    return buffer.getvalue()


def _encode(value: Any, arrays: list[np.ndarray], depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise TypeError("object nesting is too deep for an artifact")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else {"$float": repr(number)}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _ALLOWED_DTYPE_KINDS:
            raise TypeError(f"arrays of dtype {value.dtype} cannot be stored in an artifact")
        arrays.append(np.ascontiguousarray(value))
        return {"$array": len(arrays) - 1}
    if isinstance(value, list):
        return {"$list": [_encode(v, arrays, depth + 1) for v in value]}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v, arrays, depth + 1) for v in value]}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _encode(v, arrays, depth + 1) for k, v in value.items()}
        return {
            "$dict": [
                [_encode(k, arrays, depth + 1), _encode(v, arrays, depth + 1)]
                for k, v in value.items()
            ]
        }
    name = type(value).__name__
    if ARTIFACT_TYPES.get(name) is not type(value):
        raise TypeError(f"{type(value).__qualname__} is not an artifact type (@artifact_type)")
    return {
        "$type": name,
        "fields": {
            f: _encode(getattr(value, f), arrays, depth + 1) for f in _init_fields(type(value))
        },
    }


# ------------------------------------------------------------------------------ reading
def loads(payload: bytes, *, types: dict[str, type] | None = None) -> Any:
    """The object stored in ``payload``; :class:`ArtifactError` when it is anything else."""
    allowed = ARTIFACT_TYPES if types is None else types
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise ArtifactError(
            f"not a {FORMAT} file (a zip of JSON and .npy members); pickles are never loaded"
        ) from exc
    with archive:
        members = {info.filename: info for info in archive.infolist()}
        for info in members.values():
            if info.compress_type != zipfile.ZIP_STORED:
                raise ArtifactError(f"member {info.filename!r} is compressed; artifacts are stored")
            if info.file_size > len(payload):
                raise ArtifactError(f"member {info.filename!r} claims more bytes than the file has")
        if DOCUMENT not in members:
            raise ArtifactError(f"no {DOCUMENT} in the artifact")
        try:
            document = json.loads(archive.read(DOCUMENT).decode("utf-8"))
        except (ValueError, RecursionError) as exc:
            raise ArtifactError(f"{DOCUMENT} is not valid JSON") from exc
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ArtifactError(f"{DOCUMENT} is not a {FORMAT} document")
        if document.get("format_version") != FORMAT_VERSION:
            raise ArtifactError(
                f"artifact format version {document.get('format_version')!r} is not supported "
                f"(this code reads {FORMAT_VERSION}): retrain the model"
            )
        expected = {DOCUMENT} | {_ARRAY_MEMBER.format(i) for i in range(len(members) - 1)}
        if set(members) != expected:
            raise ArtifactError("the artifact holds members other than its document and arrays")
        arrays = _ArrayReader(archive, len(members) - 1)
        root = _Decoder(allowed, arrays).decode(document.get("root"), 0)
        if arrays.unused():
            raise ArtifactError("the artifact holds arrays its document does not use")
        return root


class _ArrayReader:
    """Reads ``arrays/<i>.npy`` members on demand, each at most once."""

    def __init__(self, archive: zipfile.ZipFile, count: int) -> None:
        self._archive = archive
        self._count = count
        self._used: set[int] = set()

    def read(self, index: Any) -> np.ndarray:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self._count:
            raise ArtifactError(f"array reference {index!r} does not exist")
        if index in self._used:
            raise ArtifactError(f"array {index} is referenced twice")
        self._used.add(index)
        with self._archive.open(_ARRAY_MEMBER.format(index)) as member:
            try:
                array = np.lib.format.read_array(member, allow_pickle=False)
            except ValueError as exc:  # object arrays need pickle: refused here
                raise ArtifactError(f"array {index} cannot be read without pickle") from exc
        if array.dtype.kind not in _ALLOWED_DTYPE_KINDS:
            raise ArtifactError(f"array {index} has dtype {array.dtype}, not a numeric one")
        return array

    def unused(self) -> bool:
        return len(self._used) != self._count


class _Decoder:
    def __init__(self, types: dict[str, type], arrays: _ArrayReader) -> None:
        self._types = types
        self._arrays = arrays
        self._tags: dict[str, Callable[[Any, int], Any]] = {
            "$array": lambda v, d: self._arrays.read(v),
            "$list": lambda v, d: [self.decode(x, d + 1) for x in self._sequence(v)],
            "$tuple": lambda v, d: tuple(self.decode(x, d + 1) for x in self._sequence(v)),
            "$dict": self._dict,
            "$float": self._float,
        }

    def decode(self, value: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise ArtifactError("the document nests too deep")
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, list):
            raise ArtifactError("bare JSON arrays are not part of the format")
        if not isinstance(value, dict):  # pragma: no cover - json.loads gives nothing else
            raise ArtifactError("unexpected JSON value")
        if "$type" in value:
            return self._instance(value, depth)
        tagged = [key for key in value if key.startswith("$")]
        if tagged:
            if len(value) != 1 or tagged[0] not in self._tags:
                raise ArtifactError(f"unknown tag {tagged[0][:40]!r}")
            return self._tags[tagged[0]](value[tagged[0]], depth)
        return {key: self.decode(item, depth + 1) for key, item in value.items()}

    def _instance(self, value: dict[str, Any], depth: int) -> Any:
        name = value["$type"]
        if set(value) != {"$type", "fields"} or not isinstance(name, str):
            raise ArtifactError("a $type entry has exactly a type name and fields")
        cls = self._types.get(name)
        if cls is None:
            raise ArtifactError(f"type {name[:80]!r} is not allowed in artifacts")
        fields = value["fields"]
        declared = _init_fields(cls)
        if not isinstance(fields, dict) or set(fields) != set(declared):
            raise ArtifactError(f"{name} expects the fields {list(declared)}")
        kwargs = {key: self.decode(fields[key], depth + 1) for key in declared}
        try:
            return cls(**kwargs)
        except Exception as exc:  # a type's own validation refused the values
            raise ArtifactError(f"{name} rejected its stored fields: {type(exc).__name__}") from exc

    def _dict(self, pairs: Any, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for pair in self._sequence(pairs):
            if not isinstance(pair, list) or len(pair) != 2:
                raise ArtifactError("a $dict holds [key, value] pairs")
            key = self.decode(pair[0], depth + 1)
            if not isinstance(key, str | int | float | bool | tuple | None):
                raise ArtifactError("a $dict key must be a scalar or a tuple")
            out[key] = self.decode(pair[1], depth + 1)
        return out

    @staticmethod
    def _float(text: Any, depth: int) -> float:
        if text not in ("nan", "inf", "-inf"):
            raise ArtifactError("$float holds nan, inf or -inf")
        return float(text)

    @staticmethod
    def _sequence(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise ArtifactError("a tagged sequence must be a JSON array")
        return value


def referenced_types(payload: bytes) -> set[str]:
    """The type names an artifact's document instantiates (for the allow-list test)."""
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        document = json.loads(archive.read(DOCUMENT))
    found: set[str] = set()
    stack = [document["root"]]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "$type" in node:
                found.add(node["$type"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found
