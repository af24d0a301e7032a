# The bootstrap stack with the mocked AWS provider. Run by tests/infra/test_terraform.py:
#   terraform -chdir=infra/bootstrap test

mock_provider "aws" {
  source = "../tests/mocks"
}

variables {
  github_repository = "acme/challenge-neuralworks"
  tfc_organization  = "acme"
}

run "one_registry_one_oidc_provider_roles_per_environment" {
  assert {
    condition     = aws_ecr_repository.service.image_tag_mutability == "IMMUTABLE" && aws_ecr_repository.service.image_scanning_configuration[0].scan_on_push
    error_message = "Immutable tags (a sha names one image forever) and scan on push."
  }

  assert {
    condition     = alltrue([for rule in jsondecode(aws_ecr_lifecycle_policy.service.policy).rules : rule.selection.tagStatus == "untagged"])
    error_message = "No lifecycle rule may expire a tagged image: any of them can be behind a version a rollback returns to."
  }

  assert {
    condition     = length(aws_iam_openid_connect_provider.github) == 1 && length(data.aws_iam_openid_connect_provider.github) == 0
    error_message = "By default the bootstrap creates the account's single GitHub OIDC provider."
  }

  assert {
    condition     = toset(keys(aws_iam_role.deploy)) == toset(["dev", "prd"]) && toset(keys(aws_iam_role.monitor)) == toset(["dev", "prd"]) && toset(keys(aws_iam_role.tfc)) == toset(["dev", "prd"])
    error_message = "Deploy, monitor and Terraform Cloud run roles per environment."
  }

  assert {
    condition     = one([for c in one(data.aws_iam_policy_document.github_trust["prd-deploy"].statement).condition : c if endswith(c.variable, ":sub")]).values == tolist(["repo:acme/challenge-neuralworks:environment:prd"])
    error_message = "prd's deploy role trusts jobs of this repository's prd environment only."
  }

  assert {
    condition     = one([for c in one(data.aws_iam_policy_document.github_trust["prd-monitor"].statement).condition : c if endswith(c.variable, ":sub")]).values == tolist(["repo:acme/challenge-neuralworks:environment:prd-monitor"])
    error_message = "The monitor role trusts the <env>-monitor environment (no reviewers needed for a read-only schedule)."
  }

  assert {
    condition     = contains(flatten([for s in data.aws_iam_policy_document.deploy["dev"].statement : s.actions]), "ecr:PutImage") && !contains(flatten([for s in data.aws_iam_policy_document.deploy["prd"].statement : s.actions]), "ecr:PutImage")
    error_message = "Only dev builds and pushes; prd deploys the digest dev tested and cannot push."
  }

  assert {
    condition     = toset(flatten([for s in data.aws_iam_policy_document.monitor["dev"].statement : s.actions])) == toset(["s3:ListBucket", "s3:GetObject"]) && alltrue([for s in data.aws_iam_policy_document.monitor["dev"].statement : alltrue([for r in s.resources : startswith(r, "arn:aws:s3:::cnw-dev-captures-123456789012-us-east-1")])])
    error_message = "The monitor role reads the environment's capture bucket and nothing else."
  }

  assert {
    condition     = one([for c in one(data.aws_iam_policy_document.tfc_trust["dev"].statement).condition : c if endswith(c.variable, ":sub")]).values == tolist(["organization:acme:project:challenge-neuralworks:workspace:cnw-dev:run_phase:*"])
    error_message = "Each run role trusts its own Terraform Cloud workspace only."
  }

  assert {
    condition     = alltrue([for role in aws_iam_role.tfc : !startswith(role.name, "cnw-")])
    error_message = "Run roles are outside the cnw-<env>-* prefix their own IAM permissions cover."
  }

  assert {
    condition     = aws_api_gateway_account.this[0].reset_on_delete == true
    error_message = "Destroying the bootstrap resets API Gateway's account setting (no dangling role)."
  }
}

run "an_existing_oidc_provider_is_adopted_not_created" {
  command = plan

  variables {
    create_github_oidc_provider = false
    create_tfc_oidc_provider    = false
    environments                = { prd = { push_images = false } }
  }

  assert {
    condition     = length(aws_iam_openid_connect_provider.github) == 0 && length(data.aws_iam_openid_connect_provider.github) == 1 && length(aws_iam_openid_connect_provider.tfc) == 0
    error_message = "With create_*_oidc_provider = false the existing providers are looked up, never created (no EntityAlreadyExists)."
  }

  assert {
    condition     = toset(keys(aws_iam_role.deploy)) == toset(["prd"])
    error_message = "An account serving only prd gets only prd's roles."
  }
}

run "two_pushing_environments_are_refused" {
  command = plan

  variables {
    environments = { dev = { push_images = true }, prd = { push_images = true } }
  }

  expect_failures = [var.environments]
}
