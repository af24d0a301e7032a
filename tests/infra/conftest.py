"""Fixtures of the infrastructure tests (helpers live in infra_support / terraform_harness /
rollout_support, imported by name)."""

from __future__ import annotations

import pytest
from infra_support import TerraformTree, load_tree, tool_environment


@pytest.fixture(scope="session")
def tf() -> TerraformTree:
    return load_tree()


@pytest.fixture(scope="session")
def tool_env() -> dict[str, str]:
    return tool_environment()


@pytest.fixture(scope="session")
def terraform(tmp_path_factory: pytest.TempPathFactory):  # -> terraform_harness.Terraform
    from terraform_harness import Terraform

    return Terraform.create(tmp_path_factory.mktemp("terraform"))
