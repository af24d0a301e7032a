"""The delivery contract of .github/: what triggers what, in which order, with which credentials.

actionlint (test_infra_static_checks) proves the files are valid workflows; these tests pin the
design of issue 10: the image exists before Terraform plans (defect 2), prd's approval comes after
a saved plan and exactly that plan is applied (defect 4), prd promotes the digest dev ran instead
of rebuilding (defect 6), OIDC only, actions pinned by sha and kept current by Dependabot, the
weekly monitor job (issue 11), and deploy invocations the real CLI parser accepts.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from infra_support import INFRA, REPO_ROOT

from challenge_neuralworks import deploy

GITHUB = REPO_ROOT / ".github"
WORKFLOWS = GITHUB / "workflows"


def _load(name: str) -> dict[str, Any]:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the bare key `on` as True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def _runs(job: dict[str, Any]) -> list[str]:
    return [str(step["run"]) for step in job.get("steps", []) if "run" in step]


def _text(job: dict[str, Any]) -> str:
    return "\n".join(_runs(job))


def _commands(job: dict[str, Any]) -> list[str]:
    """Shell lines with continuations joined."""
    return [
        " ".join(line.split())
        for run in _runs(job)
        for line in run.replace("\\\n", " ").splitlines()
        if line.strip()
    ]


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    return _load("ci.yml")


@pytest.fixture(scope="module")
def delivery() -> dict[str, Any]:
    return _load("deploy.yml")


@pytest.fixture(scope="module")
def monitor() -> dict[str, Any]:
    return _load("monitor.yml")


# --- CI ---------------------------------------------------------------------------------------


def test_ci_runs_make_test_with_a_provider_mirror(ci: dict[str, Any]) -> None:
    assert {"push", "pull_request", "workflow_call"} <= set(ci["on"])
    run = _text(ci["jobs"]["test"])
    assert "bash .ci/run" in run
    assert "terraform -chdir=infra providers mirror -platform=linux_amd64" in run
    assert 'echo "CNW_TF_PROVIDER_MIRROR=${mirror}" >> "${GITHUB_ENV}"' in run
    setup = [s for s in ci["jobs"]["test"]["steps"] if "setup-terraform" in str(s.get("uses"))]
    assert setup, "terraform must be on PATH for make test"


def test_pull_requests_get_speculative_plans_that_cannot_apply(ci: dict[str, Any]) -> None:
    plan = ci["jobs"]["plan"]
    assert plan["if"] == "github.event_name == 'pull_request'"
    assert plan["strategy"]["matrix"]["environment"] == ["dev", "prd"]
    assert "environment" not in plan, "no environment: a plan needs no approval or apply secret"
    commands = _commands(plan)
    assert any(c.startswith("terraform plan -no-color -lock=false") for c in commands)
    assert not any("-out" in c or "terraform apply" in c for c in commands)
    setup = next(s for s in plan["steps"] if "setup-terraform" in str(s.get("uses")))
    assert setup["with"]["cli_config_credentials_token"] == "${{ secrets.TF_PLAN_TOKEN }}"
    assert "GITHUB_STEP_SUMMARY" in _text(plan)


def test_pushes_to_release_branches_are_tested_by_the_deploy_workflow(
    ci: dict[str, Any], delivery: dict[str, Any]
) -> None:
    release_branches = set(delivery["on"]["push"]["branches"])
    assert release_branches == {"develop", "main"}
    assert set(ci["on"]["push"]["branches-ignore"]) == release_branches
    assert delivery["jobs"]["test"]["uses"] == "./.github/workflows/ci.yml"
    assert delivery["concurrency"]["cancel-in-progress"] is False


# --- develop -> dev: the image exists before Terraform plans (defect 2) --------------------------


def test_dev_builds_the_image_before_terraform_plans_with_it(delivery: dict[str, Any]) -> None:
    jobs = delivery["jobs"]
    image, release = jobs["image"], jobs["release-dev"]
    assert image["if"] == "github.ref_name == 'develop'" and image["needs"] == "test"
    assert release["needs"] == "image"
    assert "terraform" not in _text(image)
    assert _text(image).count("docker build") == 1 and _text(image).count("docker push") == 1
    assert 'image="${REGISTRY}/${ECR_REPOSITORY}:${GITHUB_SHA}"' in _text(image)
    assert "--provenance=false" in _text(image), "Lambda cannot read attestation manifests"
    assert release["env"]["IMAGE_TAG"] == "${{ needs.image.outputs.tag }}"
    commands = _commands(release)
    plan = next(c for c in commands if c.startswith("terraform plan"))
    assert '-var "image_tag=${IMAGE_TAG}"' in plan and "-out=tfplan" in plan
    assert "terraform apply -no-color tfplan" in commands
    assert commands.index("terraform apply -no-color tfplan") < next(
        i for i, c in enumerate(commands) if "challenge_neuralworks deploy" in c
    )


# --- main -> prd: approve a saved plan, apply exactly it, promote dev's digest -------------------


def test_prd_approval_comes_after_a_saved_plan_and_applies_exactly_it(
    delivery: dict[str, Any],
) -> None:
    plan, release = delivery["jobs"]["plan-prd"], delivery["jobs"]["release-prd"]
    assert "environment" not in plan, "the approval gate must not fire before a plan exists"
    assert plan["if"] == "github.ref_name == 'main'"
    plan_commands = _commands(plan)
    assert any(c.startswith("terraform plan -no-color -out=tfplan") for c in plan_commands)
    assert "terraform show -no-color tfplan > plan.txt" in plan_commands
    assert "GITHUB_STEP_SUMMARY" in _text(plan)
    upload = next(s for s in plan["steps"] if "upload-artifact" in str(s.get("uses")))
    assert "infra/tfplan" in upload["with"]["path"]

    assert release["needs"] == "plan-prd"
    assert release["environment"]["name"] == "prd"
    download = next(s for s in release["steps"] if "download-artifact" in str(s.get("uses")))
    assert download["with"] == {"name": "prd-plan", "path": "infra"}
    commands = _commands(release)
    assert "terraform apply -no-color tfplan" in commands
    assert not any(c.startswith("terraform plan") for c in commands), "no new run after approval"
    text = (WORKFLOWS / "deploy.yml").read_text()
    assert "-auto-approve" not in text


def test_prd_never_builds_and_promotes_the_develop_commit_it_came_from(
    delivery: dict[str, Any],
) -> None:
    for name in ("plan-prd", "release-prd"):
        job = delivery["jobs"][name]
        assert "docker" not in _text(job), f"{name} must not build"
    plan = delivery["jobs"]["plan-prd"]
    checkout = next(s for s in plan["steps"] if "actions/checkout" in str(s.get("uses")))
    assert checkout["with"]["fetch-depth"] == 0, "the tree search needs develop's history"
    release = delivery["jobs"]["release-prd"]
    assert release["env"]["IMAGE_TAG"] == "${{ needs.plan-prd.outputs.image_tag }}"
    assert "imageTag=${IMAGE_TAG}" in _text(release)
    assert '--image "${repository}@${digest}"' in _text(release), "deploy by digest"


def _source_script(delivery: dict[str, Any]) -> str:
    step = next(s for s in delivery["jobs"]["plan-prd"]["steps"] if s.get("id") == "source")
    return str(step["run"])


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def branches(tmp_path: Path) -> Path:
    """develop with two commits, main merged from it with --no-ff (a merge commit)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "app.txt").write_text("v1\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "v1")
    _git(repo, "checkout", "-q", "-b", "develop")
    (repo / "app.txt").write_text("v2\n")
    _git(repo, "commit", "-q", "-am", "v2")
    _git(repo, "checkout", "-q", "main")
    _git(repo, "merge", "-q", "--no-ff", "-m", "merge develop", "develop")
    _git(repo, "update-ref", "refs/remotes/origin/develop", "develop")
    return repo


def _find_source(script: str, repo: Path, tmp_path: Path) -> tuple[int, str, str]:
    output = tmp_path / "github_output"
    output.write_text("")
    env = {
        **os.environ,
        "GITHUB_OUTPUT": str(output),
        "GITHUB_SHA": _git(repo, "rev-parse", "HEAD"),
    }
    result = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, output.read_text(), result.stdout + result.stderr


def test_the_promoted_image_is_the_merged_develop_commits(
    delivery: dict[str, Any], branches: Path, tmp_path: Path
) -> None:
    code, output, log = _find_source(_source_script(delivery), branches, tmp_path)
    assert code == 0, log
    assert output == f"tag={_git(branches, 'rev-parse', 'develop')}\n"
    assert _git(branches, "rev-parse", "develop") != _git(branches, "rev-parse", "HEAD")


def test_main_with_code_dev_never_ran_is_refused(
    delivery: dict[str, Any], branches: Path, tmp_path: Path
) -> None:
    (branches / "app.txt").write_text("hotfix straight on main\n")
    _git(branches, "commit", "-q", "-am", "hotfix")
    code, output, log = _find_source(_source_script(delivery), branches, tmp_path)
    assert code == 1
    assert output == ""
    assert "no develop commit has main's tree" in log


# --- credentials and pinning ------------------------------------------------------------------


def test_only_jobs_that_talk_to_aws_can_request_an_oidc_token(
    delivery: dict[str, Any], monitor: dict[str, Any]
) -> None:
    assert delivery["permissions"] == {"contents": "read"}
    for name, job in delivery["jobs"].items():
        token = job.get("permissions", {}).get("id-token")
        expected = "write" if name in {"image", "release-dev", "release-prd"} else None
        assert token == expected, name
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text()
        assert "aws-access-key-id" not in text and "aws-secret-access-key" not in text
    assert monitor["jobs"]["drift"]["permissions"]["id-token"] == "write"


def test_every_action_is_pinned_to_a_full_commit_sha() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for line in path.read_text().splitlines():
            match = re.search(r"uses:\s*(\S+)", line)
            if match is None or match[1].startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", match[1]), f"{path.name}: {line}"
            assert "#" in line, f"{path.name}: say which release the sha is: {line}"


def test_dependabot_keeps_actions_and_terraform_providers_current() -> None:
    config = yaml.safe_load((GITHUB / "dependabot.yml").read_text())
    ecosystems = {update["package-ecosystem"]: update for update in config["updates"]}
    assert ecosystems["github-actions"]["directory"] == "/"
    roots = {"/" + str(p.parent.relative_to(REPO_ROOT)) for p in INFRA.rglob("versions.tf")}
    assert set(ecosystems["terraform"]["directories"]) == roots


# --- the deploy invocations and the monitor job -------------------------------------------------


@pytest.mark.parametrize("job", ["release-dev", "release-prd"])
def test_release_invokes_the_canary_with_arguments_the_cli_accepts(
    delivery: dict[str, Any], job: str
) -> None:
    run = _text(delivery["jobs"][job])
    command = run[run.index(".venv/bin/python -m challenge_neuralworks deploy") :]
    words = shlex.split(command.replace("\\\n", " "))
    assert words[:4] == [".venv/bin/python", "-m", "challenge_neuralworks", "deploy"]
    parser = argparse.ArgumentParser()
    deploy.configure(parser)
    # The workflow-level settings, as the shell expands them.
    settings = {f"${{{k}}}": str(v) for k, v in delivery["env"].items()}
    args = parser.parse_args([settings.get(w, w) for w in words[4:]])
    assert args.function == "${FUNCTION_NAME}"
    assert args.image == "${repository}@${digest}"
    assert args.alias == "live"
    assert (args.canary, args.bake) == (10.0, 300.0), "Canary10Percent5Minutes"
    assert args.smoke_url == "${INVOKE_URL}"
    assert f'echo "::add-mask::${{{args.api_key_env}}}"' in run, "the API key must be masked"


def test_the_weekly_monitor_uploads_its_report_then_fails_on_drift(
    monitor: dict[str, Any],
) -> None:
    (schedule,) = monitor["on"]["schedule"]
    _minute, _hour, day, month, weekday = schedule["cron"].split()
    assert (day, month) == ("*", "*") and weekday.isdigit(), "weekly"
    job = monitor["jobs"]["drift"]
    assert job["strategy"]["matrix"]["environment"] == ["dev", "prd"]
    assert job["environment"] == "${{ matrix.environment }}-monitor"
    credentials = next(s for s in job["steps"] if "configure-aws-credentials" in str(s.get("uses")))
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_MONITOR_ROLE_ARN }}"
    run = _text(job)
    words = " ".join(run.replace("\\\n", " ").split())
    assert (
        ".venv/bin/python -m challenge_neuralworks monitor --model delay --captures "
        '"s3://${CAPTURE_BUCKET}/captures/model=delay/" --since 7d --out report/'
    ) in words
    steps = job["steps"]
    upload = next(i for i, s in enumerate(steps) if "upload-artifact" in str(s.get("uses")))
    assert steps[upload]["if"] == "always()"
    assert steps[upload]["with"]["path"] == "report/"
    fail = steps[upload + 1]
    assert fail["if"] == "steps.monitor.outputs.status != '0'"
    assert "exit 1" in fail["run"]
