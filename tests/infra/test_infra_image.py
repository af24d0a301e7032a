"""The Lambda image definition: what goes in, how it starts, and what the build context holds.

No Docker daemon here, so the Dockerfile is read instruction by instruction and .dockerignore is
evaluated with Docker's own rules (last matching pattern wins, a match on a parent directory
counts, ``**`` spans directories) against the real repository tree.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

DOCKERFILE = REPO_ROOT / "Dockerfile"
RUNTIME_LOCK = REPO_ROOT / "requirements" / "runtime.txt"
FORBIDDEN_AT_RUNTIME = {
    "pandas",
    "scikit-learn",
    "scipy",
    "matplotlib",
    "xgboost",
    "xgboost-cpu",
    "uvicorn",
    "pytest",
    "moto",
}
#: boto3/botocore: the departures store is DynamoDB in AWS, and the image's base is python:slim,
#: not a Lambda base image with its own boto3; the store imports it on first use only.
REQUIRED_AT_RUNTIME = {
    "numpy",
    "pydantic",
    "aws-lambda-powertools",
    "awslambdaric",
    "boto3",
    "botocore",
}


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with continuation lines joined and comments dropped."""
    joined, pending = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    return [(item.split(None, 1)[0].upper(), item.split(None, 1)[1]) for item in joined]


def _final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def test_base_image_is_an_exact_python_311_slim_release() -> None:
    instructions = _instructions(DOCKERFILE)
    args = dict(arg.split("=", 1) for op, arg in instructions if op == "ARG" and "=" in arg)
    base = args["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base), base
    for op, arg in instructions:
        if op == "FROM":
            assert arg.split()[0] in {"${PYTHON_IMAGE}", base}, arg


def test_dependencies_come_only_from_the_hash_pinned_runtime_lock() -> None:
    instructions = _instructions(DOCKERFILE)
    copies = [arg for op, arg in instructions if op == "COPY" and "runtime.txt" in arg]
    assert copies == ["requirements/runtime.txt /tmp/runtime.txt"]
    installs = [arg for op, arg in instructions if op == "RUN" and "pip install" in arg]
    assert len(installs) == 1, installs
    for flag in ("--require-hashes", "--no-deps", "--only-binary=:all:", "-r /tmp/runtime.txt"):
        assert flag in installs[0], f"{flag} missing from {installs[0]}"


def test_runtime_lock_holds_the_serving_dependencies_only() -> None:
    text = RUNTIME_LOCK.read_text()
    names = {m.lower() for m in re.findall(r"(?m)^([A-Za-z0-9_.-]+)==", text)}
    assert names >= REQUIRED_AT_RUNTIME, REQUIRED_AT_RUNTIME - names
    assert not names & FORBIDDEN_AT_RUNTIME, names & FORBIDDEN_AT_RUNTIME
    pins = re.findall(
        r"(?m)^[A-Za-z0-9_.-]+==[^\s\\]+(?: ;[^\\\n]*)? \\\n(?:\s+--hash=sha256:[0-9a-f]{64}.*\n)+",
        text,
    )
    assert len(pins) == len(names), "every pinned requirement must carry hashes"


def test_final_stage_copies_package_and_models_and_points_at_them() -> None:
    final = _final_stage(_instructions(DOCKERFILE))
    copies = {
        arg.split()[0]: arg.split()[-1] for op, arg in final if op == "COPY" and "--from" not in arg
    }
    assert copies["challenge_neuralworks/"] == "/var/task/challenge_neuralworks/"
    assert copies["models/"] == "/var/task/models/"
    env = " ".join(arg for op, arg in final if op == "ENV")
    assert "CNW_MODELS_DIR=/var/task/models" in env
    assert "PYTHONPATH=/var/task" in env


def test_image_starts_awslambdaric_with_the_handler_as_a_non_root_user() -> None:
    final = _final_stage(_instructions(DOCKERFILE))
    entrypoint = [json.loads(arg) for op, arg in final if op == "ENTRYPOINT"]
    command = [json.loads(arg) for op, arg in final if op == "CMD"]
    assert entrypoint == [["python", "-m", "awslambdaric"]]
    assert command == [["challenge_neuralworks.handler.lambda_handler"]]
    users = [arg for op, arg in final if op == "USER"]
    assert users, "the final stage never drops root"
    assert users[-1].split(":")[0] not in {"root", "0"}


# --- .dockerignore, evaluated as Docker does ----------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def _dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in (REPO_ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = os.path.normpath(line[1:] if negate else line).lstrip("/")
        rules.append((negate, _pattern_regex(pattern)))
    return rules


def _in_context(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    parts = relative.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for negate, regex in rules:
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not negate
    return not excluded


@pytest.fixture(scope="module")
def build_context() -> set[str]:
    rules = _dockerignore_rules()
    files = set()
    for directory, subdirs, names in os.walk(REPO_ROOT):
        subdirs[:] = [d for d in subdirs if d != ".git" and not d.startswith(".venv")]
        for name in names:
            relative = os.path.relpath(os.path.join(directory, name), REPO_ROOT)
            if _in_context(relative, rules):
                files.add(relative)
    return files


def test_build_context_holds_the_package_models_and_runtime_lock(build_context: set[str]) -> None:
    package = {
        str(p.relative_to(REPO_ROOT))
        for p in (REPO_ROOT / "challenge_neuralworks").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert package, "no package sources found"
    assert package <= build_context, sorted(package - build_context)[:5]
    models = {
        str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "models").rglob("*") if p.is_file()
    }
    assert models <= build_context, sorted(models - build_context)[:5]
    assert "requirements/runtime.txt" in build_context


def test_build_context_leaves_out_everything_else(build_context: set[str]) -> None:
    allowed_roots = ("challenge_neuralworks/", "models/", "requirements/runtime.txt")
    strays = sorted(f for f in build_context if not f.startswith(allowed_roots))
    assert not strays, strays[:10]
    assert not [f for f in build_context if "__pycache__" in f or f.endswith(".pyc")]
    rules = _dockerignore_rules()
    for outside in (".venv/bin/python", "data/dataset_SCL.csv", "tests/infra/conftest.py", ".env"):
        assert not _in_context(outside, rules), outside
