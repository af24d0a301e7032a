"""Repository hygiene that a reviewer would otherwise check by hand."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: Hosts of package registries: locks must not pin where packages come from. The names are
#: assembled from parts so that this file does not name them either.
_HOSTS = (
    ("pypi", "org"),
    ("pythonhosted", "org"),
    ("registry.npmjs", "org"),
    ("deb.debian", "org"),
)
REGISTRY_HOSTS = re.compile(
    "|".join(re.escape(name + "." + tld) for name, tld in _HOSTS) + "|" + re.escape("/" + "simple/")
)


def tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    return [REPO / name for name in out.split("\0") if name]


def test_no_committed_file_names_a_package_registry() -> None:
    offenders = []
    for path in tracked_files():
        if path.suffix in {".png", ".pkl", ".csv"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        if REGISTRY_HOSTS.search(text):
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_no_uv_lock_is_committed() -> None:
    assert not [p for p in tracked_files() if p.name == "uv.lock"]


def test_every_locked_requirement_is_pinned_with_hashes() -> None:
    for lock in ("runtime.txt", "dev.txt", "checkov.txt", "poetry.txt"):
        text = (REPO / "requirements" / lock).read_text()
        requirements = re.findall(r"^([A-Za-z0-9_.\-\[\]]+)(==\S+)?", text, flags=re.MULTILINE)
        assert requirements, lock
        for name, pin in requirements:
            assert pin, f"{lock}: {name} is not pinned with =="
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
        for block in blocks:
            if block.strip() and not block.lstrip().startswith("#"):
                assert "--hash=sha256:" in block, f"{lock}: {block.splitlines()[0]} has no hash"


def test_poetry_lock_is_the_one_resolution_and_the_requirements_are_its_export(
    tmp_path: Path,
) -> None:
    """``poetry check --lock`` passes, and requirements/runtime.txt and dev.txt are exactly what
    ``make export`` writes from poetry.lock (so the image and ``make install`` get the lock)."""
    poetry = REPO / ".venv-poetry" / "bin" / "poetry"
    assert poetry.exists(), "Poetry is missing: run `make poetry-venv` (make test does)"
    checked = subprocess.run(
        [str(poetry), "check", "--lock"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for lock, options in (("runtime.txt", []), ("dev.txt", ["--all-extras"])):
        out = tmp_path / lock
        subprocess.run(
            [str(poetry), "export", "--format", "requirements.txt", *options, "-o", str(out)],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        committed = (REPO / "requirements" / lock).read_text().split("\n", 1)[1]
        assert committed == out.read_text(), f"requirements/{lock} is stale: run `make export`"


def test_runtime_lock_is_lean() -> None:
    """The Lambda image installs exactly this: no training, notebook or test packages."""
    names = set(
        re.findall(r"^([a-z0-9_.\-]+)==", (REPO / "requirements/runtime.txt").read_text(), re.M)
    )
    # boto3: the departures store in DynamoDB, imported on first use only (never by the
    # handler's import: check_lean_imports)
    assert {"numpy", "pydantic", "aws-lambda-powertools", "awslambdaric", "boto3"} <= names
    assert not names & {
        "dill",
        "pandas",
        "scikit-learn",
        "scipy",
        "matplotlib",
        "uvicorn",
        "pytest",
        "moto",
    }


def test_readme_has_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text()
    assert "make serve" in readme and "make test" in readme
    assert "make test" in (REPO / ".ci" / "run").read_text()
