"""The real Terraform CLI on every root: init from the provider mirror with the committed lock
files, validate, fmt, and the mocked ``terraform test`` suites (infra/tests, infra/bootstrap/tests).

What the mocked suites prove is listed in docs/infra.md ("What is verified where"); this module
also checks that each suite really ran every run block (a skipped run fails here) and that the
harness fails, not skips, where Terraform or the provider mirror is missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from infra_support import INFRA, REPO_ROOT
from terraform_harness import (
    AWS_ROOTS,
    PROVIDER,
    STATIC_ROOTS,
    Terraform,
    locked_provider_version,
    provider_mirror,
    terraform_binary,
)

#: suite id -> (root, test file relative to the root, extra arguments)
SUITES = {
    "modules": (INFRA, "tests/modules.tftest.hcl", []),
    "dev": (INFRA, "tests/environments.tftest.hcl", ["-var-file=envs/dev.tfvars"]),
    "prd": (INFRA, "tests/environments.tftest.hcl", ["-var-file=envs/prd.tfvars"]),
    "bootstrap": (INFRA / "bootstrap", "tests/bootstrap.tftest.hcl", []),
}
_SUMMARY = re.compile(r"(Success|Failure)! (\d+) passed, (\d+) failed(?:, (\d+) skipped)?\.")


@pytest.fixture(scope="module")
def initialized(terraform: Terraform) -> dict[str, Path]:
    """Every AWS root initialised once (modules of the test files included)."""
    for root in AWS_ROOTS.values():
        before = (root / ".terraform.lock.hcl").read_bytes()
        terraform.init(root, "-backend=false")
        after = (root / ".terraform.lock.hcl").read_bytes()
        assert before == after, f"init rewrote {root}/.terraform.lock.hcl"
    return AWS_ROOTS


# --- lock files (issue 10, defect 12) ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(AWS_ROOTS))
def test_every_aws_root_commits_a_lock_file_pinning_the_provider(name: str) -> None:
    root = AWS_ROOTS[name]
    lock = (root / ".terraform.lock.hcl").read_text()
    version = locked_provider_version(root)
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
    hashes = re.findall(r'"(h1:[A-Za-z0-9+/=]+|zh:[0-9a-f]+)"', lock)
    assert hashes, f"{name}: the lock file records no package hash"
    assert locked_provider_version(INFRA) == version, "both AWS roots lock the same provider"


def test_the_tfe_root_is_not_initialised_here_and_says_so() -> None:
    """Its providers are not in the mirror: no lock file can be produced offline (docs say how)."""
    versions = (STATIC_ROOTS["bootstrap/tfc"] / "versions.tf").read_text()
    assert "hashicorp/tfe" in versions and "integrations/github" in versions
    assert not re.search(r'source\s*=\s*"hashicorp/aws"', versions), "keep AWS out of the tfe root"
    assert "providers lock" in (REPO_ROOT / "docs" / "infra.md").read_text()


@pytest.mark.parametrize("name", sorted(AWS_ROOTS))
def test_init_from_the_mirror_with_the_read_only_lock_then_validate(
    terraform: Terraform, initialized: dict[str, Path], name: str
) -> None:
    result = terraform.run(initialized[name], "validate", "-no-color")
    assert "Success! The configuration is valid" in result.stdout, result.stdout


def test_a_lock_file_for_another_provider_version_is_refused(
    terraform: Terraform, tmp_path: Path
) -> None:
    """-lockfile=readonly really checks: a root locked to a version the mirror lacks fails."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "main.tf").write_text(
        'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
    )
    (root / ".terraform.lock.hcl").write_text(
        f'provider "{PROVIDER}" {{\n  version = "5.0.0"\n  hashes = ["h1:invalid"]\n}}\n'
    )
    result = terraform.run(root, "init", "-no-color", "-lockfile=readonly", check=False)
    assert result.returncode != 0
    assert "5.0.0" in result.stdout + result.stderr


def test_terraform_fmt_check_covers_every_root(terraform: Terraform) -> None:
    result = terraform.run(INFRA, "fmt", "-check", "-recursive", "-no-color", check=False)
    assert result.returncode == 0, f"needs `terraform fmt -recursive infra`: {result.stdout}"


# --- mocked terraform test suites -------------------------------------------------------------


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_mocked_terraform_test_suite_passes_every_run(
    terraform: Terraform, initialized: dict[str, Path], suite: str
) -> None:
    root, test_file, extra = SUITES[suite]
    runs = len(re.findall(r'(?m)^run "', (root / test_file).read_text()))
    assert runs >= 2, f"{test_file} declares {runs} runs"
    result = terraform.run(
        root, "test", "-no-color", f"-filter={test_file}", *extra, check=False, timeout=1200
    )
    output = result.stdout + result.stderr
    summary = _SUMMARY.search(output)
    assert result.returncode == 0 and summary, output[-8000:]
    assert summary[1] == "Success" and int(summary[2]) == runs and int(summary[3]) == 0, (
        f"{suite}: expected {runs} runs passed: {summary[0]}"
    )
    assert not summary[4], f"{suite}: skipped runs: {summary[0]}"


# --- failing loudly where Terraform cannot run --------------------------------------------------


def test_a_missing_provider_mirror_fails_with_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception) as failure:
        provider_mirror({"CNW_TF_PROVIDER_MIRROR": str(tmp_path / "nothing")})
    message = str(failure.value)
    assert "terraform providers mirror -platform=linux_amd64" in message
    assert "CNW_TF_PROVIDER_MIRROR" in message


def test_a_missing_terraform_binary_fails_with_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(pytest.fail.Exception) as failure:
        terraform_binary()
    assert "No terraform binary on PATH" in str(failure.value)
