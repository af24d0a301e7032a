"""Find, verify and load model artifacts from ``models/<name>/``.

Nothing is decoded before it is verified, and one broken file is one unavailable model:

* files are opened only by the names the registry builds (``<root>/<name>/manifest.json`` and the
  manifest's plain artifact file name), never through a symlink at the file itself, only if they
  are regular files (a FIFO, a device or ``/dev/zero`` behind a name is refused before a byte is
  read), and never past a size limit (the manifest's ``size_bytes`` for the artifact);
* the manifest must be well formed and name its directory; the artifact's sha256 must match it
  (the bytes that were hashed are the bytes that get decoded); the runtime libraries must be
  compatible with the ones it was built with;
* decoding cannot run code (:mod:`challenge_neuralworks.artifacts`: JSON plus numeric arrays and an
  exact allow-list of dataclasses), and the result must be the registered class of this name.

A model that fails any check is refused: it answers 503 with a reason that is safe to show a
client (no absolute paths, no errno text), while the log line has the full detail. Manifests and
file sizes of every model are verified once, cheaply, when the status is first asked for (the
handler does it at start-up), so ``/health`` tells the truth before any traffic. Loading is lazy
and once per process: a warm Lambda container never reads an artifact twice.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import stat
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from challenge_neuralworks import artifacts, environment
from challenge_neuralworks.model import MANIFEST_NAME, NAME_PATTERN, Model, discover

logger = logging.getLogger("challenge_neuralworks.registry")

REQUIRED_MANIFEST_KEYS: Final[tuple[str, ...]] = (
    "name",
    "version",
    "artifact",
    "format",
    "sha256",
    "size_bytes",
    "runtime_libraries",
)
#: A manifest is a few tens of KB; anything near this is not one.
MAX_MANIFEST_BYTES: Final[int] = 4 * 1024 * 1024
#: No artifact of this service comes near this; the manifest's ``size_bytes`` is the real limit.
MAX_ARTIFACT_BYTES: Final[int] = 512 * 1024 * 1024
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK | os.O_CLOEXEC


def _installed_versions() -> dict[str, str]:
    import numpy
    import pydantic

    return {"numpy": numpy.__version__, "pydantic": pydantic.VERSION}


class ModelNotFoundError(LookupError):
    """No model directory with that (valid) name."""

    def __init__(self, name: str, available: list[str]) -> None:
        super().__init__(f"no model named {name[:64]!r}")
        self.name = name
        self.available = available


class ModelUnavailableError(RuntimeError):
    """The model exists but was refused; ``reason`` is client-safe, ``detail`` is for the log."""

    def __init__(self, name: str, reason: str, detail: str | None = None) -> None:
        super().__init__(f"model {name!r} is unavailable: {reason}")
        self.name = name
        self.reason = reason
        self.detail = detail or reason


class _RefusedError(Exception):
    """Internal: a check failed (``reason`` client-safe, ``detail`` for the log)."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail or reason


def compatible(built: str, running: str) -> bool:
    """Same major version (and same minor for 0.x releases): array layouts and pydantic models
    are not guaranteed across major versions."""
    built_parts, running_parts = built.split("."), running.split(".")
    if built_parts[0] != running_parts[0]:
        return False
    return built_parts[0] != "0" or built_parts[1:2] == running_parts[1:2]


class Registry:
    """The models of one directory, verified once, loaded on first use and cached (failures
    too)."""

    def __init__(
        self,
        models_dir: Path | str,
        *,
        installed_versions: Callable[[], Mapping[str, str]] = _installed_versions,
    ) -> None:
        self.models_dir = Path(models_dir)
        self._installed_versions = installed_versions
        self._models: dict[str, Model | ModelUnavailableError] = {}
        self._manifests: dict[str, Mapping[str, Any] | ModelUnavailableError] = {}
        self._names: list[str] | None = None
        self._verified = False
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Registry:
        """The registry of ``$CNW_MODELS_DIR`` (default: ``models/`` next to the package)."""
        return cls(environment.models_dir(environ))

    # ------------------------------------------------------------------ queries
    def names(self) -> list[str]:
        """Model names: sub-directories with a valid name and a manifest, sorted. A directory
        that cannot be read is listed too (it is an unavailable model, not a crash)."""
        if self._names is None:
            self._names = sorted(self._scan())
        return self._names

    def manifest(self, name: str) -> Mapping[str, Any]:
        """The verified manifest of ``name`` (its artifact's size checked, not its bytes)."""
        self._require_known(name)
        cached = self._manifests.get(name)
        if cached is None:
            cached = self._guarded(name, self._read_manifest)
            self._manifests[name] = cached
        if isinstance(cached, ModelUnavailableError):
            raise cached
        return cached

    def get(self, name: str) -> Model:
        """The loaded model; :class:`ModelNotFoundError` or :class:`ModelUnavailableError`."""
        cached = self._models.get(name)
        if cached is None:
            self._require_known(name)
            with self._lock:
                cached = self._models.get(name)
                if cached is None:
                    cached = self._guarded(name, self._load)
                    self._models[name] = cached
        if isinstance(cached, ModelUnavailableError):
            raise cached
        return cached

    def verify(self) -> None:
        """Read every manifest and check every artifact's size once (cheap: no hashing)."""
        if not self._verified:
            for name in self.names():
                with contextlib.suppress(ModelUnavailableError):  # recorded for status()
                    self.manifest(name)
            self._verified = True

    def status(self) -> dict[str, str]:
        """``loaded``, ``not_loaded`` or ``unavailable: <reason>`` per model (after
        :meth:`verify`, so a broken artifact shows up before anyone calls it)."""
        self.verify()
        out = {}
        for name in self.names():
            cached = self._models.get(name) or self._manifests.get(name)
            if isinstance(cached, ModelUnavailableError):
                out[name] = f"unavailable: {cached.reason}"
            elif isinstance(cached, Model):
                out[name] = "loaded"
            else:
                out[name] = "not_loaded"
        return out

    def servable(self) -> bool:
        """Whether at least one model is not known to be unavailable."""
        return any(not state.startswith("unavailable") for state in self.status().values())

    def load_all(self) -> dict[str, Model | ModelUnavailableError]:
        """Load every model (cold-start benchmarks, pre-warming)."""
        out: dict[str, Model | ModelUnavailableError] = {}
        for name in self.names():
            try:
                out[name] = self.get(name)
            except ModelUnavailableError as exc:
                out[name] = exc
        return out

    # ---------------------------------------------------------------- internals
    def _scan(self) -> list[str]:
        try:
            entries = list(os.scandir(self.models_dir))
        except FileNotFoundError:
            return []
        except OSError as exc:
            logger.error(
                "models directory cannot be read",
                extra={"models_dir": str(self.models_dir), "error": str(exc)},
            )
            return []
        found = []
        for entry in entries:
            if not NAME_PATTERN.fullmatch(entry.name):
                continue
            try:
                if not entry.is_dir():
                    continue
                if (Path(entry.path) / MANIFEST_NAME).exists():
                    found.append(entry.name)
            except OSError:
                found.append(entry.name)  # unreadable: listed, and refused with a reason
        return found

    def _require_known(self, name: str) -> None:
        if not NAME_PATTERN.fullmatch(name) or name not in self.names():
            raise ModelNotFoundError(name, self.names())

    def _guarded(self, name: str, step: Callable[[str], Any]) -> Any:
        """``step(name)``, with every way it can fail turned into this model's refusal."""
        try:
            return step(name)
        except ModelUnavailableError as exc:
            return exc
        except _RefusedError as exc:
            return self._refuse(name, exc.reason, exc.detail)
        except MemoryError:
            return self._refuse(name, "not enough memory to load the artifact")
        except OSError as exc:
            return self._refuse(name, "a model file cannot be read", f"{type(exc).__name__}: {exc}")

    def _read_manifest(self, name: str) -> Mapping[str, Any]:
        raw = self._read_file(name, MANIFEST_NAME, limit=MAX_MANIFEST_BYTES)
        try:
            manifest = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise _RefusedError("manifest.json is not valid JSON", str(exc)) from None
        if not isinstance(manifest, dict):
            raise _RefusedError("manifest is not a JSON object")
        missing = [key for key in REQUIRED_MANIFEST_KEYS if key not in manifest]
        if missing:
            raise _RefusedError(f"manifest lacks {missing}")
        if manifest["name"] != name:
            raise _RefusedError(f"manifest names model {str(manifest['name'])[:64]!r}")
        artifact = manifest["artifact"]
        if (
            not isinstance(artifact, str)
            or Path(artifact).name != artifact
            or artifact in {"", ".", ".."}
            or len(artifact) > 255
        ):
            raise _RefusedError("the manifest's artifact is not a plain file name")
        expected = f"{artifacts.FORMAT}/{artifacts.FORMAT_VERSION}"
        if manifest["format"] != expected:
            raise _RefusedError(
                f"artifact format {str(manifest['format'])[:40]!r} is not {expected!r}: "
                "retrain the model"
            )
        size = manifest["size_bytes"]
        if (
            isinstance(size, bool)
            or not isinstance(size, int)
            or not 0 < size <= MAX_ARTIFACT_BYTES
        ):
            raise _RefusedError("the manifest's size_bytes is not a positive size")
        if not isinstance(manifest["sha256"], str) or len(manifest["sha256"]) != 64:
            raise _RefusedError("the manifest's sha256 is not a sha256 digest")
        self._check_file(name, artifact, size)
        return manifest

    def _load(self, name: str) -> Model:
        manifest = self.manifest(name)
        artifact = manifest["artifact"]
        payload = self._read_file(name, artifact, limit=manifest["size_bytes"])
        if len(payload) != manifest["size_bytes"]:
            raise _RefusedError(
                f"{artifact} has {len(payload)} bytes; the manifest says {manifest['size_bytes']}"
            )
        digest = hashlib.sha256(payload).hexdigest()
        if digest != manifest["sha256"]:
            raise _RefusedError(
                f"sha256 mismatch for {artifact}: manifest {manifest['sha256']}, file {digest}; "
                "refusing to load"
            )
        problem = self._library_problem(manifest["runtime_libraries"])
        if problem:
            raise _RefusedError(problem)
        expected = discover().get(name)
        if expected is None:
            raise _RefusedError(f"no model class named {name!r} is installed")
        try:
            model = artifacts.loads(payload)
        except artifacts.ArtifactError as exc:
            raise _RefusedError(f"artifact refused: {exc}") from None
        if type(model) is not expected:
            raise _RefusedError(f"artifact holds {type(model).__name__}, not model {name!r}")
        if model.version != manifest["version"]:
            raise _RefusedError(
                f"artifact version {str(model.version)[:64]} != manifest "
                f"{str(manifest['version'])[:64]}"
            )
        logger.info("model loaded", extra={"model": name, "version": model.version})
        return model

    def _check_file(self, name: str, file_name: str, size: int) -> None:
        """The artifact exists as a regular file of exactly ``size`` bytes (no read)."""
        path = self.models_dir / name / file_name
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            raise _RefusedError(f"artifact {file_name} is missing") from None
        except OSError as exc:
            raise _RefusedError(f"artifact {file_name} cannot be read", str(exc)) from None
        if not stat.S_ISREG(info.st_mode):
            raise _RefusedError(f"{file_name} is not a regular file")
        if info.st_size != size:
            raise _RefusedError(f"{file_name} has {info.st_size} bytes; the manifest says {size}")

    def _read_file(self, name: str, file_name: str, *, limit: int) -> bytes:
        """The bytes of ``<root>/<name>/<file_name>``: a regular file, no symlink at the file,
        at most ``limit`` bytes (never waiting on a FIFO, never reading a device)."""
        path = self.models_dir / name / file_name
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except FileNotFoundError:
            raise _RefusedError(f"{file_name} is missing") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _RefusedError(
                    f"{file_name} is a symlink; model files must be regular files"
                ) from None
            raise _RefusedError(f"{file_name} cannot be read", f"{path}: {exc}") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise _RefusedError(f"{file_name} is not a regular file")
            if info.st_size > limit:
                raise _RefusedError(f"{file_name} is larger than {limit} bytes")
            chunks, total = [], 0
            while total <= limit:
                chunk = os.read(fd, min(1 << 20, limit + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
            if total > limit:
                raise _RefusedError(f"{file_name} is larger than {limit} bytes")
            return b"".join(chunks)
        finally:
            os.close(fd)

    def _library_problem(self, built_with: Any) -> str | None:
        if not isinstance(built_with, Mapping):
            return "manifest runtime_libraries is not an object"
        installed = self._installed_versions()
        for library, built in built_with.items():
            running = installed.get(str(library))
            if running is None:
                continue
            if not compatible(str(built), running):
                return (
                    f"built with {str(library)[:40]} {str(built)[:40]} but running {running}: "
                    "retrain the model or install a compatible version"
                )
        return None

    def _refuse(self, name: str, reason: str, detail: str | None = None) -> ModelUnavailableError:
        logger.error("model refused", extra={"model": name, "reason": reason, "detail": detail})
        return ModelUnavailableError(name, reason, detail)
