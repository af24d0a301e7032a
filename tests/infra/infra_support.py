"""Paths, the parsed Terraform tree (python-hcl2) and tool locations for the infrastructure tests.

A module with a unique name (not ``conftest``): tests import it by name, and two ``conftest``
modules (tests/ and tests/infra/) would shadow each other.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infra"
_HCL_OPTIONS = SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False
)


def load_hcl(path: Path) -> dict[str, Any]:
    """Parse one .tf/.tfvars file into python-hcl2's dict form (quotes stripped)."""
    return hcl2.loads(path.read_text(), serialization_options=_HCL_OPTIONS)


@dataclass
class Block:
    """One labelled block (resource, data source, module, variable, output) and where it lives."""

    kind: str
    type: str
    name: str
    body: dict[str, Any]
    path: Path

    @property
    def module_dir(self) -> Path:
        return self.path.parent


@dataclass
class TerraformTree:
    """Every .tf file under infra/, indexed by block kind."""

    files: dict[Path, dict[str, Any]] = field(default_factory=dict)

    def blocks(self, kind: str) -> Iterator[Block]:
        for path, parsed in self.files.items():
            for entry in parsed.get(kind, []):
                if kind in {"resource", "data"}:
                    for type_, named in entry.items():
                        for name, body in named.items():
                            yield Block(kind, type_, name, body, path)
                else:
                    for name, body in entry.items():
                        yield Block(kind, kind, name, body, path)

    def resources(self, type_: str | None = None) -> list[Block]:
        return [b for b in self.blocks("resource") if type_ is None or b.type == type_]

    def resource(self, type_: str, name: str) -> Block:
        found = [b for b in self.resources(type_) if b.name == name]
        assert len(found) == 1, f"expected one {type_}.{name}, found {len(found)}"
        return found[0]

    def data(self, type_: str, name: str, module_dir: Path) -> Block:
        found = [
            b
            for b in self.blocks("data")
            if b.type == type_ and b.name == name and b.module_dir == module_dir
        ]
        assert len(found) == 1, f"expected one data.{type_}.{name} in {module_dir}"
        return found[0]

    def locals(self, module_dir: Path) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for path, parsed in self.files.items():
            if path.parent == module_dir:
                for entry in parsed.get("locals", []):
                    merged.update(entry)
        return merged

    def variables(self, module_dir: Path) -> dict[str, dict[str, Any]]:
        return {b.name: b.body for b in self.blocks("variable") if b.module_dir == module_dir}

    def outputs(self, module_dir: Path) -> dict[str, dict[str, Any]]:
        return {b.name: b.body for b in self.blocks("output") if b.module_dir == module_dir}

    def modules(self, module_dir: Path) -> dict[str, dict[str, Any]]:
        return {b.name: b.body for b in self.blocks("module") if b.module_dir == module_dir}


def load_tree(root: Path | None = None) -> TerraformTree:
    """Every .tf file under ``root`` (default infra/), parsed."""
    tree = TerraformTree()
    for path in sorted((root or INFRA).rglob("*.tf")):
        if ".terraform" not in path.parts:
            tree.files[path] = load_hcl(path)
    assert tree.files, "no Terraform files under infra/"
    return tree


def tool_path(name: str) -> str | None:
    """A tool installed next to this interpreter (the project venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def tool_environment() -> dict[str, str]:
    """Environment for subprocess tools: the venv's bin first (shellcheck for actionlint)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env
