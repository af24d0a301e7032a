# Terraform Cloud workspaces and GitHub environments for the delivery flow (docs/infra.md):
#
#   TFC project challenge-neuralworks
#     workspace cnw-dev, cnw-prd   tagged challenge-neuralworks, CLI-driven, AWS dynamic credentials
#                                  (TFC_AWS_PROVIDER_AUTH, TFC_AWS_RUN_ROLE_ARN from infra/bootstrap)
#     team cnw-delivery            apply on both; its token is the GitHub environments' TF_API_TOKEN
#     team cnw-plans               plan only; its token is the repository's TF_PLAN_TOKEN (PR plans,
#                                  prd's saved plan), so nothing outside the environments can apply
#   GitHub environments
#     dev          branch develop; AWS_DEPLOY_ROLE_ARN ...
#     prd          branch main, required reviewers (approve the saved plan, then it is applied)
#     dev-monitor, prd-monitor   branch main (the weekly schedule); AWS_MONITOR_ROLE_ARN, CAPTURE_BUCKET

data "terraform_remote_state" "aws" {
  backend = "local"
  config = {
    path = var.aws_bootstrap_state
  }
}

locals {
  aws          = data.terraform_remote_state.aws.outputs
  repository   = split("/", var.github_repository)[1]
  environments = keys(local.aws.deploy_role_arns)
  branches     = { dev = "develop", prd = "main" }
}

resource "tfe_project" "this" {
  name = var.tfc_project
}

resource "tfe_workspace" "service" {
  for_each = toset(local.environments)

  name              = "cnw-${each.key}"
  project_id        = tfe_project.this.id
  description       = "challenge_neuralworks service stack (infra/), environment ${each.key}"
  tag_names         = ["challenge-neuralworks", each.key]
  terraform_version = "~> 1.11.0"
  # CLI-driven: GitHub Actions uploads the configuration; plans and applies run in Terraform Cloud.
  queue_all_runs = false
  # prd: runs are applied only from a saved plan an approver saw (terraform apply PLANFILE).
  auto_apply = false
}

resource "tfe_variable" "aws_auth" {
  for_each = toset(local.environments)

  workspace_id = tfe_workspace.service[each.key].id
  category     = "env"
  key          = "TFC_AWS_PROVIDER_AUTH"
  value        = "true"
  description  = "AWS dynamic provider credentials (no stored keys)."
}

resource "tfe_variable" "aws_role" {
  for_each = toset(local.environments)

  workspace_id = tfe_workspace.service[each.key].id
  category     = "env"
  key          = "TFC_AWS_RUN_ROLE_ARN"
  value        = local.aws.tfc_role_arns[each.key]
  description  = "Run role of this workspace (infra/bootstrap output tfc_role_arns)."
}

resource "tfe_team" "delivery" {
  name = "cnw-delivery"
}

resource "tfe_team" "plans" {
  name = "cnw-plans"
}

resource "tfe_team_access" "delivery" {
  for_each = toset(local.environments)

  team_id      = tfe_team.delivery.id
  workspace_id = tfe_workspace.service[each.key].id
  access       = "write"
}

resource "tfe_team_access" "plans" {
  for_each = toset(local.environments)

  team_id      = tfe_team.plans.id
  workspace_id = tfe_workspace.service[each.key].id
  access       = "plan"
}

resource "tfe_team_token" "delivery" {
  team_id = tfe_team.delivery.id
}

resource "tfe_team_token" "plans" {
  team_id = tfe_team.plans.id
}

# --- GitHub ---------------------------------------------------------------------------------

resource "github_repository_environment" "service" {
  for_each = toset(local.environments)

  repository  = local.repository
  environment = each.key

  dynamic "reviewers" {
    for_each = each.key == "prd" ? [1] : []
    content {
      users = var.prd_reviewers
    }
  }

  deployment_branch_policy {
    protected_branches     = false
    custom_branch_policies = true
  }
}

resource "github_repository_environment_deployment_policy" "service" {
  for_each = toset(local.environments)

  repository     = local.repository
  environment    = github_repository_environment.service[each.key].environment
  branch_pattern = local.branches[each.key]
}

resource "github_repository_environment" "monitor" {
  for_each = toset(local.environments)

  repository  = local.repository
  environment = "${each.key}-monitor"

  deployment_branch_policy {
    protected_branches     = false
    custom_branch_policies = true
  }
}

resource "github_repository_environment_deployment_policy" "monitor" {
  for_each = toset(local.environments)

  repository     = local.repository
  environment    = github_repository_environment.monitor[each.key].environment
  branch_pattern = "main"
}

locals {
  service_variables = merge([
    for env in local.environments : {
      "${env}/AWS_REGION"            = local.aws.aws_region
      "${env}/AWS_DEPLOY_ROLE_ARN"   = local.aws.deploy_role_arns[env]
      "${env}/ECR_REPOSITORY"        = local.aws.ecr_repository_name
      "${env}/TF_CLOUD_ORGANIZATION" = var.tfc_organization
      "${env}/TF_WORKSPACE"          = tfe_workspace.service[env].name
    }
  ]...)
  monitor_variables = merge([
    for env in local.environments : {
      "${env}/AWS_REGION"           = local.aws.aws_region
      "${env}/AWS_MONITOR_ROLE_ARN" = local.aws.monitor_role_arns[env]
      "${env}/CAPTURE_BUCKET"       = local.aws.capture_buckets[env]
    }
  ]...)
}

resource "github_actions_environment_variable" "service" {
  for_each = local.service_variables

  repository    = local.repository
  environment   = github_repository_environment.service[split("/", each.key)[0]].environment
  variable_name = split("/", each.key)[1]
  value         = each.value
}

resource "github_actions_environment_variable" "monitor" {
  for_each = local.monitor_variables

  repository    = local.repository
  environment   = github_repository_environment.monitor[split("/", each.key)[0]].environment
  variable_name = split("/", each.key)[1]
  value         = each.value
}

resource "github_actions_environment_secret" "tf_api_token" {
  #checkov:skip=CKV_GIT_4:The github provider encrypts plaintext_value with the repository's public key (libsodium sealed box) before upload; the token is created by tfe_team_token in this same root, so it is in this root's administrator-held state either way, and encrypted_value would only move the encryption step out of Terraform.
  for_each = toset(local.environments)

  repository      = local.repository
  environment     = github_repository_environment.service[each.key].environment
  secret_name     = "TF_API_TOKEN"
  plaintext_value = tfe_team_token.delivery.token
}

# Plans only (pull requests, prd's saved plan before approval): a repository secret, because a
# plan cannot change anything.
resource "github_actions_secret" "tf_plan_token" {
  #checkov:skip=CKV_GIT_4:The github provider encrypts plaintext_value with the repository's public key (libsodium sealed box) before upload; the token is created by tfe_team_token in this same root, so it is in this root's administrator-held state either way, and encrypted_value would only move the encryption step out of Terraform.
  repository      = local.repository
  secret_name     = "TF_PLAN_TOKEN"
  plaintext_value = tfe_team_token.plans.token
}

resource "github_actions_variable" "tf_cloud_organization" {
  repository    = local.repository
  variable_name = "TF_CLOUD_ORGANIZATION"
  value         = var.tfc_organization
}
