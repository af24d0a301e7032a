"""The static checkers CI relies on, run for real: checkov (every root, the tfe one included),
actionlint (+shellcheck), hadolint and ``terraform fmt`` (test_terraform.py runs it on infra/).
Each one is also fed a known-bad input once, so a checker that silently stopped checking (missing
shellcheck, wrong flags) fails here instead of passing everything.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from infra_support import INFRA, REPO_ROOT, tool_path

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
CHECKOV_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE"}
SKIP_COMMENT = re.compile(r"#checkov:skip=(?P<id>CKV2?_[A-Z]+_\d+):(?P<reason>.*)$", re.MULTILINE)
WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def _run(
    command: list[str], env: dict[str, str], cwd: Path = REPO_ROOT
) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _required_tool(name: str) -> str:
    path = tool_path(name)
    if path is None:
        pytest.fail(f"{name} is not installed: it comes from the dev lock (`make install`)")
    return path


# --- actionlint ---------------------------------------------------------------------------------


def test_actionlint_passes_on_the_workflows(tool_env: dict[str, str]) -> None:
    workflows = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert {Path(w).name for w in workflows} >= {"ci.yml", "deploy.yml", "monitor.yml"}
    assert shutil.which("shellcheck", path=tool_env["PATH"]), "shellcheck must be on PATH"
    result = _run([_required_tool("actionlint"), "-color=false", *workflows], tool_env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_really_runs_shellcheck(tool_env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo $UNQUOTED_PATH_FROM_ENV\n"
    )
    result = _run([_required_tool("actionlint"), "-color=false", str(bad)], tool_env)
    assert result.returncode != 0
    assert "SC2086" in result.stdout, result.stdout


# --- hadolint -----------------------------------------------------------------------------------


def test_hadolint_passes_on_the_dockerfile(tool_env: dict[str, str]) -> None:
    hadolint = _required_tool("hadolint")
    result = _run([hadolint, "--failure-threshold", "warning", "Dockerfile"], tool_env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_on_a_known_bad_dockerfile(tool_env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    hadolint = _required_tool("hadolint")
    result = _run([hadolint, "--failure-threshold", "warning", str(bad)], tool_env)
    assert result.returncode != 0
    assert "DL3007" in result.stdout, result.stdout


# --- terraform fmt ------------------------------------------------------------------------------


def _terraform() -> str:
    from terraform_harness import terraform_binary

    return terraform_binary()  # fails (never skips) with how to get it


def test_terraform_fmt_check_flags_unformatted_code(
    tool_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "bad.tf").write_text('locals {\nx=1\n    yy = "a"\n}\n')
    result = _run([_terraform(), "fmt", "-check", "-recursive", str(tmp_path)], tool_env)
    assert result.returncode != 0
    assert "bad.tf" in result.stdout


# --- checkov ------------------------------------------------------------------------------------


def _checkov(directory: Path) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make checkov-venv` (make test does it first)")
    env = {**os.environ, **CHECKOV_ENV}
    command = [
        str(CHECKOV),
        "-d",
        str(directory),
        "--framework",
        "terraform",
        "--skip-download",
        "--compact",
        "-o",
        "json",
    ]
    result = _run(command, env, cwd=directory)
    assert result.stdout.strip(), result.stderr[-2000:]
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    merged: dict[str, list] = {"passed_checks": [], "failed_checks": [], "skipped_checks": []}
    for one in reports:
        for key, findings in merged.items():
            findings.extend(one["results"][key])
    return merged


def _findings(checks: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(c["check_id"], c["resource"]) for c in checks}


@pytest.fixture(scope="module")
def checkov_report() -> dict[str, Any]:
    return _checkov(INFRA)


def test_checkov_reports_zero_failed_checks(checkov_report: dict[str, Any]) -> None:
    failed = sorted(_findings(checkov_report["failed_checks"]))
    assert not failed, failed
    assert len(checkov_report["passed_checks"]) >= 50, "checkov scanned suspiciously little"


def test_every_checkov_skip_is_inline_with_a_real_reason() -> None:
    skips = [m for p in INFRA.rglob("*.tf") for m in SKIP_COMMENT.finditer(p.read_text())]
    assert skips, "expected the documented skips (VPC, KMS, WAF...)"
    for skip in skips:
        reason = skip["reason"].strip()
        assert len(reason) >= 40, f"{skip['id']}: reason too thin: {reason!r}"


def test_every_checkov_skip_suppresses_a_check_that_would_fail(
    checkov_report: dict[str, Any], tmp_path: Path
) -> None:
    """Strip the skip comments in a copy: exactly the skipped findings must then fail."""
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform"))
    for path in copy.rglob("*.tf"):
        path.write_text(SKIP_COMMENT.sub("# skip removed", path.read_text()))
    unskipped = _checkov(copy)
    assert _findings(unskipped["failed_checks"]) == _findings(checkov_report["skipped_checks"])
