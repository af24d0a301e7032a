# GitHub Actions -> AWS without long-lived keys. A job may assume an environment's role only when
# it runs in that GitHub environment of this repository: the environment name is part of the OIDC
# subject, and each environment's deployment-branch policy decides which branches may use it
# (develop -> dev, main -> prd; infra/bootstrap/tfc sets them).

locals {
  github_host         = "token.actions.githubusercontent.com"
  github_provider_arn = var.create_github_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn
}

# One per account (issue 10, defect 3: creating it in every workspace collided). Adopted, not
# imported, when it exists: other stacks of the account may depend on it, so this one must never
# delete it.
resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 1 : 0

  url            = "https://${local.github_host}"
  client_id_list = ["sts.amazonaws.com"]
  # AWS validates GitHub's tokens against its own trusted CAs; the API still accepts thumbprints,
  # so GitHub's published intermediates are listed.
  thumbprint_list = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
  ]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 0 : 1
  url   = "https://${local.github_host}"
}

data "aws_iam_policy_document" "github_trust" {
  for_each = {
    for role in flatten([
      for env in keys(var.environments) : [
        { key = "${env}-deploy", environment = env },
        { key = "${env}-monitor", environment = "${env}-monitor" },
      ]
    ]) : role.key => role.environment
  }

  statement {
    sid     = "GitHubActionsEnvironment"
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.github_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.github_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.github_host}:sub"
      values   = ["repo:${var.github_repository}:environment:${each.value}"]
    }
  }
}

# --- deploy roles: push (dev) or pull (prd) the image, roll it out, watch the gates -------------

resource "aws_iam_role" "deploy" {
  for_each = var.environments

  name                 = "${local.service[each.key].name}-github-deploy"
  description          = "Assumed by ${var.github_repository} (GitHub environment ${each.key}) to ${each.value.push_images ? "push the image and " : ""}roll it out."
  assume_role_policy   = data.aws_iam_policy_document.github_trust["${each.key}-deploy"].json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "deploy" {
  for_each = var.environments

  # ecr:GetAuthorizationToken has no resource-level permissions ("*" is the only valid resource)
  # and grants no access to any repository by itself.
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  # Lambda checks that the caller of UpdateFunctionCode may read the image it names.
  statement {
    sid = "ReadTheServiceImages"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:DescribeImages",
      "ecr:DescribeRepositories",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [aws_ecr_repository.service.arn]
  }

  dynamic "statement" {
    for_each = each.value.push_images ? [1] : []
    content {
      sid = "PushServiceImages"
      actions = [
        "ecr:CompleteLayerUpload",
        "ecr:InitiateLayerUpload",
        "ecr:PutImage",
        "ecr:UploadLayerPart",
      ]
      resources = [aws_ecr_repository.service.arn]
    }
  }

  # Every call `python -m challenge_neuralworks deploy` makes on the function, its versions and
  # its alias (tests/infra/test_deploy_permissions.py checks the recorded calls against this).
  statement {
    sid = "RollOutThisFunctionOnly"
    actions = [
      "lambda:CreateAlias",
      "lambda:DeleteAlias",
      "lambda:GetAlias",
      "lambda:GetFunction",
      "lambda:GetFunctionConfiguration",
      "lambda:GetProvisionedConcurrencyConfig",
      "lambda:InvokeFunction",
      "lambda:ListTags",
      "lambda:ListVersionsByFunction",
      "lambda:PublishVersion",
      "lambda:UpdateAlias",
      "lambda:UpdateFunctionCode",
    ]
    # The unqualified ARN and its qualifiers (published versions, the alias).
    resources = [local.service[each.key].function_arn, "${local.service[each.key].function_arn}:*"]
  }

  statement {
    sid       = "WatchTheRolloutAlarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = [local.service[each.key].alarm_arns]
  }
}

resource "aws_iam_role_policy" "deploy" {
  for_each = var.environments

  name   = "${local.service[each.key].name}-github-deploy"
  role   = aws_iam_role.deploy[each.key].id
  policy = data.aws_iam_policy_document.deploy[each.key].json
}

# --- monitor roles: read the environment's captured predictions, nothing else ------------------

resource "aws_iam_role" "monitor" {
  for_each = var.environments

  name                 = "${local.service[each.key].name}-github-monitor"
  description          = "Assumed by the weekly monitor workflow of ${var.github_repository} (GitHub environment ${each.key}-monitor): reads captured predictions."
  assume_role_policy   = data.aws_iam_policy_document.github_trust["${each.key}-monitor"].json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "monitor" {
  for_each = var.environments

  statement {
    sid       = "ListCaptures"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${local.service[each.key].capture_bucket}"]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["captures/*"]
    }
  }

  statement {
    sid       = "ReadCaptures"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${local.service[each.key].capture_bucket}/captures/*"]
  }
}

resource "aws_iam_role_policy" "monitor" {
  for_each = var.environments

  name   = "${local.service[each.key].name}-github-monitor"
  role   = aws_iam_role.monitor[each.key].id
  policy = data.aws_iam_policy_document.monitor[each.key].json
}
