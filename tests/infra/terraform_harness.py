"""Running the real Terraform CLI in tests: the binary, the provider mirror, and a moto server.

Terraform inits from a filesystem mirror of ``hashicorp/aws`` (no registry access), configured by a
CLI config file the harness writes itself (``TF_CLI_CONFIG_FILE``; the user's ``~/.terraformrc``
is never read or touched). Each root gets its own ``TF_DATA_DIR`` under the test's temporary
directory, so runs leave nothing in the work tree and the committed ``.terraform.lock.hcl`` is
used read-only. A missing binary or mirror FAILS the tests with instructions: a machine where
Terraform cannot run must not pass them by skipping.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from infra_support import INFRA, REPO_ROOT

PROVIDER = "registry.terraform.io/hashicorp/aws"
#: Roots that init and apply from the hashicorp/aws mirror.
AWS_ROOTS = {"service": INFRA, "bootstrap": INFRA / "bootstrap"}
#: Roots needing providers the mirror lacks (tfe, github): checked statically only.
STATIC_ROOTS = {"bootstrap/tfc": INFRA / "bootstrap" / "tfc"}
#: Where machine images of this project carry the mirror; CNW_TF_PROVIDER_MIRROR overrides.
MIRROR_CANDIDATES = (
    Path("/opt/tf-plugins"),
    Path.home() / ".terraform.d" / "plugins",
    Path.home() / ".local" / "share" / "terraform" / "plugins",
    Path("/usr/local/share/terraform/plugins"),
    Path("/usr/share/terraform/plugins"),
)
PLATFORM = "linux_amd64"


def locked_provider_version(root: Path = INFRA) -> str:
    """The hashicorp/aws version a root's committed lock file pins."""
    lock = root / ".terraform.lock.hcl"
    if not lock.exists():
        pytest.fail(f"{lock.relative_to(REPO_ROOT)} is not committed: run `make terraform-lock`")
    match = re.search(
        r'provider "registry\.terraform\.io/hashicorp/aws" \{\s*version\s*=\s*"([^"]+)"',
        lock.read_text(),
    )
    assert match, f"{lock} does not lock {PROVIDER}"
    return match[1]


def how_to_get_terraform(what: str) -> str:
    version = locked_provider_version()
    return (
        f"{what}. The Terraform tests need the terraform CLI (>= 1.7) on PATH and a filesystem "
        f"mirror of {PROVIDER} {version} ({PLATFORM}). On a machine with registry access: "
        f"`cd infra && terraform providers mirror -platform={PLATFORM} /opt/tf-plugins` (or any "
        "directory, then export CNW_TF_PROVIDER_MIRROR=<that directory>); see docs/infra.md, "
        '"What is verified where".'
    )


def terraform_binary() -> str:
    path = shutil.which("terraform")
    if path is None:
        pytest.fail(how_to_get_terraform("No terraform binary on PATH"))
    return path


def provider_mirror(environ: dict[str, str] | None = None) -> Path:
    """The mirror directory holding the locked hashicorp/aws build for this platform."""
    env = os.environ if environ is None else environ
    version = locked_provider_version()
    override = env.get("CNW_TF_PROVIDER_MIRROR")
    candidates = [Path(override)] if override else list(MIRROR_CANDIDATES)
    for root in candidates:
        package = root / PROVIDER / version / PLATFORM
        if list(package.glob("terraform-provider-aws_*")):
            return root
    searched = ", ".join(str(c) for c in candidates)
    pytest.fail(how_to_get_terraform(f"No {PROVIDER} {version} mirror in {searched}"))


@dataclass
class Terraform:
    """One terraform CLI with the project's own CLI configuration."""

    binary: str
    cli_config: Path
    data_root: Path

    @classmethod
    def create(cls, workdir: Path) -> Terraform:
        binary = terraform_binary()
        mirror = provider_mirror()
        workdir.mkdir(parents=True, exist_ok=True)
        cli_config = workdir / "terraform.tfrc"
        cli_config.write_text(
            "provider_installation {\n"
            f'  filesystem_mirror {{\n    path    = "{mirror}"\n'
            f'    include = ["{PROVIDER}"]\n  }}\n'
            f'  direct {{\n    exclude = ["{PROVIDER}"]\n  }}\n'
            "}\n"
        )
        return cls(binary, cli_config, workdir / "data")

    def env(self, root: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_", "TFE_"))}
        data_dir = self.data_root / re.sub(r"[^A-Za-z0-9]+", "_", str(root))
        env.update(
            TF_CLI_CONFIG_FILE=str(self.cli_config),
            TF_DATA_DIR=str(data_dir),
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
            CHECKPOINT_DISABLE="1",
        )
        env.update(extra or {})
        return env

    def run(
        self,
        root: Path,
        *args: str,
        check: bool = True,
        timeout: float = 900,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [self.binary, *args],
            cwd=root,
            env=self.env(root, env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"terraform {' '.join(args)} in {root} exited {result.returncode}:\n"
                f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
            )
        return result

    def init(self, root: Path, *extra: str) -> subprocess.CompletedProcess:
        """Init from the mirror with the committed lock file, never rewriting it."""
        return self.run(root, "init", "-no-color", "-lockfile=readonly", *extra)


# --- moto server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: object, timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll ``condition()`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class MotoServer:
    url: str
    process: subprocess.Popen

    def configure(self, config: dict) -> None:
        request = urllib.request.Request(
            f"{self.url}/moto-api/config",
            data=json.dumps(config).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert 200 <= answer.status < 300, answer.status


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=5) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def moto_server(log: Path) -> Iterator[MotoServer]:
    """A moto server on a free port (IAM managed policies loaded, Lambda without Docker)."""
    server_bin = Path(sys.executable).parent / "moto_server"
    if not server_bin.exists():
        pytest.fail("moto_server is missing: it comes with moto[server] in the dev lock")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(server_bin), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            wait_until(
                lambda: process.poll() is not None or _answers(url), 120, f"moto server on {url}"
            )
            if process.poll() is not None:
                pytest.fail(f"moto server exited {process.returncode}: {log.read_text()[-3000:]}")
            server = MotoServer(url, process)
            server.configure({"lambda": {"use_docker": False}})
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


#: Every service the stacks touch, pointed at the moto server by a provider override file.
MOTO_SERVICES = (
    "apigateway",
    "cloudwatch",
    "dynamodb",
    "ecr",
    "firehose",
    "iam",
    "lambda",
    "logs",
    "s3",
    "servicequotas",
    "sns",
    "sts",
)


def moto_provider_override(url: str, region: str) -> str:
    endpoints = "\n".join(f'    {service:<13} = "{url}"' for service in MOTO_SERVICES)
    return (
        "# Written by tests/infra/terraform_harness.py: the stack against a moto server.\n"
        'provider "aws" {\n'
        f'  region                      = "{region}"\n'
        '  access_key                  = "testing"\n'
        '  secret_key                  = "testing"\n'
        "  skip_credentials_validation = true\n"
        "  skip_metadata_api_check     = true\n"
        "  s3_use_path_style           = true\n"
        "  endpoints {\n"
        f"{endpoints}\n"
        "  }\n"
        "}\n"
    )


def state_resources(terraform: Terraform, root: Path) -> list[str]:
    """Managed resources in a root's state (data sources excluded)."""
    listed = terraform.run(root, "state", "list").stdout.split()
    return [a for a in listed if ".data." not in a and not a.startswith("data.")]
